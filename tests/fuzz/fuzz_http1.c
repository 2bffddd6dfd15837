/* fuzz_http1 — libFuzzer target for HTTP/1.1 request framing (make fuzz):
 * the input is the byte stream of one connection. Requests are cut from it
 * as dv_http.c cuts them: a head (dv_http1_parse), then a Content-Length
 * body or a chunked one, decoded in pieces whose sizes come from the input
 * itself, so that every split point is tried. Any crash, hang, leak or
 * sanitizer report is a bug; so is a head length past the input, or a
 * decoded body over its limit. */
#include "dv_http1.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = 1 + data[0] % 61; /* how the chunked body arrives */
	const char *s = (const char *)data + 1;
	size_t n = size - 1, off = 0;
	while (off < n) {
		struct dv_http1_req r;
		long h = dv_http1_parse(s + off, n - off, 4096, &r, NULL);
		if (h <= 0)
			break; /* more needed, or refused: the server answers and closes */
		if ((size_t)h > n - off || !r.method || !r.path || (r.version != 10 && r.version != 11))
			__builtin_trap();
		for (int i = 0; i < r.n_fields; i++)
			if (!r.f[i].name || !r.f[i].value || strlen(r.f[i].name) == 0)
				__builtin_trap();
		off += (size_t)h;
		if (r.chunked) {
			struct dv_http1_chunked c = {0};
			struct dv_buf out;
			dv_buf_init(&out);
			int rc = DV_CHUNKED_MORE;
			while (rc == DV_CHUNKED_MORE && off < n) {
				size_t take = n - off < piece ? n - off : piece, used = 0;
				rc = dv_http1_chunked_feed(&c, s + off, take, &out, 1000, &used);
				if (used > take || out.len > 1000)
					__builtin_trap();
				off += used;
				if (rc == DV_CHUNKED_MORE && used == 0)
					__builtin_trap(); /* no progress on available bytes */
			}
			dv_buf_fini(&out);
			if (rc != DV_CHUNKED_DONE) {
				dv_http1_req_fini(&r);
				break;
			}
		} else if (r.content_length > 0) {
			if ((unsigned long long)r.content_length > n - off) {
				dv_http1_req_fini(&r);
				break;
			}
			off += (size_t)r.content_length;
		}
		dv_http1_req_fini(&r);
	}
	return 0;
}
