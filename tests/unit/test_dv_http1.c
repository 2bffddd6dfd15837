/* Unit tests for core/dv_http1.c (request framing) and core/dv_guard.c
 * (per-address counts): complete and partial heads, every refusal with its
 * status, keep-alive by version and Connection, chunked bodies fed whole
 * and byte by byte, and the address keys (IPv4, IPv4-mapped, IPv6 /64). */
#include "../tap.h"
#include "dv_guard.h"
#include "dv_http1.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

static long parse(const char *s, struct dv_http1_req *r, const char **why)
{
	return dv_http1_parse(s, strlen(s), 4096, r, why);
}

static void refused(const char *req, long status, const char *why_part, const char *name)
{
	struct dv_http1_req r;
	const char *why = NULL;
	long n = parse(req, &r, &why);
	if (!tap_ok(n == -status, "%s: %ld", name, status))
		printf("#   got %ld (%s)\n", n, why ? why : "");
	else if (why_part)
		contains(why, why_part, "  and says why");
	dv_http1_req_fini(&r);
}

static int chunked(const char *in, size_t max, bool bytewise, struct dv_buf *out, size_t *consumed)
{
	struct dv_http1_chunked c = {0};
	size_t n = strlen(in), at = 0;
	int rc = DV_CHUNKED_MORE;
	while (rc == DV_CHUNKED_MORE && at < n) {
		size_t used = 0;
		rc = dv_http1_chunked_feed(&c, in + at, bytewise ? 1 : n - at, out, max, &used);
		at += used;
		if (bytewise && used == 0 && rc == DV_CHUNKED_MORE)
			break;
	}
	*consumed = at;
	return rc;
}

int main(void)
{
	struct dv_http1_req r;
	const char *why;
	const char *get = "GET /v1/persons?query=ada&limit=2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\nNEXT";
	long n = parse(get, &r, &why);
	is_int(n, (long)strlen(get) - 4, "a whole head: its length, the next request's bytes left alone");
	is_str(r.method, "GET", "method");
	is_str(r.path, "/v1/persons", "path without the query");
	is_str(r.query, "query=ada&limit=2", "query");
	is_int(r.version, 11, "HTTP/1.1");
	ok(r.keep_alive, "1.1 keeps the connection by default");
	is_str(dv_http1_field(&r, "authorization"), "Bearer k", "fields by name, case-insensitive");
	ok(dv_http1_field(&r, "Cookie") == NULL, "an absent field is NULL");
	is_int(r.content_length, -1, "no Content-Length");
	dv_http1_req_fini(&r);

	for (size_t cut = 0; cut < strlen(get) - 4; cut++) {
		n = dv_http1_parse(get, cut, 4096, &r, &why);
		if (n != 0) {
			ok(0, "a head cut at %zu bytes needs more (got %ld)", cut, n);
			break;
		}
		dv_http1_req_fini(&r);
	}
	ok(1, "a head cut anywhere before its end needs more bytes");

	n = parse("\r\n\r\nPOST /x HTTP/1.0\nContent-Length: 12\nConnection: keep-alive\n\n", &r, &why);
	ok(n > 0, "leading empty lines are skipped, bare LF lines accepted");
	is_int(r.version, 10, "HTTP/1.0");
	is_int(r.content_length, 12, "Content-Length");
	ok(r.keep_alive, "1.0 keeps the connection only when asked");
	dv_http1_req_fini(&r);
	parse("GET / HTTP/1.0\r\n\r\n", &r, &why);
	ok(!r.keep_alive, "1.0 closes by default");
	dv_http1_req_fini(&r);
	parse("GET / HTTP/1.1\r\nConnection: Upgrade, close\r\n\r\n", &r, &why);
	ok(!r.keep_alive, "Connection: close among other tokens closes");
	dv_http1_req_fini(&r);
	parse("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nExpect: 100-Continue\r\n\r\n", &r, &why);
	ok(r.chunked && r.expect_continue, "chunked and 100-continue, case-insensitive");
	dv_http1_req_fini(&r);
	parse("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\nX-Empty:\r\n\r\n", &r, &why);
	ok(r.content_length == 5, "a repeated equal Content-Length is one");
	is_str(dv_http1_field(&r, "X-Empty"), "", "an empty field value");
	dv_http1_req_fini(&r);

	refused("GARBAGE\r\n\r\n", 400, "METHOD target HTTP/1.1", "a request line without parts");
	refused("GET  / HTTP/1.1\r\n\r\n", 400, NULL, "two spaces in the request line");
	refused("GET / HTTP/1.1 x\r\n\r\n", 400, NULL, "a fourth part");
	refused("G(T / HTTP/1.1\r\n\r\n", 400, "token", "a method that is not a token");
	refused("GET /a\x01 HTTP/1.1\r\n\r\n", 400, "percent-encoded", "a control character in the target");
	refused("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400, "percent-encoded", "raw UTF-8 in the target");
	refused("GET http://x/ HTTP/1.1\r\n\r\n", 400, "path", "an absolute-form target");
	refused("GET / HTTP/2.0\r\n\r\n", 505, "HTTP/1.0 and HTTP/1.1", "HTTP/2.0");
	refused("GET / HTTP/1.2\r\n\r\n", 505, NULL, "HTTP/1.2");
	refused("GET / HTTX/1.1\r\n\r\n", 400, NULL, "not HTTP");
	refused("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "no space before the colon", "a space before a field's colon");
	refused("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400, "folding", "obsolete line folding");
	refused("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, NULL, "a field line without a colon");
	refused("GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400, "control character", "a control character in a value");
	refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "different", "two Content-Lengths");
	refused("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, NULL, "a negative Content-Length");
	refused("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, NULL, "an overflowing Content-Length");
	refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "both", "CL with TE");
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "chunked", "another transfer coding");
	refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0", "TE in HTTP/1.0");
	refused("POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417, "100-continue", "another expectation");
	{
		/* found by make fuzz: a NUL inside a field line */
		static const char nul[] = "GET /x HTTP/1.0\nC\023E\000\000@`\000\000In: keep-alive\n\n";
		n = dv_http1_parse(nul, sizeof nul - 1, 4096, &r, &why);
		is_int(n, -400, "a NUL byte in the head: 400");
		contains(why, "NUL", "  and says why");
		dv_http1_req_fini(&r);
	}
	{
		char *big = malloc(DV_HTTP1_MAX_LINE + 64);
		strcpy(big, "GET /");
		memset(big + 5, 'a', DV_HTTP1_MAX_LINE + 10);
		big[DV_HTTP1_MAX_LINE + 15] = 0;
		n = dv_http1_parse(big, strlen(big), 1 << 20, &r, &why);
		is_int(n, -414, "a request line over the limit, even unfinished: 414");
		free(big);
	}
	{
		char head[8192];
		snprintf(head, sizeof head, "GET / HTTP/1.1\r\nX: %0*d\r\n", 5000, 0);
		n = dv_http1_parse(head, strlen(head), 4096, &r, &why);
		is_int(n, -431, "an unfinished head over the limit: 431");
		struct dv_buf b;
		dv_buf_init(&b);
		dv_buf_puts(&b, "GET / HTTP/1.1\r\n");
		for (int i = 0; i < DV_HTTP1_MAX_FIELDS + 1; i++)
			dv_buf_printf(&b, "X%d: y\r\n", i);
		dv_buf_puts(&b, "\r\n");
		n = dv_http1_parse(b.data, b.len, 1 << 20, &r, &why);
		is_int(n, -431, "too many fields: 431");
		dv_buf_fini(&b);
	}

	/* chunked bodies */
	const char *body = "5;name=v\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct dv_buf out;
		dv_buf_init(&out);
		size_t used;
		int rc = chunked(body, 100, bytewise, &out, &used);
		is_int(rc, DV_CHUNKED_DONE, bytewise ? "chunked, fed byte by byte: done" : "chunked: done");
		is_str(out.data, "hello, world", "  decoded, extensions and trailers dropped");
		is_int(used, strlen(body) - 4, "  what follows is left for the next request");
		dv_buf_fini(&out);
	}
	struct dv_buf out;
	dv_buf_init(&out);
	size_t used;
	is_int(chunked("5\r\nhello\r\n0\r\n\r\n", 4, false, &out, &used), DV_CHUNKED_ETOOLARGE, "a chunk past the limit: too large");
	dv_buf_reset(&out);
	is_int(chunked("zz\r\n", 100, false, &out, &used), DV_CHUNKED_EBAD, "a size that is not hex: bad");
	dv_buf_reset(&out);
	is_int(chunked("5\r\nhelloXX", 100, false, &out, &used), DV_CHUNKED_EBAD, "data not followed by CRLF: bad");
	dv_buf_reset(&out);
	is_int(chunked("ffffffffffffffffff\r\n", 1 << 20, false, &out, &used), DV_CHUNKED_ETOOLARGE, "an overflowing size");
	dv_buf_reset(&out);
	is_int(chunked("\r\n", 100, false, &out, &used), DV_CHUNKED_EBAD, "an empty size line: bad");
	dv_buf_reset(&out);
	is_int(chunked("5\r\nhel", 100, false, &out, &used), DV_CHUNKED_MORE, "a body cut short needs more");
	dv_buf_fini(&out);

	/* per-address keys and counts */
	struct sockaddr_in a4 = {.sin_family = AF_INET}, b4 = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.2", &a4.sin_addr);
	inet_pton(AF_INET, "127.0.0.3", &b4.sin_addr);
	struct sockaddr_in6 m6 = {.sin6_family = AF_INET6}, x6 = {.sin6_family = AF_INET6}, y6 = {.sin6_family = AF_INET6},
	                    z6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::ffff:127.0.0.2", &m6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2::1", &x6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &y6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:3::1", &z6.sin6_addr);
	char txt[64];
	uint64_t ka = dv_guard_key((struct sockaddr *)&a4, txt, sizeof txt);
	is_str(txt, "127.0.0.2", "an IPv4 address, for logs");
	ok(ka != dv_guard_key((struct sockaddr *)&b4, NULL, 0), "two IPv4 addresses: two keys");
	ok(ka == dv_guard_key((struct sockaddr *)&m6, txt, sizeof txt), "an IPv4-mapped IPv6 address is its IPv4 address");
	is_str(txt, "127.0.0.2", "  and is logged as such");
	ok(dv_guard_key((struct sockaddr *)&x6, NULL, 0) == dv_guard_key((struct sockaddr *)&y6, NULL, 0),
	    "IPv6 addresses of one /64 share a key");
	ok(dv_guard_key((struct sockaddr *)&x6, NULL, 0) != dv_guard_key((struct sockaddr *)&z6, NULL, 0),
	    "another /64, another key");
	struct dv_guard g = {0};
	int admitted = 0;
	for (int i = 0; i < 5; i++)
		admitted += dv_guard_admit(&g, ka, 3);
	is_int(admitted, 3, "an address is admitted up to its cap");
	ok(dv_guard_admit(&g, dv_guard_key((struct sockaddr *)&b4, NULL, 0), 3), "another address is not held back by it");
	dv_guard_release(&g, ka);
	is_int(dv_guard_held(&g, ka), 2, "a release frees one slot");
	ok(dv_guard_admit(&g, ka, 3), "which can be taken again");
	for (int i = 0; i < 3; i++)
		dv_guard_release(&g, ka);
	is_int(dv_guard_held(&g, ka), 0, "all released: nothing held");
	dv_guard_release(&g, ka);
	is_int(dv_guard_held(&g, ka), 0, "a release too many does not go negative");
	dv_guard_fini(&g);
	return tap_done();
}
