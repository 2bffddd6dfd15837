/* ev_pipe.h — the daemon's own configuration loader and pipeline for the
 * evaluation tools (make eval, make calibrate, make eval-openset): a photo is
 * embedded as a recognize request would embed it, largest face first; where
 * nothing is detected (a tight crop), the whole image is the face. */
#ifndef EV_PIPE_H
#define EV_PIPE_H
#include "dv_gen.h"
#include "dv_job.h"
#include "dv_pipeline.h"
#include "dv_quality.h"
#include <stddef.h>
#include <stdint.h>

struct ev_pipe {
	struct dv_gen *g;
	struct dv_pipeline_ctx ctx;
	int dim;
	char model[64], fingerprint[80];
	int jitter; /* each face's embedding also averages this many jittered copies (enrol.jitter) */
	/* frame_side > 0: each photo is first scaled to frame_side pixels high and
	 * centred in a frame_w x frame_h gray frame (a JPEG at quality 90), as a
	 * camera at a desk would see the person (dv_openset -F) */
	int frame_w, frame_h, frame_side;
};

/* Load conf_path and make one instance of every plugin (one thread: OpenMP
 * and OpenBLAS pinned to one core, as a worker). 0, or -1 with the reasons
 * printed. */
int ev_pipe_open(struct ev_pipe *p, const char *conf_path);
void ev_pipe_close(struct ev_pipe *p);
/* One job through the pipeline (op DV_OP_RECOGNIZE or DV_OP_DETECT), keeping
 * the embeddings; box (x, y, w, h) or NULL. The caller frees the job. */
struct dv_job *ev_pipe_run(struct ev_pipe *p, int op, const uint8_t *b, size_t n, const float *box);

struct ev_face {
	float *emb;     /* dim floats (malloc'd), NULL when none */
	int fallback;   /* the whole image was taken as the face */
	int w, h;       /* the image's size */
	float box[4];
	int error;      /* the image could not be decoded */
	struct dv_quality q; /* of the face taken */
	char why[300];
};
/* Embed the largest face of the photo at path. */
void ev_pipe_embed_file(struct ev_pipe *p, const char *path, struct ev_face *out);
uint8_t *ev_slurp(const char *path, size_t *n);
#endif
