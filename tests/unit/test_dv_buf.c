/* Unit tests for core/dv_buf.c: buffers and the JSON writer. */
#include "../tap.h"
#include "dv_buf.h"
#include "dv_err.h"
#include <math.h>

int main(void)
{
	struct dv_buf b;
	dv_buf_init(&b);
	struct dv_json j;
	dv_json_init(&j, &b);
	dv_json_obj_open(&j);
	dv_json_key(&j, "a");
	dv_json_int(&j, 1);
	dv_json_key(&j, "s");
	dv_json_str(&j, "q\"\\\n\x01");
	dv_json_key(&j, "arr");
	dv_json_arr_open(&j);
	dv_json_num(&j, 0.5);
	dv_json_num(&j, NAN);
	dv_json_bool(&j, true);
	dv_json_obj_open(&j);
	dv_json_obj_close(&j);
	dv_json_arr_close(&j);
	dv_json_key(&j, "n");
	dv_json_null(&j);
	dv_json_obj_close(&j);
	is_str(b.data, "{\"a\":1,\"s\":\"q\\\"\\\\\\n\\u0001\",\"arr\":[0.5,null,true,{}],\"n\":null}", "JSON writer output");
	dv_buf_reset(&b);
	for (int i = 0; i < 10000; i++)
		dv_buf_printf(&b, "%d,", i);
	ok(b.len > 40000 && !b.failed, "buffer grows");
	dv_buf_fini(&b);

	is_str(dv_err_code(DV_ENOFACE), "no_face", "error code");
	is_int(dv_err_http_status(DV_EOVERLOADED), 503, "overloaded is 503");
	is_int(dv_err_http_status(DV_ETOOLARGE), 413, "too large is 413");
	is_str(dv_err_code(-999), "internal", "unknown errors map to internal");
	is_int(dv_err_http_status(DV_EMEDIATYPE), 415, "media type is 415");
	/* hex: what a recognition's kept face travels as */
	struct dv_buf hb;
	dv_buf_init(&hb);
	const uint8_t raw[] = {0x00, 0x7f, 0x80, 0xff, 0x1a};
	dv_buf_hex(&hb, raw, sizeof raw);
	ok(hb.data && !strcmp(hb.data, "007f80ff1a") && hb.len == 10, "dv_buf_hex: two lowercase digits a byte (%s)", hb.data);
	uint8_t back[5] = {0};
	ok(dv_hex_decode(hb.data, back) == 0 && !memcmp(back, raw, sizeof raw), "dv_hex_decode gives the bytes back");
	ok(dv_hex_decode("7F80", back) == 0 && back[0] == 0x7f && back[1] == 0x80, "... upper case too");
	ok(dv_hex_decode("7g", back) == -1 && dv_hex_decode("abc", back) == -1, "... and refuses a bad digit or an odd count");
	dv_buf_fini(&hb);
	return tap_done();
}
