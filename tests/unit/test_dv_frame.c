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
	ok(dv_frame_is_request(DV_FT_PING) && !dv_frame_is_request(DV_FT_RESULT), "request types");
	return tap_done();
}
