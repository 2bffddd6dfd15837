/* dv_detcheck — make eval-detect: what detect.min_face costs in faces and
 * saves in time. The dev photos (every STEP-th of identities.csv, the group
 * photos of groups/ and reference/faceapi/images), each as it is and as a
 * front-desk camera frame (fitted into 640x480), are run through the daemon's
 * detect pipeline at the full input (detect.min_face 0: the reference) and at
 * each min_face given: the recall of the reference's faces at least that large
 * (IoU >= 0.5, and "alike": the same face with a descriptor within 0.15 —
 * a box drawn differently around a face that is still described the same
 * is no loss to recognition), the detect stage's time and the network input
 * chosen.
 * With -b CONF_B, one row more: CONF_B at min_face 0 against CONF's
 * reference (another detector setting, input_fit false say).
 *   dv_detcheck -c CONF [-b CONF_B] [-k STEP] [-m 0,20,40,...] [-v] DATA_DIR   (-v: each face lost) */
#include "ev_data.h"
#include "ev_pipe.h"
#include "../testphoto.h"
#include "dv_conf.h"
#include "dv_image.h"
#include <dirent.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DC_MAXM 16
#define DC_MAXF 64

struct dc_run {
	int n, dim;
	float box[DC_MAXF][4];
	float *emb; /* n * dim */
	double ms;
	int input;
};

static void dc_detect(struct ev_pipe *p, const uint8_t *b, size_t n, struct dc_run *out)
{
	struct dv_job *j = ev_pipe_run(p, DV_OP_RECOGNIZE, b, n, NULL);
	free(out->emb);
	memset(out, 0, sizeof *out);
	out->ms = j->res.stage_ms[DV_STAGE_DETECT];
	out->dim = j->res.embedding_dim;
	out->emb = malloc(sizeof *out->emb * (size_t)(out->dim ? out->dim : 1) * DC_MAXF);
	for (int i = 0; !j->res.err && out->emb && i < j->res.n_embeddings && i < DC_MAXF; i++) {
		memcpy(out->box[i], j->res.face_boxes + 5 * i, sizeof out->box[i]);
		if (out->dim && j->res.embeddings)
			memcpy(out->emb + (size_t)i * out->dim, j->res.embeddings + (size_t)i * out->dim,
			    sizeof *out->emb * out->dim);
		out->n++;
	}
	const char *s = j->res.reply.data ? strstr(j->res.reply.data, "\"input_size\":") : NULL;
	out->input = s ? atoi(s + 13) : 0;
	dv_job_free(j);
}

static double dc_iou(const float *a, const float *b)
{
	double x0 = fmax(a[0], b[0]), y0 = fmax(a[1], b[1]);
	double x1 = fmin(a[0] + a[2], b[0] + b[2]), y1 = fmin(a[1] + a[3], b[1] + b[3]);
	double in = fmax(0, x1 - x0) * fmax(0, y1 - y0), un = (double)a[2] * a[3] + (double)b[2] * b[3] - in;
	return un > 0 ? in / un : 0;
}

/* A front-desk frame: the photo fitted into 640x480 on gray, as a JPEG. */
static uint8_t *dc_frame(const uint8_t *b, size_t n, size_t *len)
{
	struct dv_img im;
	char err[256];
	if (dv_image_decode(b, n, 1LL << 28, &im, err, sizeof err) != 0)
		return NULL;
	const int W = 640, H = 480;
	uint8_t *rgb = test_photo_place(&im, W, H, fmin((double)W / im.width, (double)H / im.height), -1, NULL, NULL, NULL);
	uint8_t *jpg = NULL;
	if (!rgb || dv_image_encode_jpeg(rgb, W, H, 90, &jpg, len) != 0)
		jpg = NULL;
	free(rgb);
	dv_img_fini(&im);
	return jpg;
}

/* Face k of r is face i of ref described alike: their boxes' centres each
 * inside the other box and the descriptors within 0.15 (a resaved photo's
 * are ~0.07 apart, two people's > 0.4). */
static int dc_same(const struct dc_run *ref, int i, const struct dc_run *r, int k)
{
	const float *a = ref->box[i], *b = r->box[k];
	double ax = a[0] + a[2] / 2, ay = a[1] + a[3] / 2, bx = b[0] + b[2] / 2, by = b[1] + b[3] / 2;
	if (!(ax >= b[0] && ax <= b[0] + b[2] && ay >= b[1] && ay <= b[1] + b[3] && bx >= a[0] && bx <= a[0] + a[2] &&
	        by >= a[1] && by <= a[1] + a[3]))
		return 0;
	if (!ref->dim || ref->dim != r->dim)
		return 0;
	double d = 0;
	for (int c = 0; c < ref->dim; c++) {
		double t = ref->emb[(size_t)i * ref->dim + c] - r->emb[(size_t)k * r->dim + c];
		d += t * t;
	}
	return sqrt(d) <= 0.15;
}

struct dc_acc {
	long want, found, alike, extra;
	double ms;
	long runs;
	long inputs[20]; /* by input / 32 */
};

static int dc_verbose;

/* r against the reference's faces at least minf large, into acc */
static void dc_score(const struct dc_run *ref, const struct dc_run *r, int minf, struct dc_acc *acc, const char *name)
{
	acc->ms += r->ms;
	acc->runs++;
	if (r->input > 0 && r->input / 32 < 20)
		acc->inputs[r->input / 32]++;
	for (int i = 0; i < ref->n; i++) {
		double side = fmax(ref->box[i][2], ref->box[i][3]);
		if (side < minf)
			continue;
		acc->want++;
		for (int k = 0; k < r->n; k++)
			if (dc_iou(ref->box[i], r->box[k]) >= 0.5) {
				acc->found++;
				break;
			}
		for (int k = 0; k < r->n; k++)
			if (dc_same(ref, i, r, k)) {
				acc->alike++;
				break;
			}
	}
	for (int i = 0; dc_verbose && i < ref->n; i++) {
		int hit = 0;
		for (int k = 0; k < r->n && !hit; k++)
			hit = dc_iou(ref->box[i], r->box[k]) >= 0.5;
		if (!hit && fmax(ref->box[i][2], ref->box[i][3]) >= minf) {
			printf("# %s min_face %d (input %d): lost %.0f,%.0f %.0fx%.0f; found", name, minf, r->input, ref->box[i][0],
			    ref->box[i][1], ref->box[i][2], ref->box[i][3]);
			for (int k = 0; k < r->n; k++)
				printf(" %.0f,%.0f %.0fx%.0f", r->box[k][0], r->box[k][1], r->box[k][2], r->box[k][3]);
			printf("\n");
		}
	}
	for (int k = 0; k < r->n; k++) {
		int seen = 0;
		for (int i = 0; i < ref->n && !seen; i++)
			seen = dc_iou(ref->box[i], r->box[k]) >= 0.5;
		acc->extra += !seen;
	}
}

/* The photo through p at min_face 0 (the reference) and at each of mins,
 * and through pb (-b) at 0, into acc[0..nm-1] and acc[nm]. */
static void dc_photo(struct ev_pipe *p, struct ev_pipe *pb, const uint8_t *b, size_t n, const int *mins, int nm,
    struct dc_acc *acc, const char *name)
{
	struct dc_run ref = {0}, r = {0};
	struct dv_conf *c = (struct dv_conf *)p->g->conf;
	c->detect_min_face = 0;
	dc_detect(p, b, n, &ref);
	for (int m = 0; m < nm; m++) {
		c->detect_min_face = mins[m];
		dc_detect(p, b, n, &r);
		dc_score(&ref, &r, mins[m], &acc[m], name);
	}
	c->detect_min_face = 0;
	if (pb) {
		dc_detect(pb, b, n, &r);
		dc_score(&ref, &r, 0, &acc[nm], name);
	}
	free(ref.emb);
	free(r.emb);
}

static const char *dc_b; /* -b: the other configuration */

static void dc_print(const char *what, const int *mins, int nm, const struct dc_acc *acc)
{
	printf("%s\n", what);
	printf("%-15s %6s %7s %8s %8s %5s %10s   %s\n", "detect.min_face", "faces", "IoU>=.5", "recall", "alike",
	    "new", "detect ms", "inputs used");
	for (int m = 0; m < nm + (dc_b != NULL); m++) {
		char in[256] = "";
		size_t o = 0;
		for (int k = 0; k < 20; k++)
			if (acc[m].inputs[k] && o < sizeof in - 24)
				o += (size_t)snprintf(in + o, sizeof in - o, "%s%d:%ld", o ? " " : "", k * 32, acc[m].inputs[k]);
		char lab[24];
		snprintf(lab, sizeof lab, m < nm ? "%d" : "-b, 0", m < nm ? mins[m] : 0);
		printf("%-15s %6ld %7ld %7.2f%% %7.2f%% %5ld %10.2f   %s\n", lab, acc[m].want, acc[m].found,
		    acc[m].want ? 100.0 * acc[m].found / acc[m].want : 100.0,
		    acc[m].want ? 100.0 * acc[m].alike / acc[m].want : 100.0, acc[m].extra,
		    acc[m].runs ? acc[m].ms / acc[m].runs : 0, in);
	}
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	int step = 10, mins[DC_MAXM] = {0, 20, 30, 40, 60, 80, 120}, nm = 7, opt;
	while ((opt = getopt(argc, argv, "b:c:k:m:v")) != -1)
		switch (opt) {
		case 'b': dc_b = optarg; break;
		case 'v': dc_verbose = 1; break;
		case 'c': conf = optarg; break;
		case 'k': step = atoi(optarg); break;
		case 'm':
			nm = 0;
			for (char *t = strtok(optarg, ","); t && nm < DC_MAXM - 1; t = strtok(NULL, ","))
				mins[nm++] = atoi(t);
			break;
		default: goto usage;
		}
	if (!conf || optind + 1 != argc || step < 1 || nm < 1) {
	usage:
		fprintf(stderr, "usage: dv_detcheck -c CONF [-b CONF_B] [-k STEP] [-m 0,20,40,...] [-v] DATA_DIR\n");
		return 2;
	}
	const char *dir = argv[optind];
	char path[4096];
	struct ev_data data;
	if (ev_data_load(dir, &data) != 0) {
		printf("SKIP: %s/identities.csv is absent (the dev photos: ../shared/testdata)\n", dir);
		return 0;
	}
	struct ev_pipe p, pb;
	if (ev_pipe_open(&p, conf) != 0 || (dc_b && ev_pipe_open(&pb, dc_b) != 0))
		return 1;
	((struct dv_conf *)p.g->conf)->decode_min_side = 0; /* the detector alone */
	if (dc_b)
		((struct dv_conf *)pb.g->conf)->decode_min_side = 0;
	struct dc_acc as[DC_MAXM] = {0}, af[DC_MAXM] = {0}, ag[DC_MAXM] = {0};
	int photos = 0, groups = 0;
	for (int it = 0; it < data.n; it += step) {
		const char *row = data.it[it].path;
		snprintf(path, sizeof path, "%s/%s", dir, row);
		size_t n, fl;
		uint8_t *b = ev_slurp(path, &n);
		if (!b)
			continue;
		uint8_t *fr = dc_frame(b, n, &fl);
		dc_photo(&p, dc_b ? &pb : NULL, b, n, mins, nm, as, row);
		if (fr)
			dc_photo(&p, dc_b ? &pb : NULL, fr, fl, mins, nm, af, row);
		free(fr);
		free(b);
		photos++;
	}
	const char *gdirs[] = {"groups", "reference/faceapi/images"};
	for (int g = 0; g < 2; g++) {
		snprintf(path, sizeof path, "%s/%s", dir, gdirs[g]);
		DIR *d = opendir(path);
		for (struct dirent *e; d && (e = readdir(d));) {
			size_t l = strlen(e->d_name);
			if (l < 5 || (strcmp(e->d_name + l - 4, ".jpg") && strcmp(e->d_name + l - 4, ".png")))
				continue;
			snprintf(path, sizeof path, "%s/%s/%s", dir, gdirs[g], e->d_name);
			size_t n;
			uint8_t *b = ev_slurp(path, &n);
			if (!b)
				continue;
			dc_photo(&p, dc_b ? &pb : NULL, b, n, mins, nm, ag, e->d_name);
			free(b);
			groups++;
		}
		if (d)
			closedir(d);
	}
	printf("make eval-detect: detect.min_face against the full input (min_face 0), on the reference's faces at least\n");
	printf("min_face large: found with a box of IoU >= 0.5 (recall), or described alike (the boxes' centres in each\n");
	printf("other, descriptors within 0.15); \"new\": faces found that the reference has not (IoU < 0.5)\n");
	if (dc_b)
		printf("row \"-b, 0\": %s at min_face 0 against the reference of %s\n", dc_b, conf);
	printf("\n");
	char t[128];
	snprintf(t, sizeof t, "dev photos as they are (%d, every %d-th of identities.csv)", photos, step);
	dc_print(t, mins, nm, as);
	printf("\n");
	dc_print("the same as front-desk frames (fitted into 640x480)", mins, nm, af);
	printf("\n");
	snprintf(t, sizeof t, "group photos (%d: groups/, reference/faceapi/images)", groups);
	dc_print(t, mins, nm, ag);
	ev_pipe_close(&p);
	if (dc_b)
		ev_pipe_close(&pb);
	return 0;
}
