/*
 * dejaview/plugin.h — the plugin ABI of dejaview.
 *
 * A plugin is a shared object that exports exactly one symbol, DV_PLUGIN_ENTRY
 * ("dv_plugin_entry"), a function returning a pointer to a constant
 * `struct dv_plugin` descriptor. The daemon dlopen()s the file named by `so:`
 * in the YAML configuration, calls the entry, checks the descriptor and then
 * creates instances through it.
 *
 * Versioning rules (they never change):
 *   - The first four fields of `struct dv_plugin` (magic, abi_major,
 *     abi_minor, size) keep their type and position forever.
 *   - Fields are only ever appended, at the end, with a minor bump. A plugin
 *     built against minor N runs on a host of minor >= N: the host copies the
 *     first `size` bytes of the plugin's descriptor into a zero-filled
 *     descriptor of its own, so the fields the plugin does not know read as
 *     NULL/0, never as the bytes that follow its descriptor.
 *   - The structs passed in arrays (dv_face, dv_image, dv_match) have a fixed
 *     size, with reserved room at the end: a minor bump may give meaning to
 *     reserved words, where zero always means "not given" (the host zeroes
 *     what it hands over; a plugin leaves reserved words as it got them, or
 *     zero in structs it makes). Their sizes are asserted below.
 *   - `struct dv_host` and `struct dv_embedder_info` grow at their end: the
 *     host fills or zeroes its whole struct, a plugin touches only what its
 *     header knows (dv_host.size says how much the host has).
 *   - Anything else (a field removed or changed) is a major bump; the loader
 *     refuses any plugin whose major differs from its own.
 *   - A plugin with a *newer* minor than the host is refused: it may rely on
 *     host functions the host does not have.
 *
 * Changelog
 *   1.0 (2026-11-27)  first version: detector, landmarker, embedder, matcher.
 *   2.0 (2026-11-28)  struct dv_face gains `pass` and `input_size`: how the
 *                     detector found each face (said in replies).
 *   3.0 (2026-12-01)  dv_face, dv_image and dv_match get reserved room, so
 *                     that later minors can extend them without a major bump.
 *   3.1 (2026-12-01)  dv_plugin gains matcher_memory: the bytes a matcher's
 *                     gallery holds (dv_gallery_memory_bytes in /metrics).
 *   3.2 (2026-12-02)  dv_image gains min_face (its first reserved word): the
 *                     smallest face the host wants found, in the image's
 *                     pixels (detect.min_face), so that a detector may run a
 *                     smaller input; 0 = not given.
 *   3.3 (2026-12-02)  dv_plugin gains matcher_loaded: the host has added every
 *                     face it holds, so that a matcher which kept an index of
 *                     its own across a restart drops the faces not added since.
 *
 * Threads: unless the descriptor sets DV_PLUGIN_SHARED, each worker thread
 * creates its own instance and calls it from that thread only, so an instance
 * need not be thread-safe (Darknet networks are not). A DV_PLUGIN_SHARED
 * instance is created once and called from every worker concurrently: it must
 * do its own locking (matchers are shared so that the gallery is in memory
 * once).
 *
 * Errors: every call returns 0 on success or a negative DV_PLUGIN_E* value; a
 * human-readable reason goes through host->error() first. The host turns the
 * reason into the client's error message, so never put biometric data
 * (embeddings, landmarks) into it.
 */
#ifndef DEJAVIEW_PLUGIN_H
#define DEJAVIEW_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DV_PLUGIN_MAGIC 0x44565047u /* "DVPG" */
#define DV_PLUGIN_ABI_MAJOR 3
#define DV_PLUGIN_ABI_MINOR 3
#define DV_PLUGIN_ENTRY "dv_plugin_entry"

/* Kinds of backend. The values are part of the ABI. */
enum dv_plugin_kind {
	DV_PLUGIN_DETECTOR = 1,   /* image -> face boxes (+ optional landmarks) */
	DV_PLUGIN_LANDMARKER = 2, /* image + boxes -> landmark points */
	DV_PLUGIN_EMBEDDER = 3,   /* aligned face chips -> float vectors */
	DV_PLUGIN_MATCHER = 4,    /* query vector -> nearest gallery entries */
};

/* Descriptor flags. */
#define DV_PLUGIN_SHARED 0x1u /* one thread-safe instance for all workers */

/* Return values of plugin calls. */
enum dv_plugin_status {
	DV_PLUGIN_OK = 0,
	DV_PLUGIN_EFAIL = -1,  /* generic failure; reason given to host->error */
	DV_PLUGIN_ENOMEM = -2, /* out of memory */
	DV_PLUGIN_EINVAL = -3, /* the input is unusable (e.g. an image too small) */
};

/* Log levels for host->log. */
enum dv_log_level { DV_LOG_ERROR = 0, DV_LOG_WARN = 1, DV_LOG_INFO = 2, DV_LOG_DEBUG = 3 };

/* ---------------------------------------------------------------------- */
/* Data passed to and from plugins. All memory is owned by the caller       */
/* unless said otherwise; plugins never keep pointers past the call.        */
/* ---------------------------------------------------------------------- */

/* An 8-bit interleaved RGB image (channels == 3) or gray (channels == 1).
 * Row r starts at pixels + r * stride. The host owns the pixels. */
struct dv_image {
	const uint8_t *pixels;
	int width;
	int height;
	int stride;   /* bytes per row, >= width * channels */
	int channels; /* 3 (R,G,B) or 1 */
	/* 3.2: the smallest face (box side) the host wants found, in pixels of
	 * this image, 0 = not given; a detector may pick a smaller, faster
	 * network input that still finds faces this large (and may report
	 * smaller ones or not) */
	float min_face;
	uint32_t reserved[7]; /* zero; for later minors */
};

#define DV_MAX_LANDMARKS 68

/* How a face was found (struct dv_face.pass). */
enum dv_face_pass {
	DV_PASS_DIRECT = 0,      /* the detector on the photo as it is */
	DV_PASS_CANVAS = 1,      /* the detector's second look: the photo on a larger canvas */
	DV_PASS_SCALE = 2,       /* the detector at another scale or tile */
	DV_PASS_WHOLE_IMAGE = 3, /* set by the host: nothing found, the whole (small) image is the face */
	DV_PASS_CLIENT = 4,      /* set by the host: the client named the box */
};

/* One face. Coordinates are in pixels of the decoded image, origin top-left,
 * x to the right, y down. A detector fills box, score, pass and input_size
 * and, when it can, landmarks; a landmarker (re)writes the landmarks. The
 * host zeroes the array before detect(). */
struct dv_face {
	float x, y, w, h;   /* bounding box */
	float score;        /* detection confidence in [0, 1] */
	int n_landmarks;    /* 0, 5 or 68 (iBUG 300-W order for 68) */
	float landmarks[DV_MAX_LANDMARKS][2];
	int pass;           /* enum dv_face_pass */
	int input_size;     /* the detector's network input (pixels a side) for this face, 0 if none */
	uint32_t reserved[16]; /* zero; for later minors */
};

/* What an embedder expects and produces, filled by embedder_info(). The
 * model name and fingerprint are stored with every vector: vectors of
 * different models are never compared. */
struct dv_embedder_info {
	int chip_width;         /* aligned chip size the embedder wants */
	int chip_height;
	int dim;                /* output vector length */
	float padding;          /* chip padding around the landmark template */
	char model[64];         /* e.g. "dlib_resnet_v1" */
	char fingerprint[72];   /* e.g. "sha256:…" of the weights, or a version */
};

/* One search result of a matcher. */
struct dv_match {
	uint64_t id;     /* the face id given to matcher_add */
	float distance;  /* Euclidean distance (smaller is closer) */
	uint32_t reserved[5]; /* zero; for later minors */
};

/* Parameters a plugin accepts from its YAML block. The host validates the
 * config against this table (type, bounds, unknown keys are errors) before
 * create() runs, and plugins read values through host->param_*(). */
enum dv_param_type {
	DV_PARAM_INT = 1,
	DV_PARAM_DOUBLE = 2,
	DV_PARAM_STRING = 3,
	DV_PARAM_BOOL = 4,
};

struct dv_param {
	const char *name;       /* NULL terminates the table */
	int type;               /* enum dv_param_type */
	double min, max;        /* bounds for INT and DOUBLE (inclusive) */
	const char *def;        /* default value as text, or NULL if required */
	const char *help;       /* one line for --help-plugin and the docs */
};

/* ---------------------------------------------------------------------- */
/* The host function table, handed to create(). Valid for the instance's   */
/* whole life; the plugin may keep the pointer. Plugins link no daemon      */
/* symbols: everything they need from the host is here.                     */
/* ---------------------------------------------------------------------- */
struct dv_host {
	uint32_t size;               /* sizeof(struct dv_host) of the host */
	uint16_t abi_major, abi_minor;

	/* One log line, attributed to this plugin instance. */
	void (*log)(const struct dv_host *h, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
	/* Set the reason of the failure the current call is about to return. */
	void (*error)(const struct dv_host *h, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

	/* Parameter getters: the value from the YAML block or the default from
	 * the param table. They return 0, or -1 if the name is not in the
	 * plugin's table (a programming error, logged by the host). The string
	 * stays valid for the instance's life. */
	int (*param_int)(const struct dv_host *h, const char *name, long long *out);
	int (*param_double)(const struct dv_host *h, const char *name, double *out);
	int (*param_bool)(const struct dv_host *h, const char *name, int *out);
	int (*param_string)(const struct dv_host *h, const char *name, const char **out);

	/* Resolve a model file name (e.g. "face_recognition.weights") against
	 * the configured model directory. Writes a NUL-terminated path into buf;
	 * returns 0, or -1 if it does not fit. Does not check that it exists. */
	int (*model_path)(const struct dv_host *h, const char *name, char *buf, size_t len);

	void *host_data; /* opaque to plugins */
};

/* ---------------------------------------------------------------------- */
/* The descriptor.                                                          */
/* ---------------------------------------------------------------------- */
struct dv_plugin {
	/* --- fixed forever --- */
	uint32_t magic;              /* DV_PLUGIN_MAGIC */
	uint16_t abi_major;          /* DV_PLUGIN_ABI_MAJOR it was built with */
	uint16_t abi_minor;          /* DV_PLUGIN_ABI_MINOR it was built with */
	uint32_t size;               /* sizeof(struct dv_plugin) it was built with */

	/* --- 1.0 --- */
	uint32_t kind;               /* enum dv_plugin_kind */
	uint32_t flags;              /* DV_PLUGIN_* flags */
	const char *name;            /* short name, e.g. "detect_example" */
	const char *version;         /* the plugin's own version */
	const char *description;     /* one line */
	const struct dv_param *params; /* NULL-name terminated, or NULL */

	/* Create an instance; store it in *instance. Returning non-zero makes
	 * the loader refuse the plugin (or the worker report it unavailable),
	 * with the reason given to host->error. */
	int (*create)(const struct dv_host *host, void **instance);
	void (*destroy)(void *instance);

	/* DV_PLUGIN_DETECTOR: find faces in img. Write at most max_faces faces
	 * into faces[] (caller-owned) and their number into *n_faces, best
	 * first. Finding none is success with *n_faces == 0. */
	int (*detect)(void *instance, const struct dv_image *img,
	    struct dv_face *faces, int max_faces, int *n_faces);

	/* DV_PLUGIN_LANDMARKER: fill faces[i].landmarks and n_landmarks for the
	 * n faces whose boxes are given. */
	int (*landmarks)(void *instance, const struct dv_image *img,
	    struct dv_face *faces, int n);

	/* DV_PLUGIN_EMBEDDER: describe the expected chips and output. */
	int (*embedder_info)(void *instance, struct dv_embedder_info *info);
	/* Embed n chips of info.chip_width x chip_height (RGB) in one batch;
	 * out holds n * info.dim floats, written row by row. With the host's
	 * `align.method: faceapi`, a chip is instead the face crop itself (any
	 * size, with the photo's stride), which the embedder normalises as
	 * face-api does (padToSquare, resize); one that cannot fails with EINVAL. */
	int (*embed)(void *instance, const struct dv_image *chips, int n, float *out);

	/* DV_PLUGIN_MATCHER: a gallery of vectors partitioned by tenant.
	 * dim is fixed per instance by the first add. add replaces an existing
	 * id; remove of an unknown id is success. search writes up to k results,
	 * nearest first, into out and their number into *n_out. */
	int (*matcher_add)(void *instance, uint64_t tenant, uint64_t id,
	    const float *vec, int dim);
	int (*matcher_remove)(void *instance, uint64_t tenant, uint64_t id);
	int (*matcher_search)(void *instance, uint64_t tenant, const float *query,
	    int dim, int k, struct dv_match *out, int *n_out);
	/* Number of vectors held (all tenants), for metrics. */
	int64_t (*matcher_count)(void *instance);

	/* --- 3.1 --- */
	/* DV_PLUGIN_MATCHER, optional: bytes the gallery holds in memory
	 * (vectors and index), for metrics and capacity planning. */
	int64_t (*matcher_memory)(void *instance);

	/* --- 3.3 --- */
	/* DV_PLUGIN_MATCHER, optional: the host has just added every face of its
	 * gallery (its first load from the database, and each reload). A matcher
	 * that keeps faces of its own across restarts (an index persisted on
	 * disk) drops from memory and disk those not added since it started:
	 * faces erased while it was down. Returns 0 or a DV_PLUGIN_E* value. */
	int (*matcher_loaded)(void *instance);

	/* Append new fields here only, with a minor bump and a changelog line. */
};

/* The array structs never change size within a major version. */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && UINTPTR_MAX == 0xffffffffffffffffULL
_Static_assert(sizeof(struct dv_image) == 56, "struct dv_image's size is part of ABI 3");
_Static_assert(sizeof(struct dv_face) == 640, "struct dv_face's size is part of ABI 3");
_Static_assert(sizeof(struct dv_match) == 32, "struct dv_match's size is part of ABI 3");
#endif

/* The size of the descriptor each minor of this major defines (the loader
 * refuses a plugin declaring less than its minor's). */
#define DV_PLUGIN_SIZE_3_0 (offsetof(struct dv_plugin, matcher_count) + sizeof(void *))
#define DV_PLUGIN_SIZE_3_1 (offsetof(struct dv_plugin, matcher_memory) + sizeof(void *))
#define DV_PLUGIN_SIZE_3_2 DV_PLUGIN_SIZE_3_1 /* 3.2 changed struct dv_image only */
#define DV_PLUGIN_SIZE_3_3 (offsetof(struct dv_plugin, matcher_loaded) + sizeof(void *))

/* The one exported function of every plugin. Define it with:
 *     DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void)
 *     { return &my_descriptor; }
 */
#define DV_PLUGIN_EXPORT __attribute__((visibility("default")))
typedef const struct dv_plugin *(*dv_plugin_entry_fn)(void);
DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void);

/* Initialiser for the fixed header, for use in the descriptor definition. */
#define DV_PLUGIN_HEADER                                                     \
	.magic = DV_PLUGIN_MAGIC, .abi_major = DV_PLUGIN_ABI_MAJOR,              \
	.abi_minor = DV_PLUGIN_ABI_MINOR, .size = sizeof(struct dv_plugin)

#ifdef __cplusplus
}
#endif
#endif /* DEJAVIEW_PLUGIN_H */
