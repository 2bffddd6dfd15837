/* Unit tests for core/dv_keyuse.c: each key's token bucket on a clock the
 * test drives (never this machine's speed), the counters /metrics shows, and
 * the browser origins of publishable keys matched exactly. */
#include "../tap.h"
#include "dv_buf.h"
#include "dv_keyuse.h"
#include <string.h>

int main(void)
{
	struct dv_keyuse *ku = dv_keyuse_new();
	ok(ku != NULL, "new");
	double ra = -1;
	/* 3 a minute: three at once, the fourth waits 20 s for its token */
	ok(dv_keyuse_take(ku, 7, 3, 100.0, &ra), "1st of 3 a minute");
	ok(dv_keyuse_take(ku, 7, 3, 100.0, &ra), "2nd");
	ok(dv_keyuse_take(ku, 7, 3, 100.0, &ra), "3rd");
	ok(!dv_keyuse_take(ku, 7, 3, 100.0, &ra), "the 4th at the same moment is refused");
	ok(ra > 19.9 && ra <= 20.0, "... with the wait for the next token (20 s)");
	ok(!dv_keyuse_take(ku, 7, 3, 110.0, &ra), "10 s later: half a token, still refused");
	ok(ra > 9.9 && ra <= 10.0, "... 10 s more to wait");
	ok(dv_keyuse_take(ku, 7, 3, 120.0, &ra), "20 s after: one token again");
	ok(!dv_keyuse_take(ku, 7, 3, 120.0, &ra), "... one only");
	ok(dv_keyuse_take(ku, 8, 3, 120.0, &ra), "another key has its own bucket");
	ok(dv_keyuse_take(ku, 7, 0, 120.0, &ra), "no rate: never refused");
	/* a long pause refills to the minute's worth, no more */
	ok(dv_keyuse_take(ku, 8, 3, 1000.0, &ra) && dv_keyuse_take(ku, 8, 3, 1000.0, &ra) &&
	       dv_keyuse_take(ku, 8, 3, 1000.0, &ra) && !dv_keyuse_take(ku, 8, 3, 1000.0, &ra),
	    "after a long pause: three, not more");
	/* counters */
	dv_keyuse_count(ku, 7, DV_KU_OK);
	dv_keyuse_count(ku, 7, DV_KU_OK);
	dv_keyuse_count(ku, 7, DV_KU_RATE_LIMITED);
	dv_keyuse_count(ku, 9, DV_KU_FORBIDDEN);
	struct dv_buf b;
	dv_buf_init(&b);
	dv_keyuse_metrics(ku, &b);
	ok(strstr(b.data, "dv_key_requests_total{key=\"7\",result=\"ok\"} 2\n") != NULL, "metrics: key 7 ok 2");
	ok(strstr(b.data, "dv_key_requests_total{key=\"7\",result=\"rate_limited\"} 1\n") != NULL, "... rate_limited 1");
	ok(strstr(b.data, "dv_key_requests_total{key=\"9\",result=\"forbidden\"} 1\n") != NULL, "... key 9 forbidden 1");
	ok(strstr(b.data, "key=\"8\"") == NULL, "a key never counted has no line");
	dv_buf_fini(&b);
	/* origins: whole lines only */
	ok(!dv_keyuse_origin_known(ku, "https://shop.example"), "no origins yet");
	dv_keyuse_set_origins(ku, "https://shop.example\nhttp://127.0.0.1:8000");
	ok(dv_keyuse_origin_known(ku, "https://shop.example"), "a listed origin");
	ok(dv_keyuse_origin_known(ku, "http://127.0.0.1:8000"), "the last line");
	ok(!dv_keyuse_origin_known(ku, "https://shop.exampl"), "a prefix of one is not");
	ok(!dv_keyuse_origin_known(ku, "https://shop.example.evil"), "nor a longer name");
	ok(!dv_keyuse_origin_known(ku, "http://127.0.0.1:800"), "nor another port");
	ok(!dv_keyuse_origin_known(ku, ""), "nor nothing");
	dv_keyuse_set_origins(ku, NULL);
	ok(!dv_keyuse_origin_known(ku, "https://shop.example"), "cleared");
	ok(dv_origin_in("a\nb\nc", "b") && !dv_origin_in("a\nbb", "b") && !dv_origin_in(NULL, "a"), "dv_origin_in");
	dv_keyuse_free(ku);
	return tap_done();
}
