/* Unit tests for core/dv_frame.c: the TCP frame header codec. */
#include "../tap.h"
#include "dv_frame.h"

int main(void)
{
	uint8_t b[DV_FRAME_HDR + 4];
	struct dv_frame_hdr h;
	dv_frame_write(b, DV_FT_RECOGNIZE, 0x01020304u, 1234);
	is_int(dv_frame_parse(b, DV_FRAME_HDR, 1 << 20, &h), 0, "round trip parses");
	is_int(h.type, DV_FT_RECOGNIZE, "type");
	is_int(h.req_id, 0x01020304, "request id big-endian");
	is_int(h.len, 1234, "length");
	is_int(b[8], 1, "id byte order on the wire");
	for (size_t n = 0; n < DV_FRAME_HDR; n++)
		if (dv_frame_parse(b, n, 1 << 20, &h) != DV_FRAME_MORE) {
			ok(0, "short header %zu asks for more", n);
			break;
		} else if (n == DV_FRAME_HDR - 1)
			ok(1, "every short header asks for more");
	is_int(dv_frame_parse(b, DV_FRAME_HDR, 1000, &h), DV_FRAME_ETOOLARGE, "over the payload limit");
	uint8_t bad[DV_FRAME_HDR];
	memcpy(bad, b, sizeof bad);
	bad[0] = 'G';
	is_int(dv_frame_parse(bad, 1, 1 << 20, &h), DV_FRAME_EMAGIC, "bad magic detected from the first byte");
	memcpy(bad, "GET / HTTP/1.1\r\n", 16);
	is_int(dv_frame_parse(bad, 16, 1 << 20, &h), DV_FRAME_EMAGIC, "HTTP on the TCP port is a bad magic");
	memcpy(bad, b, sizeof bad);
	bad[4] = 9;
	is_int(dv_frame_parse(bad, DV_FRAME_HDR, 1 << 20, &h), DV_FRAME_EVERSION, "unknown version");
	ok(dv_frame_is_request(DV_FT_PING) && dv_frame_is_request(DV_FT_CALL) && !dv_frame_is_request(DV_FT_RESULT),
	    "request types");

	/* CALL payloads */
	struct dv_frame_call fc;
	char err[200];
	const char *p1 = "POST /v1/persons/7/faces?box=1,2,3,4 image/jpeg\nBODY";
	is_int(dv_frame_call_parse((const uint8_t *)p1, strlen(p1), &fc, err, sizeof err), 0, "a CALL line parses");
	is_str(fc.method, "POST", "method");
	is_str(fc.path, "/v1/persons/7/faces", "path");
	is_str(fc.query, "box=1,2,3,4", "query");
	is_str(fc.ctype, "image/jpeg", "content type");
	is_str(p1 + fc.body_off, "BODY", "the body follows the line");
	const char *p2 = "GET /v1/persons\r\n";
	is_int(dv_frame_call_parse((const uint8_t *)p2, strlen(p2), &fc, err, sizeof err), 0, "no query, no type, CRLF");
	ok(!fc.query[0] && !fc.ctype[0] && fc.body_off == strlen(p2), "empty fields, empty body");
	static const char *const bad_calls[] = {"", "POST", "POST /v1/x", "TRACE /v1/persons\n", "GET /admin\n",
	    "GET /v1/\x01\n", "POST  /v1/persons\n"};
	for (size_t i = 0; i < sizeof bad_calls / sizeof *bad_calls; i++)
		ok(dv_frame_call_parse((const uint8_t *)bad_calls[i], strlen(bad_calls[i]), &fc, err, sizeof err) == -1 && err[0],
		    "bad CALL %zu refused: %s", i, err);
	char longpath[2000];
	memset(longpath, 'a', sizeof longpath);
	memcpy(longpath, "GET /v1/", 8);
	longpath[sizeof longpath - 1] = '\n';
	ok(dv_frame_call_parse((const uint8_t *)longpath, sizeof longpath, &fc, err, sizeof err) == -1, "an endless line is refused");
	char line[300];
	int n = dv_frame_call_write(line, sizeof line, "DELETE", "/v1/faces/3", NULL);
	ok(n > 0 && !strcmp(line, "DELETE /v1/faces/3\n"), "write a CALL line");
	is_int(dv_frame_call_parse((const uint8_t *)line, (size_t)n, &fc, err, sizeof err), 0, "and parse it back");
	return tap_done();
}
