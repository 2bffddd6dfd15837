/* dv_conf.h — the YAML configuration: parsed and validated into a plain
 * struct. Parsing is a pure function of the text (no I/O) so it can be
 * unit-tested and fuzzed; plugin parameters are validated later against each
 * plugin's own table (dv_plugin.c), with the same file:line:column errors. */
#ifndef DV_CONF_H
#define DV_CONF_H
#include <stdbool.h>
#include <stddef.h>

/* Pipeline stages, in the only order they may appear (dv_pipeline.c runs
 * the image stages, dv_record.c the last two). */
enum dv_stage {
	DV_STAGE_DECODE = 0,
	DV_STAGE_DETECT,
	DV_STAGE_LANDMARKS,
	DV_STAGE_ALIGN,
	DV_STAGE_EMBED,
	DV_STAGE_MATCH,
	DV_STAGE_RECORD, /* the persons of the matches; the events, in the request's transaction */
	DV_STAGE_HOOKS,  /* the tenant's Lua hooks, in that transaction; commits it */
	DV_STAGE_COUNT
};

/* Plugin roles; role r is served by a plugin of kind r + 1. */
enum dv_role {
	DV_ROLE_DETECTOR = 0,
	DV_ROLE_LANDMARKER,
	DV_ROLE_EMBEDDER,
	DV_ROLE_MATCHER,
	DV_ROLE_COUNT
};

/* Operations that a pipeline can serve. */
enum dv_op { DV_OP_RECOGNIZE = 0, DV_OP_DETECT, DV_OP_COUNT };

#define DV_MAX_STAGES 16

struct dv_conf_param {
	char *key;
	char *value;
	bool is_scalar; /* false when the YAML value was a map or sequence */
	int line, col;
};

struct dv_conf_plugin {
	bool present;
	char *so;       /* name (looked up in plugin_dir) or a path with a '/' */
	int line, col;  /* of the role key, for errors */
	struct dv_conf_param *params;
	int n_params;
};

struct dv_conf_pipeline {
	bool present;
	int stages[DV_MAX_STAGES];
	int n_stages;
};

/* hooks.scripts (tenant NULL) or one entry of hooks.tenants */
struct dv_conf_hookset {
	char *tenant;   /* name or id, NULL = every tenant */
	char **files;   /* paths, resolved against the config file's folder */
	int n;
	int line, col;
};

struct dv_conf {
	char *path;
	char *listen_http;   /* "host:port", "" = disabled */
	char *listen_tcp;
	char *listen_ops;    /* operator listener: health, readiness, metrics */
	long long workers;
	long long face_threads;
	char *database;      /* libpq conninfo, "" = none */
	bool database_prepare; /* named prepared statements, per connection (dv_store) */
	bool migrate_on_start;
	char *plugin_dir;
	char *model_dir;
	char *log_level;
	char *align_method;       /* "dlib", "faceapi" or "box" */
	bool landmarks_flip;      /* landmarks.flip: the points of the face and of its mirror image, averaged */
	bool embed_flip;          /* embed.flip: average the chip's and its mirror's vectors */
	double quality_min_enrol, quality_min_recognize;
	long long enrol_jitter;      /* enrol.jitter: jittered copies averaged into an enrolled descriptor */
	long long events_face_ttl;  /* events.face_ttl: seconds a recognition's face is kept, 0 = not kept */
	char *events_keep_faces;    /* events.keep_faces: "unknown" or "all" */
	long long decode_min_side;  /* decode: a JPEG's scale keeps this many pixels a side, 0 = full size */
	long long decode_face_side; /* decode: a smaller face's region is decoded again, finer */
	long long detect_min_face;  /* detect: the smallest face to find (photo pixels), 0 = all */
	long long whole_image_max_side; /* detect: whole-image fallback for images up to this size, 0 = off */
	char *admin_key_sha256;   /* hex SHA-256 of the admin key, "" = no admin API */
	char *node;               /* this server's name (async jobs), "" = the host name */
	bool signup_enabled;      /* POST /v1/signup */
	char *signup_invitation_sha256;
	long long signup_per_hour;
	char *signup_hooks;       /* built-in hooks of a new shop, comma-separated */
	char *web_dir;            /* the front-desk page's files, "" = not served */
	double match_threshold_max; /* a request's threshold may not exceed this */
	struct dv_conf_hookset *hooksets;
	int n_hooksets;
	long long hook_time_ms, hook_instructions, hook_memory;
	long long hook_max_source, hook_max_per_tenant, hook_keep_versions, hook_cached;
	bool hook_watch;
	double match_threshold;   /* distance at or below which a face is known (decision threshold) */
	double match_margin_ratio; /* named only when nearest <= this x the nearest other person */
	char *match_decision;     /* "fpir" or "threshold" */
	bool match_cohort;                /* decide by the cohort score where the calibration has it */
	bool match_tenant_correction;     /* lower a tenant's threshold by its own impostors */
	double match_correction_gain;
	long long match_correction_max_faces;
	double match_target_fpir; /* decision fpir: strangers who may get a name */
	char *match_calibration;  /* the calibration table's path, "" = found in model_dir by fingerprint */
	long long match_top_k;    /* candidates returned per face */
	struct {
		long long body_bytes, connections, queue, image_pixels, faces;
		long long frame_bytes, idle_timeout_ms, drain_timeout_ms;
		long long inflight_per_connection;
		long long async_jobs;
		long long connections_per_address, ops_connections;
		long long header_timeout_ms, body_timeout_ms, body_min_rate;
	} limits;
	struct dv_conf_plugin plugins[DV_ROLE_COUNT];
	struct dv_conf_pipeline pipelines[DV_OP_COUNT];
};

/* Collected error messages, each "file:line:column: text". */
struct dv_conf_errs {
	char **msg;
	int n;
};
void dv_conf_errs_add(struct dv_conf_errs *e, const char *file, int line, int col,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void dv_conf_errs_fini(struct dv_conf_errs *e);

/* Parse and validate text (len bytes; need not be NUL-terminated) named
 * `name` in messages. Always returns a dv_conf (defaults filled in) unless
 * out of memory; errors are appended to errs. The caller owns the result
 * and frees it with dv_conf_free(). */
struct dv_conf *dv_conf_parse(const char *name, const char *text, size_t len,
    struct dv_conf_errs *errs);
/* Read the file and parse it. An unreadable file is one error. */
struct dv_conf *dv_conf_load(const char *path, struct dv_conf_errs *errs);
void dv_conf_free(struct dv_conf *c);

const char *dv_stage_name(int stage);
const char *dv_role_name(int role);
const char *dv_op_name(int op);
/* The role a stage needs, or -1. */
int dv_stage_role(int stage);
/* Split "host:port" (or "[v6]:port"); returns 0 or -1. host is malloc'd. */
int dv_conf_split_addr(const char *addr, char **host, int *port);
/* Print the reference of every key (for --help-config and the README). */
void dv_conf_print_reference(void);
/* The stages, in order, with what each needs and does (--help-stages). */
void dv_conf_print_stages(void);
#endif
