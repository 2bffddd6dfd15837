/* dv_conf.c — YAML configuration, parsed on the main thread at start and on
 * SIGHUP. libyaml events become a small node tree that keeps every node's
 * line and column; the tree is then checked against the declarative key
 * table below. Every error is collected (file:line:column, key, what was
 * expected) before the caller decides to exit or keep the old generation. */
#include "config.h"
#include "dv_conf.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#ifndef DV_PLUGIN_DIR
#define DV_PLUGIN_DIR "/usr/local/lib/dejaview"
#endif
#ifndef DV_MODEL_DIR
#define DV_MODEL_DIR "/usr/local/share/dejaview/models"
#endif

/* ---------------------------------------------------------------- names */

static const char *const dv_stage_names[DV_STAGE_COUNT] = {
	"decode", "detect", "landmarks", "align", "embed", "match", "record", "hooks"};
/* what each stage does, for --help-stages (docs/config.md) */
static const char *const dv_stage_help[DV_STAGE_COUNT] = {
	"the image bytes into pixels (JPEG, PNG, PNM; EXIF orientation), under limits.image_pixels; a large JPEG "
	"at a reduced DCT scale (decode.min_side)",
	"the faces' boxes (plugins.detector), at most limits.faces, in the photo's own pixels",
	"each face's landmarks (plugins.landmarker); faces small in a photo decoded at a reduced scale get their "
	"region decoded again, finer (decode.face_side)",
	"each face's chip as the embedder wants it (align.method: dlib's chip, face-api's crop, or the box)",
	"each face's vector (plugins.embedder)",
	"each face's nearest faces in the tenant's gallery (plugins.matcher) and the decision: known, unknown, "
	"confirm or uncertain, at the tenant's threshold",
	"the persons of the matched faces; on recognize, one event per face, in the request's transaction "
	"(without it nothing is looked up or stored: a dry recognize)",
	"the tenant's Lua hooks (hooks.scripts, hooks.tenants) for each face, in the same transaction, which "
	"then commits: the events and the hooks' writes are kept together or not at all"};
/* the stage each one needs before it */
static const int dv_stage_needs[DV_STAGE_COUNT] = {-1, DV_STAGE_DECODE, DV_STAGE_DETECT, DV_STAGE_DETECT,
    DV_STAGE_ALIGN, DV_STAGE_EMBED, DV_STAGE_MATCH, DV_STAGE_RECORD};
static const char *const dv_role_names[DV_ROLE_COUNT] = {
	"detector", "landmarker", "embedder", "matcher"};
static const char *const dv_op_names[DV_OP_COUNT] = {"recognize", "detect"};
static const int dv_stage_roles[DV_STAGE_COUNT] = {
	-1, DV_ROLE_DETECTOR, DV_ROLE_LANDMARKER, -1, DV_ROLE_EMBEDDER, DV_ROLE_MATCHER, -1, -1};

const char *dv_stage_name(int s) { return s >= 0 && s < DV_STAGE_COUNT ? dv_stage_names[s] : "?"; }
const char *dv_role_name(int r) { return r >= 0 && r < DV_ROLE_COUNT ? dv_role_names[r] : "?"; }
const char *dv_op_name(int o) { return o >= 0 && o < DV_OP_COUNT ? dv_op_names[o] : "?"; }
int dv_stage_role(int s) { return s >= 0 && s < DV_STAGE_COUNT ? dv_stage_roles[s] : -1; }

/* ---------------------------------------------------------------- errors */

void dv_conf_errs_add(struct dv_conf_errs *e, const char *file, int line, int col,
    const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	char *m = NULL;
	int r = line > 0 ? asprintf(&m, "%s:%d:%d: %s", file, line, col, text)
	                 : asprintf(&m, "%s: %s", file, text);
	if (r < 0)
		return;
	char **v = realloc(e->msg, sizeof *v * (e->n + 1));
	if (!v) {
		free(m);
		return;
	}
	e->msg = v;
	e->msg[e->n++] = m;
}

void dv_conf_errs_fini(struct dv_conf_errs *e)
{
	for (int i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	e->msg = NULL;
	e->n = 0;
}

/* ---------------------------------------------------------------- tree */

enum { YN_SCALAR, YN_MAP, YN_SEQ };

struct yn {
	int type;
	int line, col;
	bool quoted;
	char *str;        /* scalars */
	struct yn **kids; /* maps: key, value, key, value ...; seqs: items */
	int n;
};

static void yn_free(struct yn *n)
{
	if (!n)
		return;
	for (int i = 0; i < n->n; i++)
		yn_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

static int yn_push(struct yn *p, struct yn *k)
{
	struct yn **v = realloc(p->kids, sizeof *v * (p->n + 1));
	if (!v)
		return -1;
	p->kids = v;
	p->kids[p->n++] = k;
	return 0;
}

struct yparse {
	yaml_parser_t p;
	const char *file;
	struct dv_conf_errs *errs;
	bool failed;
};

/* Build the node starting with event ev (already taken). Returns NULL on a
 * parse error (reported). */
static struct yn *yn_build(struct yparse *y, yaml_event_t *ev)
{
	struct yn *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->type = YN_SCALAR;
		n->str = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		return n;
	case YAML_ALIAS_EVENT:
		dv_conf_errs_add(y->errs, y->file, n->line, n->col,
		    "YAML aliases are not supported in the configuration");
		n->type = YN_SCALAR;
		n->str = strdup("");
		return n;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT: {
		n->type = ev->type == YAML_MAPPING_START_EVENT ? YN_MAP : YN_SEQ;
		yaml_event_type_t end = n->type == YN_MAP ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
		for (;;) {
			yaml_event_t e;
			if (!yaml_parser_parse(&y->p, &e)) {
				y->failed = true;
				yn_free(n);
				return NULL;
			}
			if (e.type == end) {
				yaml_event_delete(&e);
				return n;
			}
			struct yn *k = yn_build(y, &e);
			yaml_event_delete(&e);
			if (!k || yn_push(n, k) != 0) {
				yn_free(k);
				yn_free(n);
				return NULL;
			}
		}
	}
	default:
		free(n);
		return NULL;
	}
}

/* Parse a whole document into a tree; NULL for an empty document. */
static struct yn *yn_parse(struct yparse *y, const char *text, size_t len, bool *ok)
{
	struct yn *root = NULL;
	*ok = true;
	yaml_parser_set_input_string(&y->p, (const unsigned char *)text, len);
	for (;;) {
		yaml_event_t e;
		if (!yaml_parser_parse(&y->p, &e)) {
			y->failed = true;
			break;
		}
		yaml_event_type_t t = e.type;
		if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT || t == YAML_SCALAR_EVENT ||
		    t == YAML_ALIAS_EVENT) {
			if (root) {
				yaml_event_delete(&e);
				dv_conf_errs_add(y->errs, y->file, (int)e.start_mark.line + 1,
				    (int)e.start_mark.column + 1, "only one YAML document is allowed");
				*ok = false;
				break;
			}
			root = yn_build(y, &e);
			if (!root && y->failed) {
				yaml_event_delete(&e);
				break;
			}
		}
		yaml_event_delete(&e);
		if (t == YAML_STREAM_END_EVENT)
			break;
	}
	if (y->failed) {
		const yaml_mark_t *m = &y->p.problem_mark;
		dv_conf_errs_add(y->errs, y->file, (int)m->line + 1, (int)m->column + 1,
		    "YAML syntax error: %s%s%s", y->p.problem ? y->p.problem : "unknown problem",
		    y->p.context ? " " : "", y->p.context ? y->p.context : "");
		*ok = false;
	}
	return root;
}

/* ---------------------------------------------------------------- key table */

enum { KT_MAP, KT_STR, KT_INT, KT_BYTES, KT_BOOL, KT_ADDR, KT_LEVEL, KT_PLUGINS, KT_PIPELINES, KT_DOUBLE, KT_ALIGN,
    KT_HOOKFILES, KT_HOOKTENANTS, KT_DECISION, KT_KEEPFACES };

struct dv_conf_key {
	const char *path;
	int type;
	size_t off;
	long long min, max;
	const char *def;
	const char *help;
};

#define OFF(f) offsetof(struct dv_conf, f)
static const struct dv_conf_key dv_conf_keys[] = {
	{"listen", KT_MAP, 0, 0, 0, NULL, "listeners"},
	{"listen.http", KT_ADDR, OFF(listen_http), 0, 0, "127.0.0.1:8080",
	    "HTTP listener, host:port; \"\" disables it; port 0 picks a free port"},
	{"listen.tcp", KT_ADDR, OFF(listen_tcp), 0, 0, "127.0.0.1:7070",
	    "raw TCP listener, host:port; \"\" disables it"},
	{"listen.ops", KT_ADDR, OFF(listen_ops), 0, 0, "127.0.0.1:8081",
	    "operator listener: /healthz, /readyz and /metrics only, with connection slots of its own, so they "
	    "answer under any client load; \"\" disables it (the HTTP listener serves them too)"},
	{"workers", KT_INT, OFF(workers), 0, 256, "0",
	    "worker threads, each owning its plugin instances and a core; 0 = one per CPU this process may use"},
	{"face_threads", KT_INT, OFF(face_threads), 1, 16, "1",
	    "threads a worker splits one request's faces over — its landmark and embedding passes (each face's "
	    "mirror image, enrol.jitter's copies) and a shared matcher's searches: the worker and face_threads - 1 helpers, each helper with its own "
	    "landmarker and embedder instances (their memory again). Lowers a request's latency while cores are "
	    "idle; under full load every core is busy anyway (docs/performance.md)"},
	{"database", KT_STR, OFF(database), 0, 0, "",
	    "libpq connection string or URI; \"\" runs without a database (never ready)"},
	{"database_prepare", KT_BOOL, OFF(database_prepare), 0, 0, "true",
	    "prepare each statement once per connection (parsed and planned once, not on every request); false "
	    "behind a pooler that does not keep sessions (PgBouncer in transaction mode before 1.21)"},
	{"migrate_on_start", KT_BOOL, OFF(migrate_on_start), 0, 0, "true",
	    "apply pending SQL migrations when the database is reached"},
	{"plugin_dir", KT_STR, OFF(plugin_dir), 0, 0, DV_PLUGIN_DIR,
	    "where plugin .so files named without a '/' are found"},
	{"model_dir", KT_STR, OFF(model_dir), 0, 0, DV_MODEL_DIR, "where plugins find their model files"},
	{"log", KT_MAP, 0, 0, 0, NULL, "logging"},
	{"log.level", KT_LEVEL, OFF(log_level), 0, 0, "info", "error, warn, info or debug"},
	{"limits", KT_MAP, 0, 0, 0, NULL, "limits on what clients control"},
	{"limits.body_bytes", KT_BYTES, OFF(limits.body_bytes), 1024, 1LL << 30, "10MiB",
	    "largest HTTP request body (413 beyond)"},
	{"limits.connections", KT_INT, OFF(limits.connections), 1, 1000000, "1024",
	    "open connections per listener; beyond it HTTP clients wait in the backlog and TCP clients get an error "
	    "frame"},
	{"limits.connections_per_address", KT_INT, OFF(limits.connections_per_address), 1, 1000000, "128",
	    "open connections one client address may hold (HTTP and TCP together; IPv6 by /64); beyond it HTTP "
	    "answers 429 too_many_connections and TCP an error frame"},
	{"limits.ops_connections", KT_INT, OFF(limits.ops_connections), 1, 100000, "64",
	    "open connections of the operator listener (listen.ops)"},
	{"limits.header_timeout_ms", KT_INT, OFF(limits.header_timeout_ms), 100, 86400000, "10000",
	    "an HTTP request's line and headers (a TCP frame's header) must arrive within this, counted from its "
	    "first byte (from the connection's start for the first one); 408 request_timeout beyond"},
	{"limits.body_timeout_ms", KT_INT, OFF(limits.body_timeout_ms), 100, 86400000, "10000",
	    "grace for a request body (a TCP frame's payload): it must arrive within this plus its size over "
	    "limits.body_min_rate"},
	{"limits.body_min_rate", KT_BYTES, OFF(limits.body_min_rate), 1, 1LL << 30, "16KiB",
	    "slowest average transfer, in bytes per second, a body may take after its grace (a slow sender is cut "
	    "with 408)"},
	{"limits.queue", KT_INT, OFF(limits.queue), 1, 1000000, "64",
	    "jobs waiting for a worker; a full queue answers 503 + Retry-After"},
	{"limits.image_pixels", KT_INT, OFF(limits.image_pixels), 1, 1LL << 32, "40000000",
	    "largest decoded image, width x height"},
	{"limits.faces", KT_INT, OFF(limits.faces), 1, 1000, "32",
	    "most faces handled per image (the best-scored are kept)"},
	{"limits.frame_bytes", KT_BYTES, OFF(limits.frame_bytes), 64, 1LL << 30, "10MiB", "largest TCP frame payload"},
	{"limits.idle_timeout_ms", KT_INT, OFF(limits.idle_timeout_ms), 100, 86400000, "30000",
	    "a connection with no request under way and nothing in flight is closed after this (HTTP keep-alive, "
	    "TCP); so is one whose client stops reading a reply"},
	{"limits.drain_timeout_ms", KT_INT, OFF(limits.drain_timeout_ms), 0, 86400000, "30000",
	    "on SIGTERM, longest wait for in-flight jobs"},
	{"limits.inflight_per_connection", KT_INT, OFF(limits.inflight_per_connection), 1, 100000, "64",
	    "pipelined TCP requests in flight per connection"},
	{"decode", KT_MAP, 0, 0, 0, NULL, "the decode stage (large photos: docs/performance.md)"},
	{"decode.min_side", KT_INT, OFF(decode_min_side), 0, 100000, "640",
	    "a JPEG is decoded at the smallest of libjpeg's scales (1/8, 1/4, 1/2) whose longer side keeps at least "
	    "this many pixels (the detector's input is at most 608; small faces are decoded again, decode.face_side): "
	    "a 2 MP photo at 1/2, 12 MP at 1/4; 0 = always at full size"},
	{"decode.face_side", KT_INT, OFF(decode_face_side), 16, 100000, "120",
	    "a face smaller than this (pixels, its box's longer side) in a photo decoded at a reduced scale is decoded "
	    "again, its region alone, at the scale that gives it this many pixels or at full size, for its landmarks "
	    "and chip"},
	{"detect", KT_MAP, 0, 0, 0, NULL, "the detect stage"},
	{"detect.min_face", KT_INT, OFF(detect_min_face), 0, 100000, "0",
	    "the smallest face to find, in the photo's pixels (its box's longer side): the detector may run a smaller, "
	    "faster input that still finds faces this large (detect_darknet: face_at_input), and smaller faces are not "
	    "reported; 0 = every face the detector finds at its full input"},
	{"detect.whole_image_max_side", KT_INT, OFF(whole_image_max_side), 0, 100000, "256",
	    "when the detector finds nothing in an image at most this many pixels a side (and not more than 2:1), "
	    "the whole image is taken as the face, with found_by.pass \"whole_image\" (tight crops); 0 = never"},
	{"align", KT_MAP, 0, 0, 0, NULL, "alignment of faces for the embedder"},
	{"align.method", KT_ALIGN, OFF(align_method), 0, 0, "dlib",
	    "dlib: dlib's face chip from 68 landmarks (what the ResNet was trained on); faceapi: face-api's crop "
	    "from the eye and mouth centres, as its descriptors are computed; box: the detection box"},
	{"quality", KT_MAP, 0, 0, 0, NULL, "face quality (size, sharpness, pose, exposure, eyes), in [0, 1]"},
	{"quality.min_enrol", KT_DOUBLE, OFF(quality_min_enrol), 0, 1, "0.3",
	    "an enrolment photo whose face is below this is refused: 422 low_quality with the reasons (?force=true "
	    "enrols it anyway)"},
	{"quality.min_recognize", KT_DOUBLE, OFF(quality_min_recognize), 0, 1, "0.1",
	    "a face below this is answered \"uncertain\": no name, and not a stranger either"},
	{"enrol", KT_MAP, 0, 0, 0, NULL, "enrolment (POST /v1/persons/{id}/faces with a photo)"},
	{"enrol.jitter", KT_INT, OFF(enrol_jitter), 0, 64, "32",
	    "an enrolled face's descriptor also averages this many jittered copies of its chip (turned, zoomed, moved "
	    "a little, mirrored), as dlib does: +3.9 points of recall at 1% false alarms on the dev data "
	    "(docs/accuracy.md) for ~6 ms a copy at enrolment; recognitions are not jittered; 0 = off"},
	{"events", KT_MAP, 0, 0, 0, NULL, "what a recognition keeps"},
	{"events.face_ttl", KT_INT, OFF(events_face_ttl), 0, 604800, "900",
	    "seconds a recognition's face (its descriptor and chip) is kept so that it can be added to a person "
	    "(POST /v1/persons/{id}/faces?event_id=); 0 = not kept. Expired faces are deleted by the server"},
	{"events.keep_faces", KT_KEEPFACES, OFF(events_keep_faces), 0, 0, "unknown",
	    "which recognitions keep their faces for events.face_ttl: unknown (the faces the server did not name: the "
	    "stranger to enrol, the unsure match to confirm) or all (also those it named)"},
	{"landmarks", KT_MAP, 0, 0, 0, NULL, "the landmarks stage"},
	{"landmarks.flip", KT_BOOL, OFF(landmarks_flip), 0, 0, "false",
	    "each face's 68 points also from its mirror image, the two sets averaged (test-time augmentation: one more "
	    "landmark pass a face; needs its own calibration table)"},
	{"embed", KT_MAP, 0, 0, 0, NULL, "the embed stage"},
	{"embed.flip", KT_BOOL, OFF(embed_flip), 0, 0, "false",
	    "embed each face's chip and its mirror image and average the two vectors (test-time augmentation: one "
	    "more embedding per face; needs its own calibration table)"},
	{"limits.async_jobs", KT_INT, OFF(limits.async_jobs), 1, 1000000, "1000",
	    "async jobs accepted but not finished; beyond it POST /v1/jobs answers 503"},
	{"admin", KT_MAP, 0, 0, 0, NULL, "the admin API (/v1/admin/...)"},
	{"admin.key_sha256", KT_STR, OFF(admin_key_sha256), 0, 0, "",
	    "hex SHA-256 of the admin key (dejaviewd admin key prints a new key and this line); \"\" disables the "
	    "admin API"},
	{"node", KT_STR, OFF(node), 0, 0, "", "this server's name, recorded with async jobs; \"\" = the host name"},
	{"signup", KT_MAP, 0, 0, 0, NULL, "shops sign up from the web page: POST /v1/signup (docs/sdk.md)"},
	{"signup.enabled", KT_BOOL, OFF(signup_enabled), 0, 0, "false", "anyone who can reach the server may create a tenant"},
	{"signup.invitation_sha256", KT_STR, OFF(signup_invitation_sha256), 0, 0, "",
	    "hex SHA-256 of the invitation code a sign-up must give (sha256sum of the code); \"\" = none needed"},
	{"signup.per_address_per_hour", KT_INT, OFF(signup_per_hour), 1, 1000000, "3",
	    "sign-ups from one client address in any hour"},
	{"signup.hooks", KT_STR, OFF(signup_hooks), 0, 0, "frontdesk,loyalty",
	    "the built-in hooks a new shop starts with (comma-separated)"},
	{"web", KT_MAP, 0, 0, 0, NULL, "the front-desk page"},
	{"web.dir", KT_STR, OFF(web_dir), 0, 0, DV_WEB_DIR,
	    "folder of the page's static files, served at /; \"\" turns the page off"},
	{"match", KT_MAP, 0, 0, 0, NULL, "matching"},
	{"match.decision", KT_DECISION, OFF(match_decision), 0, 0, "fpir",
	    "fpir: a face gets a name when its distance is under the threshold at which this tenant's N enrolled "
	    "faces give an expected false-positive identification rate of match.target_fpir (from the embedder's "
	    "calibration table); threshold: under match.threshold, whatever N"},
	{"match.target_fpir", KT_DOUBLE, OFF(match_target_fpir), 0, 1, "0.01",
	    "with decision fpir: the share of strangers who may get someone's name (a tenant's settings.target_fpir "
	    "overrides it)"},
	{"match.cohort", KT_BOOL, OFF(match_cohort), 0, 0, "true",
	    "with decision fpir, for a tenant of as many people as the calibration's cohort rows start at (50): decide "
	    "by the cohort score, the nearest person's distance minus 0.75 x the mean distance of the next 5 people, "
	    "against the score that lets the target share of strangers through in a gallery of that many people (make "
	    "calibrate measures it). On the dev data: visitors recognised at the decision 74% -> 87% (at 1% of strangers "
	    "named, 78% -> 89%) "
	    "(docs/accuracy.md); false: the distance alone"},
	{"match.tenant_correction", KT_BOOL, OFF(match_tenant_correction), 0, 0, "true",
	    "with decision fpir: lower a tenant's threshold when its own enrolled people are closer to each other than "
	    "the calibration predicts (one camera, one light: docs/accuracy.md); never raises it"},
	{"match.correction_gain", KT_DOUBLE, OFF(match_correction_gain), 0, 4, "1.25",
	    "the tenant correction: the threshold is lowered by this times the gap between the predicted and the "
	    "observed median distance of each enrolled person to the nearest other"},
	{"match.correction_max_faces", KT_INT, OFF(match_correction_max_faces), 3, 1000000, "5000",
	    "tenants with more faces are left to the calibration (their correction measured nil on the dev data)"},
	{"match.calibration", KT_STR, OFF(match_calibration), 0, 0, "",
	    "the embedder's calibration table (make calibrate); \"\" = the *.calibration.tsv in model_dir stamped "
	    "with the embedder's fingerprint; a table of another embedder is refused"},
	{"match.threshold", KT_DOUBLE, OFF(match_threshold), 0, 10, "0.6",
	    "with decision threshold (or without a calibration table): largest distance that counts as the same "
	    "person; a request's threshold overrides either decision (expert use)"},
	{"match.threshold_max", KT_DOUBLE, OFF(match_threshold_max), 0, 10, "1.0",
	    "largest threshold a request may ask for"},
	{"match.margin_ratio", KT_DOUBLE, OFF(match_margin_ratio), 0.5, 1, "0.9",
	    "a face is named only when its nearest person is at most this times as far as the nearest other person "
	    "(among the candidates); else the decision is confirm: ask which of them. On the dev data 0.9 halves the "
	    "strangers named (0.77% -> 0.32%) for 0.3 points of visitors recognised (docs/accuracy.md); 1 = off"},
	{"match.top_k", KT_INT, OFF(match_top_k), 1, 100, "3",
	    "candidates returned per face (requests may ask for up to 100)"},
	{"hooks", KT_MAP, 0, 0, 0, NULL, "Lua business hooks (docs/hooks.md)"},
	{"hooks.scripts", KT_HOOKFILES, 0, 0, 0, NULL,
	    "hook files for every tenant, in order (paths relative to this file)"},
	{"hooks.tenants", KT_HOOKTENANTS, 0, 0, 0, NULL,
	    "tenant name (or id) -> its own list of hook files, instead of hooks.scripts"},
	{"hooks.time_ms", KT_INT, OFF(hook_time_ms), 1, 60000, "50", "wall-clock budget of one hook call"},
	{"hooks.instructions", KT_INT, OFF(hook_instructions), 1000, 10000000000LL, "10000000",
	    "Lua instructions one hook call may run (the JIT is off, so this is exact)"},
	{"hooks.memory", KT_BYTES, OFF(hook_memory), 1048576, 1LL << 34, "64MiB",
	    "memory of a worker's Lua state, all hooks together"},
	{"hooks.watch", KT_BOOL, OFF(hook_watch), 0, 0, "false",
	    "reload the hooks when a hook file changes (checked every second), as on SIGHUP"},
	{"hooks.max_source", KT_BYTES, OFF(hook_max_source), 1024, 1048576, "64KiB",
	    "largest Lua source of a stored hook (PUT /v1/hooks/NAME)"},
	{"hooks.max_per_tenant", KT_INT, OFF(hook_max_per_tenant), 1, 1000, "32",
	    "stored hooks per tenant, deactivated ones included (DELETE ?purge=true removes one)"},
	{"hooks.keep_versions", KT_INT, OFF(hook_keep_versions), 1, 100000, "50",
	    "versions kept per stored hook: older ones are pruned, never the active one"},
	{"hooks.cached", KT_INT, OFF(hook_cached), 8, 100000, "512",
	    "stored hooks a worker keeps loaded in its Lua state (least recently used go first)"},
	{"plugins", KT_PLUGINS, 0, 0, 0, NULL,
	    "backends by role: detector, landmarker, embedder, matcher; each {so: NAME, params...}"},
	{"pipelines", KT_PIPELINES, 0, 0, 0, NULL, "operation -> list of stages (recognize, detect)"},
};
#define DV_NKEYS (sizeof dv_conf_keys / sizeof dv_conf_keys[0])

static const struct dv_conf_key *dv_conf_key_find(const char *path)
{
	for (size_t i = 0; i < DV_NKEYS; i++)
		if (strcmp(dv_conf_keys[i].path, path) == 0)
			return &dv_conf_keys[i];
	return NULL;
}

/* Levenshtein distance, for "did you mean". */
static int dv_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	int d[64][64];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			int x = d[i - 1][j] + 1, z = d[i][j - 1] + 1;
			d[i][j] = c < x ? (c < z ? c : z) : (x < z ? x : z);
		}
	return d[la][lb];
}

/* The closest key under the same parent, or NULL. */
static const char *dv_conf_suggest(const char *parent, const char *key)
{
	const char *best = NULL;
	int bestd = 3;
	size_t pl = strlen(parent);
	for (size_t i = 0; i < DV_NKEYS; i++) {
		const char *p = dv_conf_keys[i].path;
		const char *leaf;
		if (pl == 0) {
			if (strchr(p, '.'))
				continue;
			leaf = p;
		} else {
			if (strncmp(p, parent, pl) != 0 || p[pl] != '.' || strchr(p + pl + 1, '.'))
				continue;
			leaf = p + pl + 1;
		}
		int d = dv_edit_distance(key, leaf);
		if (d < bestd) {
			bestd = d;
			best = leaf;
		}
	}
	return best;
}

/* ---------------------------------------------------------------- scalars */

static int dv_parse_ll(const char *s, long long *out)
{
	char buf[64];
	size_t j = 0;
	for (const char *p = s; *p && j < sizeof buf - 1; p++)
		if (*p != '_')
			buf[j++] = *p;
	buf[j] = 0;
	if (!j)
		return -1;
	errno = 0;
	char *end;
	long long v = strtoll(buf, &end, 10);
	if (errno || *end || end == buf)
		return -1;
	*out = v;
	return 0;
}

/* "10MiB", "512k", "1G", "2048" -> bytes (k/M/G are powers of 1024). */
static int dv_parse_bytes(const char *s, long long *out)
{
	char num[64];
	size_t i = 0;
	while ((isdigit((unsigned char)s[i]) || s[i] == '_') && i < sizeof num - 1) {
		num[i] = s[i];
		i++;
	}
	num[i] = 0;
	long long v;
	if (dv_parse_ll(num, &v) != 0)
		return -1;
	const char *u = s + i;
	while (*u == ' ')
		u++;
	long long mul = 1;
	if (!*u || !strcmp(u, "B"))
		mul = 1;
	else if (!strcasecmp(u, "k") || !strcasecmp(u, "kb") || !strcmp(u, "KiB"))
		mul = 1024;
	else if (!strcasecmp(u, "m") || !strcasecmp(u, "mb") || !strcmp(u, "MiB"))
		mul = 1024 * 1024;
	else if (!strcasecmp(u, "g") || !strcasecmp(u, "gb") || !strcmp(u, "GiB"))
		mul = 1024LL * 1024 * 1024;
	else
		return -1;
	if (v > LLONG_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int dv_parse_bool(const char *s, bool *out)
{
	static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
	for (int i = 0; i < 3; i++) {
		if (!strcasecmp(s, t[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, f[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int dv_conf_split_addr(const char *addr, char **host, int *port)
{
	const char *colon;
	char *h;
	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');
		if (!rb || rb[1] != ':')
			return -1;
		h = strndup(addr + 1, (size_t)(rb - addr - 1));
		colon = rb + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || colon == addr)
			return -1;
		h = strndup(addr, (size_t)(colon - addr));
	}
	if (!h)
		return -1;
	long long p;
	if (dv_parse_ll(colon + 1, &p) != 0 || p < 0 || p > 65535) {
		free(h);
		return -1;
	}
	*host = h;
	*port = (int)p;
	return 0;
}

static const char *yn_kind(const struct yn *n)
{
	return n->type == YN_MAP ? "a mapping" : n->type == YN_SEQ ? "a list" : "a scalar";
}

struct dv_cparse {
	const char *file;
	struct dv_conf_errs *errs;
	struct dv_conf *c;
};

#define CERR(cp, node, ...) dv_conf_errs_add((cp)->errs, (cp)->file, (node)->line, (node)->col, __VA_ARGS__)

/* Store a scalar value for key k. Returns 0 or -1 (error reported). When
 * node is NULL, value is the table default. */
static int dv_conf_set(struct dv_cparse *cp, const struct dv_conf_key *k, const struct yn *node,
    const char *value)
{
	char *base = (char *)cp->c;
	if (node && node->type != YN_SCALAR) {
		CERR(cp, node, "%s: expected %s, got %s", k->path,
		    k->type == KT_INT || k->type == KT_BYTES ? "an integer"
		    : k->type == KT_DOUBLE                   ? "a number"
		    : k->type == KT_BOOL                     ? "true or false"
		                                             : "a string",
		    yn_kind(node));
		return -1;
	}
	switch (k->type) {
	case KT_STR:
	case KT_ADDR:
	case KT_ALIGN:
	case KT_DECISION:
	case KT_KEEPFACES:
	case KT_LEVEL: {
		if (k->type == KT_ADDR && value[0]) {
			char *h;
			int port;
			if (dv_conf_split_addr(value, &h, &port) != 0) {
				if (node)
					CERR(cp, node,
					    "%s: expected host:port (e.g. 127.0.0.1:8080) or \"\", got \"%s\"",
					    k->path, value);
				return -1;
			}
			free(h);
		}
		if (k->type == KT_ALIGN && strcmp(value, "dlib") && strcmp(value, "faceapi") && strcmp(value, "box")) {
			if (node)
				CERR(cp, node, "%s: expected one of dlib, faceapi, box, got \"%s\"", k->path, value);
			return -1;
		}
		if (k->type == KT_KEEPFACES && strcmp(value, "unknown") && strcmp(value, "all")) {
			if (node)
				CERR(cp, node, "%s: expected one of unknown, all, got \"%s\"", k->path, value);
			return -1;
		}
		if (k->type == KT_DECISION && strcmp(value, "fpir") && strcmp(value, "threshold")) {
			if (node)
				CERR(cp, node, "%s: expected one of fpir, threshold, got \"%s\"", k->path, value);
			return -1;
		}
		if (k->type == KT_LEVEL && strcmp(value, "error") && strcmp(value, "warn") &&
		    strcmp(value, "info") && strcmp(value, "debug")) {
			if (node)
				CERR(cp, node, "%s: expected one of error, warn, info, debug, got \"%s\"", k->path,
				    value);
			return -1;
		}
		char **dst = (char **)(base + k->off);
		char *v = strdup(value);
		if (!v)
			return -1;
		free(*dst);
		*dst = v;
		return 0;
	}
	case KT_INT:
	case KT_BYTES: {
		long long v;
		int r = k->type == KT_INT ? dv_parse_ll(value, &v) : dv_parse_bytes(value, &v);
		if (r != 0 || (node && node->quoted)) {
			if (node)
				CERR(cp, node, "%s: expected %s, got \"%s\"", k->path,
				    k->type == KT_INT ? "an integer" : "a size in bytes (e.g. 1048576, 512KiB, 10MiB)",
				    value);
			return -1;
		}
		if (v < k->min || v > k->max) {
			if (node)
				CERR(cp, node, "%s: expected a value between %lld and %lld, got %lld", k->path,
				    k->min, k->max, v);
			return -1;
		}
		*(long long *)(base + k->off) = v;
		return 0;
	}
	case KT_DOUBLE: {
		char *end;
		errno = 0;
		double v = strtod(value, &end);
		if (!*value || *end || errno || (node && node->quoted) || v != v) {
			if (node)
				CERR(cp, node, "%s: expected a number, got \"%s\"", k->path, value);
			return -1;
		}
		if (v < (double)k->min || v > (double)k->max) {
			if (node)
				CERR(cp, node, "%s: expected a number between %lld and %lld, got %g", k->path, k->min,
				    k->max, v);
			return -1;
		}
		*(double *)(base + k->off) = v;
		return 0;
	}
	case KT_BOOL: {
		bool v;
		if (dv_parse_bool(value, &v) != 0 || (node && node->quoted)) {
			if (node)
				CERR(cp, node, "%s: expected true or false, got \"%s\"", k->path, value);
			return -1;
		}
		*(bool *)(base + k->off) = v;
		return 0;
	}
	}
	return -1;
}

/* ---------------------------------------------------------------- sections */

/* The index of scalar k among n names, or -1. */
static int dv_name_index(const struct yn *k, const char *const *names, int n)
{
	for (int i = 0; k->type == YN_SCALAR && i < n; i++)
		if (!strcmp(k->str, names[i]))
			return i;
	return -1;
}

/* A section mapping names of a list to values: each known name's entry goes
 * to fn (with the name's index); a wrong shape or an unknown name is an error. */
struct dv_named_map {
	const char *section, *what, *kind, *expected; /* for the errors */
	const char *const *names;
	int n;
	void (*fn)(struct dv_cparse *cp, int idx, const struct yn *k, const struct yn *v);
};

static void dv_conf_named_map(struct dv_cparse *cp, const struct yn *map, const struct dv_named_map *m)
{
	if (map->type != YN_MAP) {
		CERR(cp, map, "%s: expected a mapping of %s, got %s", m->section, m->what, yn_kind(map));
		return;
	}
	for (int i = 0; i + 1 < map->n; i += 2) {
		const struct yn *k = map->kids[i];
		int idx = dv_name_index(k, m->names, m->n);
		if (idx < 0)
			CERR(cp, k, "%s: unknown %s '%s' (expected %s)", m->section, m->kind,
			    k->type == YN_SCALAR ? k->str : "?", m->expected);
		else
			m->fn(cp, idx, k, map->kids[i + 1]);
	}
}

/* plugins.ROLE: {so: NAME, params...} */
static void dv_conf_plugin(struct dv_cparse *cp, int role, const struct yn *k, const struct yn *v)
{
	struct dv_conf_plugin *pl = &cp->c->plugins[role];
	if (v->type != YN_MAP) {
		CERR(cp, v, "plugins.%s: expected a mapping with 'so' and the plugin's parameters, got %s",
		    dv_role_names[role], yn_kind(v));
		return;
	}
	pl->present = true;
	pl->line = k->line;
	pl->col = k->col;
	for (int j = 0; j + 1 < v->n; j += 2) {
		const struct yn *pk = v->kids[j], *pv = v->kids[j + 1];
		if (pk->type != YN_SCALAR)
			continue;
		if (!strcmp(pk->str, "so")) {
			if (pv->type != YN_SCALAR || !pv->str[0]) {
				CERR(cp, pv, "plugins.%s.so: expected a plugin name or path", dv_role_names[role]);
				continue;
			}
			free(pl->so);
			pl->so = strdup(pv->str);
			continue;
		}
		struct dv_conf_param *np = realloc(pl->params, sizeof *np * (pl->n_params + 1));
		if (!np)
			return;
		pl->params = np;
		struct dv_conf_param *p = &pl->params[pl->n_params++];
		p->key = strdup(pk->str);
		p->value = strdup(pv->type == YN_SCALAR ? pv->str : "");
		p->is_scalar = pv->type == YN_SCALAR;
		p->line = pv->line;
		p->col = pv->col;
	}
	if (!pl->so)
		CERR(cp, k, "plugins.%s: missing required key 'so' (the plugin to load)", dv_role_names[role]);
}

static void dv_conf_plugins(struct dv_cparse *cp, const struct yn *map)
{
	static const struct dv_named_map m = {"plugins", "role to plugin", "role",
	    "detector, landmarker, embedder or matcher", dv_role_names, DV_ROLE_COUNT, dv_conf_plugin};
	dv_conf_named_map(cp, map, &m);
}

#define DV_STAGE_LIST "decode, detect, landmarks, align, embed, match, record, hooks"

/* pipelines.OP: [stages]; each must come after the one it needs, in the one order */
static void dv_conf_pipeline(struct dv_cparse *cp, int op, const struct yn *k, const struct yn *v)
{
	(void)k;
	const char *on = dv_op_names[op];
	if (v->type != YN_SEQ) {
		CERR(cp, v, "pipelines.%s: expected a list of stages, got %s", on, yn_kind(v));
		return;
	}
	struct dv_conf_pipeline *pp = &cp->c->pipelines[op];
	pp->present = true;
	pp->n_stages = 0;
	int last = -1;
	bool seen[DV_STAGE_COUNT] = {false};
	for (int j = 0; j < v->n; j++) {
		const struct yn *s = v->kids[j];
		int st = dv_name_index(s, dv_stage_names, DV_STAGE_COUNT);
		if (st < 0) {
			CERR(cp, s, "pipelines.%s: unknown stage '%s' (expected " DV_STAGE_LIST ")", on,
			    s->type == YN_SCALAR ? s->str : "?");
			continue;
		}
		if (st <= last) {
			CERR(cp, s, "pipelines.%s: stage '%s' is out of order (stages run in the order "
			    DV_STAGE_LIST ")", on, s->str);
			continue;
		}
		/* Each stage needs the output of an earlier one. */
		int need = dv_stage_needs[st];
		if (need >= 0 && !seen[need])
			CERR(cp, s, "pipelines.%s: stage '%s' needs stage '%s' before it", on, s->str,
			    dv_stage_names[need]);
		/* detect answers faces only: it never stores */
		if (op == DV_OP_DETECT && st >= DV_STAGE_RECORD)
			CERR(cp, s, "pipelines.detect: stage '%s' stores, and detect never does "
			    "(put it in pipelines.recognize)", s->str);
		int role = dv_stage_roles[st];
		if (role >= 0 && !cp->c->plugins[role].present)
			CERR(cp, s, "pipelines.%s: stage '%s' needs a plugin under plugins.%s", on, s->str,
			    dv_role_names[role]);
		seen[st] = true;
		last = st;
		if (pp->n_stages < DV_MAX_STAGES)
			pp->stages[pp->n_stages++] = st;
	}
	if (pp->n_stages == 0 || pp->stages[0] != DV_STAGE_DECODE)
		CERR(cp, v, "pipelines.%s: the first stage must be 'decode'", on);
}

static void dv_conf_pipelines(struct dv_cparse *cp, const struct yn *map)
{
	static const struct dv_named_map m = {"pipelines", "operation to stages", "operation", "recognize or detect",
	    dv_op_names, DV_OP_COUNT, dv_conf_pipeline};
	dv_conf_named_map(cp, map, &m);
}

/* A list of hook files, for every tenant (tenant NULL) or for one. Paths are
 * taken relative to the configuration file's folder. */
static void dv_conf_hookset(struct dv_cparse *cp, const char *tenant, const struct yn *k, const struct yn *v)
{
	const char *what = tenant ? "hooks.tenants" : "hooks.scripts";
	if (v->type != YN_SEQ) {
		CERR(cp, v, "%s%s%s: expected a list of hook files, got %s", what, tenant ? "." : "",
		    tenant ? tenant : "",
		    yn_kind(v));
		return;
	}
	struct dv_conf *c = cp->c;
	struct dv_conf_hookset *hs = realloc(c->hooksets, sizeof *hs * (size_t)(c->n_hooksets + 1));
	if (!hs)
		return;
	c->hooksets = hs;
	hs = &c->hooksets[c->n_hooksets++];
	memset(hs, 0, sizeof *hs);
	hs->tenant = tenant ? strdup(tenant) : NULL;
	hs->line = k->line;
	hs->col = k->col;
	hs->files = calloc((size_t)(v->n ? v->n : 1), sizeof *hs->files);
	char dir[4096] = ".";
	const char *slash = strrchr(cp->file, '/');
	if (slash)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - cp->file), cp->file);
	for (int i = 0; i < v->n && hs->files; i++) {
		const struct yn *f = v->kids[i];
		if (f->type != YN_SCALAR || !f->str[0]) {
			CERR(cp, f, "%s: each entry is a file name", what);
			continue;
		}
		char path[4096];
		if (f->str[0] == '/')
			snprintf(path, sizeof path, "%s", f->str);
		else
			snprintf(path, sizeof path, "%s/%s", dir, f->str);
		hs->files[hs->n++] = strdup(path);
	}
}

/* Walk a mapping whose keys live under `prefix` in the table. */
static void dv_conf_walk(struct dv_cparse *cp, const struct yn *map, const char *prefix)
{
	if (map->type != YN_MAP) {
		if (*prefix)
			CERR(cp, map, "%s: expected a mapping, got %s", prefix, yn_kind(map));
		else
			CERR(cp, map, "the configuration must be a mapping of keys, got %s", yn_kind(map));
		return;
	}
	for (int i = 0; i + 1 < map->n; i += 2) {
		const struct yn *k = map->kids[i], *v = map->kids[i + 1];
		if (k->type != YN_SCALAR) {
			CERR(cp, k, "keys must be plain strings");
			continue;
		}
		/* duplicate keys are errors: the second would silently win */
		for (int j = 0; j < i; j += 2)
			if (map->kids[j]->type == YN_SCALAR && !strcmp(map->kids[j]->str, k->str))
				CERR(cp, k, "duplicate key '%s%s%s' (first at line %d)", prefix, *prefix ? "." : "",
				    k->str, map->kids[j]->line);
		char path[256];
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k->str);
		const struct dv_conf_key *key = dv_conf_key_find(path);
		if (!key) {
			const char *s = dv_conf_suggest(prefix, k->str);
			if (s)
				CERR(cp, k, "unknown key '%s' (did you mean '%s'?)", path, s);
			else
				CERR(cp, k, "unknown key '%s'", path);
			continue;
		}
		switch (key->type) {
		case KT_MAP:
			dv_conf_walk(cp, v, path);
			break;
		case KT_PLUGINS:
			dv_conf_plugins(cp, v);
			break;
		case KT_PIPELINES:
			break; /* after plugins are known, see dv_conf_parse */
		case KT_HOOKFILES:
			dv_conf_hookset(cp, NULL, k, v);
			break;
		case KT_HOOKTENANTS:
			if (v->type != YN_MAP) {
				CERR(cp, v, "hooks.tenants: expected a mapping of tenant to a list of hook files, "
				    "got %s", yn_kind(v));
				break;
			}
			for (int t = 0; t + 1 < v->n; t += 2)
				if (v->kids[t]->type == YN_SCALAR)
					dv_conf_hookset(cp, v->kids[t]->str, v->kids[t], v->kids[t + 1]);
			break;
		default:
			dv_conf_set(cp, key, v, v->type == YN_SCALAR ? v->str : "");
		}
	}
}

struct dv_conf *dv_conf_parse(const char *name, const char *text, size_t len, struct dv_conf_errs *errs)
{
	struct dv_conf *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->path = strdup(name);
	struct dv_cparse cp = {.file = name, .errs = errs, .c = c};
	for (size_t i = 0; i < DV_NKEYS; i++)
		if (dv_conf_keys[i].def)
			dv_conf_set(&cp, &dv_conf_keys[i], NULL, dv_conf_keys[i].def);

	struct yparse y = {.file = name, .errs = errs};
	if (!yaml_parser_initialize(&y.p)) {
		dv_conf_free(c);
		return NULL;
	}
	bool ok;
	struct yn *root = yn_parse(&y, text, len, &ok);
	yaml_parser_delete(&y.p);
	if (ok && !root) {
		dv_conf_errs_add(errs, name, 0, 0, "the configuration is empty");
	} else if (root) {
		dv_conf_walk(&cp, root, "");
		if (root->type == YN_MAP)
			for (int i = 0; i + 1 < root->n; i += 2)
				if (root->kids[i]->type == YN_SCALAR && !strcmp(root->kids[i]->str, "pipelines"))
					dv_conf_pipelines(&cp, root->kids[i + 1]);
	}
	yn_free(root);
	return c;
}

struct dv_conf *dv_conf_load(const char *path, struct dv_conf_errs *errs)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		dv_conf_errs_add(errs, path, 0, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	char *text = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > (16u << 20)) {
				dv_conf_errs_add(errs, path, 0, 0, "file too large");
				free(text);
				fclose(f);
				return NULL;
			}
			char *t = realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				return NULL;
			}
			text = t;
		}
		size_t r = fread(text + len, 1, cap - len, f);
		len += r;
		if (r == 0)
			break;
	}
	bool err = ferror(f);
	fclose(f);
	if (err) {
		dv_conf_errs_add(errs, path, 0, 0, "read error");
		free(text);
		return NULL;
	}
	struct dv_conf *c = dv_conf_parse(path, text ? text : "", len, errs);
	free(text);
	return c;
}

void dv_conf_free(struct dv_conf *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->listen_http);
	free(c->listen_tcp);
	free(c->listen_ops);
	free(c->database);
	free(c->plugin_dir);
	free(c->model_dir);
	free(c->log_level);
	free(c->align_method);
	free(c->match_decision);
	free(c->events_keep_faces);
	free(c->match_calibration);
	free(c->admin_key_sha256);
	free(c->signup_invitation_sha256);
	free(c->signup_hooks);
	for (int i = 0; i < c->n_hooksets; i++) {
		for (int k = 0; k < c->hooksets[i].n; k++)
			free(c->hooksets[i].files[k]);
		free(c->hooksets[i].files);
		free(c->hooksets[i].tenant);
	}
	free(c->hooksets);
	free(c->node);
	free(c->web_dir);
	for (int r = 0; r < DV_ROLE_COUNT; r++) {
		struct dv_conf_plugin *p = &c->plugins[r];
		free(p->so);
		for (int i = 0; i < p->n_params; i++) {
			free(p->params[i].key);
			free(p->params[i].value);
		}
		free(p->params);
	}
	free(c);
}

void dv_conf_print_stages(void)
{
	for (int s = 0; s < DV_STAGE_COUNT; s++) {
		char needs[64] = "";
		if (dv_stage_needs[s] >= 0)
			snprintf(needs, sizeof needs, " (after %s)", dv_stage_names[dv_stage_needs[s]]);
		printf("- `%s`%s: %s.\n", dv_stage_names[s], needs, dv_stage_help[s]);
	}
}

void dv_conf_print_reference(void)
{
	printf("%-34s %-8s %-16s %s\n", "key", "type", "default", "meaning");
	static const char *const tn[] = {"map", "string", "integer", "bytes", "bool", "address", "level", "map",
	    "map", "number", "method", "list", "map", "decision"};
	for (size_t i = 0; i < DV_NKEYS; i++) {
		const struct dv_conf_key *k = &dv_conf_keys[i];
		char range[64] = "";
		if (k->type == KT_INT || k->type == KT_BYTES || k->type == KT_DOUBLE)
			snprintf(range, sizeof range, " [%lld..%lld]", k->min, k->max);
		printf("%-34s %-8s %-16s %s%s\n", k->path, tn[k->type], k->def ? (k->def[0] ? k->def : "\"\"") : "-",
		    k->help, range);
	}
}
