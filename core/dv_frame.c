/* dv_frame.c — TCP frame header codec. Pure functions over bytes, called by
 * the loop thread in dv_tcp.c; unit-tested and fuzzable. */
#include "dv_frame.h"
#include <string.h>

static const uint8_t dv_frame_magic[4] = {'D', 'V', 'F', '1'};

static uint32_t dv_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void dv_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int dv_frame_parse(const uint8_t *buf, size_t len, uint32_t max_payload, struct dv_frame_hdr *h)
{
	/* Reject a wrong magic as soon as its first bytes arrive. */
	size_t m = len < 4 ? len : 4;
	if (memcmp(buf, dv_frame_magic, m) != 0)
		return DV_FRAME_EMAGIC;
	if (len < DV_FRAME_HDR)
		return DV_FRAME_MORE;
	h->version = buf[4];
	h->type = buf[5];
	h->flags = (uint16_t)(buf[6] << 8 | buf[7]);
	h->req_id = dv_be32(buf + 8);
	h->len = dv_be32(buf + 12);
	if (h->version != DV_FRAME_VERSION)
		return DV_FRAME_EVERSION;
	if (h->len > max_payload)
		return DV_FRAME_ETOOLARGE;
	return 0;
}

void dv_frame_write(uint8_t out[DV_FRAME_HDR], uint8_t type, uint32_t req_id, uint32_t len)
{
	memcpy(out, dv_frame_magic, 4);
	out[4] = DV_FRAME_VERSION;
	out[5] = type;
	out[6] = out[7] = 0;
	dv_put_be32(out + 8, req_id);
	dv_put_be32(out + 12, len);
}

int dv_frame_is_request(uint8_t type)
{
	return type == DV_FT_PING || type == DV_FT_RECOGNIZE || type == DV_FT_DETECT;
}
