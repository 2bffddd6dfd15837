/* fuzz_frame — libFuzzer target for the TCP frame decoder (make fuzz):
 * the input is a byte stream as a client could send it; it is cut into
 * frames exactly as dv_tcp.c does (header, limit, payload), and every CALL
 * payload goes through dv_frame_call_parse. Any crash, hang, leak or
 * sanitizer report is a bug. */
#include "dv_frame.h"
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct dv_frame_hdr h;
		int r = dv_frame_parse(data + off, size - off, 1u << 20, &h);
		if (r != 0)
			break; /* more needed, or a fatal error: the server closes */
		if (size - off < DV_FRAME_HDR + (size_t)h.len)
			break;
		const uint8_t *payload = data + off + DV_FRAME_HDR;
		if (h.type == DV_FT_CALL) {
			struct dv_frame_call c;
			char err[200];
			if (dv_frame_call_parse(payload, h.len, &c, err, sizeof err) == 0) {
				/* the fields are terminated strings, the body within the payload */
				if (c.body_off > h.len || strlen(c.path) >= sizeof c.path || strlen(c.query) >= sizeof c.query)
					__builtin_trap();
			}
		}
		off += DV_FRAME_HDR + (size_t)h.len;
	}
	return 0;
}
