/* Unit tests for core/dv_hooks.c without a database: a hook's returned table
 * and dv.reply fields become JSON; the sandbox has no io, os, ffi, require,
 * load, dofile, debug or string.dump, and the string metatable cannot be
 * reached; a hook that loops, allocates without end, calls os.execute or
 * raises an error is stopped within its budget, reported with its name, and
 * the state serves the next call; a syntax error is refused with file:line.
 * The time budget is measured on a clock the test drives (one millisecond a
 * count-hook tick, i.e. per 1,000 instructions, or frozen), so no check
 * depends on how fast this machine runs; one check runs the real clock and
 * asserts only the outcome. */
#include "../tap.h"
#include "dv_conf.h"
#include "dv_hooks.h"
#include <dejaview/plugin.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/dv-hooks-XXXXXX";

static void put(const char *name, const char *src)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	fputs(src, f);
	fclose(f);
}

static struct dv_hooks_conf *build(const char *files, long long time_ms, long long instr, struct dv_conf_errs *e,
    struct dv_conf **cout)
{
	char text[1024], cpath[256];
	snprintf(cpath, sizeof cpath, "%s/c.yaml", dir);
	snprintf(text, sizeof text, "hooks: {scripts: [%s], time_ms: %lld, instructions: %lld, memory: 8MiB}\n", files, time_ms,
	    instr);
	*cout = dv_conf_parse(cpath, text, strlen(text), e);
	struct dv_hooks_conf *hc = NULL;
	if (!e->n)
		dv_hooks_conf_build(*cout, &hc, e);
	return hc;
}

/* The test's clock: every read advances it by `step` milliseconds. */
struct fake_clock {
	double now, step;
	long reads;
};
static double fake_ms(void *ud)
{
	struct fake_clock *c = ud;
	c->reads++;
	c->now += c->step;
	return c->now;
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	put("good.lua", "local n = 0\n"
	                "function on_recognized(ev)\n"
	                "  n = n + 1\n"
	                "  dv.reply('greeting', 'hello ' .. ev.person.name)\n"
	                "  return {calls = n, list = {1, 2, 3}, room = ev.person.attributes.room_temp, where = ev.request.location,\n"
	                "          vip = ev.request.fields.vip, day = dv.date('%Y', 0)}\n"
	                "end\n"
	                "function on_unknown(ev) return {offer_enrolment = true} end\n");
	put("escape.lua",
	    "function on_recognized(ev)\n"
	    "  local r = {}\n"
	    "  for _, name in ipairs({'io', 'os', 'require', 'load', 'loadstring', 'dofile', 'loadfile', 'debug', 'jit', 'ffi', 'collectgarbage', 'module', 'package', 'newproxy', 'setfenv', 'getfenv'}) do\n"
	    "    if _G[name] ~= nil then r[#r + 1] = name end\n"
	    "  end\n"
	    "  if string.dump then r[#r + 1] = 'string.dump' end\n"
	    "  if getmetatable('') then r[#r + 1] = 'string metatable' end\n"
	    "  if (''):rep(2) ~= '' then r[#r + 1] = 'rep' end\n"
	    "  string.rep = nil  -- only this sandbox's copy\n"
	    "  return {reachable = table.concat(r, ',')}\n"
	    "end\n");
	put("loop.lua", "function on_recognized(ev) while true do end end\n");
	put("pcall_loop.lua", "function on_recognized(ev) while true do pcall(function() while true do end end) end end\n");
	put("slow.lua", "function on_recognized(ev) local t = dv.now() while dv.now() - t < 10 do end end\n");
	/* 64 KiB a step: the 8 MiB cap is hit in ~130 steps, a few thousand
	 * instructions, i.e. a few ticks of the test's clock: far inside 50 */
	put("mem.lua", "function on_recognized(ev) local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(65536) .. i end end\n");
	put("bigstr.lua", "function on_recognized(ev) return {s = ('x'):rep(1e9)} end\n");
	put("os.lua", "function on_recognized(ev) os.execute('touch /tmp/dv-pwned') end\n");
	put("err.lua", "function on_recognized(ev) local x = nil; return x.field end\n");
	put("badret.lua", "function on_recognized(ev) return 42 end\n");
	put("syntax.lua", "function on_recognized(ev)\n  return {\nend\n");

	struct dv_conf_errs e = {0};
	struct dv_conf *c = NULL;
	char files[512];
	snprintf(files, sizeof files, "%s/syntax.lua", dir);
	struct dv_hooks_conf *hc = build(files, 50, 1000000, &e, &c);
	ok(!hc && e.n == 1, "a hook file with a syntax error is refused");
	if (e.n)
		contains(e.msg[0], "syntax.lua:3:", "with its file:line");
	dv_conf_errs_fini(&e);
	dv_conf_free(c);

	snprintf(files, sizeof files, "good.lua, escape.lua, loop.lua, pcall_loop.lua, slow.lua, mem.lua, bigstr.lua, os.lua, err.lua, badret.lua");
	/* the time budget first (instructions plenty) */
	hc = build(files, 50, 1000000000, &e, &c);
	ok(hc && e.n == 0, "ten hook files load");
	for (int i = 0; i < e.n; i++)
		printf("# %s\n", e.msg[i]);
	char err[512] = "";
	struct dv_hooks *h = hc ? dv_hooks_new(hc, NULL, err, sizeof err) : NULL;
	ok(h != NULL, "a worker's state is made (%s)", err);
	if (!h)
		return tap_done();
	struct fake_clock clk = {.step = 1};
	dv_hooks_set_clock(h, fake_ms, &clk);
	ok(dv_hooks_for(h, 1, "shop", NULL), "every tenant has the default set");
	struct dv_face box = {.x = 1, .y = 2, .w = 30, .h = 40, .score = 0.9f};
	struct dv_hook_req rq = {.tenant = 1, .tenant_name = "shop", .location = "lobby", .fields_json = "{\"vip\":true}"};
	struct dv_hook_event ev = {.kind = "recognized", .person = 7,
	    .person_json = "{\"id\":7,\"name\":\"Ada\",\"attributes\":{\"room_temp\":21}}", .distance = 0.3, .similarity = 0.9,
	    .face = 11, .box = &box};
	for (int round = 1; round <= 2; round++) {
		struct dv_buf out, errs;
		dv_buf_init(&out);
		dv_buf_init(&errs);
		double t0 = clk.now;
		int ran = dv_hooks_fire(h, &rq, &ev, &out, &errs);
		double ms = clk.now - t0;
		is_int(ran, 10, round == 1 ? "ten hooks ran" : "round 2: ten hooks ran again (the state survived)");
		contains(out.data, round == 1 ? "\"calls\":1" : "\"calls\":2", "a hook's table is its reply, its state persists between calls");
		contains(out.data, "\"list\":[1,2,3]", "arrays stay arrays");
		contains(out.data, "\"room\":21", "the person's attributes reach the hook");
		contains(out.data, "\"where\":\"lobby\"", "so does the request");
		contains(out.data, "\"vip\":true", "and the client's fields");
		contains(out.data, "\"day\":\"1970\"", "dv.date");
		contains(out.data, "\"greeting\":\"hello Ada\"", "dv.reply adds to the reply");
		contains(out.data, "\"escape\":{\"reachable\":\"\"}", "nothing dangerous is reachable from a sandbox");
		contains(errs.data, "{\"hook\":\"loop\",\"event\":\"recognized\",\"error\":\"time budget exceeded (hooks.time_ms: 50)", "an endless loop is stopped by the time budget");
		contains(errs.data, "{\"hook\":\"pcall_loop\",\"event\":\"recognized\",\"error\":\"time budget", "a loop hiding in pcall is stopped too");
		contains(errs.data, "{\"hook\":\"slow\",\"event\":\"recognized\",\"error\":\"time budget exceeded", "a slow hook is stopped by the time budget");
		contains(errs.data, "{\"hook\":\"mem\",\"event\":\"recognized\",\"error\":\"not enough memory", "endless allocation is stopped by the memory cap");
		contains(errs.data, "{\"hook\":\"bigstr\"", "a one-gigabyte string is refused");
		contains(errs.data, "{\"hook\":\"os\",\"event\":\"recognized\",\"error\":\"os.lua:1: attempt to index global 'os'", "os.execute does not exist");
		contains(errs.data, "{\"hook\":\"err\",\"event\":\"recognized\",\"error\":\"err.lua:1: attempt to index local 'x'", "a runtime error is reported with file:line");
		contains(errs.data, "{\"hook\":\"badret\",\"event\":\"recognized\",\"error\":\"a hook returns a table", "a bad return value is reported");
		/* three hooks use their 50 ms of the test's clock and are stopped at
		 * the first tick past it (one read at the start, 51 ticks); the other
		 * seven end on their own, on memory or on an error within a few ticks */
		ok(ms <= 3 * 52 + 7 * 10, "each hook stopped at its first tick past the budget (%.0f ms of the test's clock)", ms);
		dv_buf_fini(&out);
		dv_buf_fini(&errs);
	}
	ok(access("/tmp/dv-pwned", F_OK) != 0, "nothing was executed");
	ev = (struct dv_hook_event){.kind = "unknown", .distance = -1, .similarity = -1, .box = &box};
	struct dv_buf out, errs;
	dv_buf_init(&out);
	dv_buf_init(&errs);
	dv_hooks_fire(h, &rq, &ev, &out, &errs);
	is_str(out.data, "{\"good\":{\"offer_enrolment\":true}}", "on_unknown: only the hooks that define it run");
	dv_buf_fini(&out);
	dv_buf_fini(&errs);
	dv_hooks_free(h);
	dv_hooks_conf_free(hc);
	dv_conf_free(c);
	dv_conf_errs_fini(&e);
	/* the instruction limit, on a frozen clock: the time budget cannot end it */
	hc = build("loop.lua, pcall_loop.lua", 50, 100000, &e, &c);
	h = hc ? dv_hooks_new(hc, NULL, err, sizeof err) : NULL;
	struct fake_clock frozen = {.step = 0};
	if (h)
		dv_hooks_set_clock(h, fake_ms, &frozen);
	ev = (struct dv_hook_event){.kind = "recognized", .distance = -1, .similarity = -1, .box = &box};
	dv_buf_init(&out);
	dv_buf_init(&errs);
	dv_hooks_fire(h, &rq, &ev, &out, &errs);
	contains(errs.data, "{\"hook\":\"loop\",\"event\":\"recognized\",\"error\":\"instruction limit exceeded (hooks.instructions: 100000)", "a loop is stopped by the instruction count");
	contains(errs.data, "{\"hook\":\"pcall_loop\",\"event\":\"recognized\",\"error\":\"instruction limit exceeded", "also inside pcall");
	/* 100,000 instructions are 100 ticks; the clock is read once per tick */
	ok(frozen.reads > 0 && frozen.reads <= 2 * (100 + 2), "checked at every tick until the limit (%ld reads)", frozen.reads);
	dv_buf_fini(&out);
	dv_buf_fini(&errs);
	dv_hooks_free(h);
	dv_hooks_conf_free(hc);
	dv_conf_free(c);
	dv_conf_errs_fini(&e);
	/* the real clock (the daemon's): an endless loop with no reachable
	 * instruction limit ends on the time budget, however long that takes here */
	hc = build("loop.lua", 20, 10000000000LL, &e, &c);
	h = hc ? dv_hooks_new(hc, NULL, err, sizeof err) : NULL;
	dv_buf_init(&out);
	dv_buf_init(&errs);
	if (h)
		dv_hooks_fire(h, &rq, &ev, &out, &errs);
	contains(errs.data, "{\"hook\":\"loop\",\"event\":\"recognized\",\"error\":\"time budget exceeded (hooks.time_ms: 20)", "on the monotonic clock an endless loop ends on the time budget");
	dv_buf_fini(&out);
	dv_buf_fini(&errs);
	dv_hooks_free(h);
	dv_hooks_conf_free(hc);
	dv_conf_free(c);
	dv_conf_errs_fini(&e);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
