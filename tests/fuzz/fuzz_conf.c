/* fuzz_conf — libFuzzer target for the YAML configuration (dv_conf.c, make
 * fuzz): the text of a config file, parsed and validated as dejaviewd
 * --check-config does (no I/O: hook files are only named). Any crash, hang,
 * leak or sanitizer report is a bug; so is an error message without its
 * file name. */
#include "dv_conf.h"
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dv_conf_errs e = {0};
	struct dv_conf *c = dv_conf_parse("fuzz.yaml", (const char *)data, size, &e);
	for (int i = 0; i < e.n; i++)
		if (strncmp(e.msg[i], "fuzz.yaml", 9))
			__builtin_trap();
	dv_conf_free(c);
	dv_conf_errs_fini(&e);
	return 0;
}
