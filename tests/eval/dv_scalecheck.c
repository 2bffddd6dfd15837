/* dv_scalecheck — make eval-scale: does decoding a large photo at a reduced
 * scale (decode.min_side, decode.face_side) change what the pipeline finds?
 * Every STEP-th photo of ../shared/testdata/identities.csv is enlarged to a
 * phone photo's size (longer side SIDE, bilinear, a little sensor grain,
 * JPEG quality 92) and run twice through the daemon's own pipeline: decoded
 * at full size (decode.min_side 0, today's path) and as configured. Printed:
 * the distance between the two descriptors of its largest face, beside the
 * distance the enlargement itself causes (the original photo against its
 * enlarged copy, both at full size) — the noise a resaved photo has anyway —
 * and the boxes' overlap; then the time of each path.
 *   dv_scalecheck -c CONF [-s SIDE] [-k STEP] [-n MAX] [-m MIN_SIDE] [-f FACE_SIDE] [-r RATIO] DATA_DIR
 * (-m, -f: decode.min_side and decode.face_side other than the configuration's;
 * -r: the photo fills this share of the canvas's longer side, on gray — most
 * dev photos are tight crops, whose face would otherwise fill 12 megapixels) */
#include "ev_data.h"
#include "ev_pipe.h"
#include "../testphoto.h"
#include "../util.h"
#include "dv_conf.h"
#include "dv_image.h"
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The canvas and scale for a photo of w x h: its longer side `side` x
 * ratio, on a gray canvas whose longer side is `side` (4:3, as the photo);
 * ratio 1: the photo enlarged, no canvas. */
static double sc_ratio = 1;
static double sc_layout(int w, int h, int side, int *W, int *H)
{
	double s = (double)side * sc_ratio / (w > h ? w : h);
	*W = sc_ratio < 1 ? (w >= h ? side : side * 3 / 4) : (int)(w * s);
	*H = sc_ratio < 1 ? (w >= h ? side * 3 / 4 : side) : (int)(h * s);
	return s;
}

/* The photo enlarged (sc_layout), bilinear, with grain, as a JPEG of quality
 * 92; its scale and top-left on the canvas go to *k, *ox, *oy. */
static uint8_t *sc_enlarge(const uint8_t *b, size_t n, int side, size_t *out_len, unsigned *seed, double *k, int *ox,
    int *oy)
{
	struct dv_img im;
	char err[256];
	if (dv_image_decode(b, n, 1LL << 28, &im, err, sizeof err) != 0 || im.width < 2 || im.height < 2)
		return NULL;
	int W, H;
	*k = sc_layout(im.width, im.height, side, &W, &H);
	uint8_t *o = test_photo_place(&im, W, H, *k, 3.5, seed, ox, oy), *jpg = NULL;
	size_t jl = 0;
	int r = o ? dv_image_encode_jpeg(o, W, H, 92, &jpg, &jl) : -1;
	free(o);
	dv_img_fini(&im);
	if (r != 0)
		return NULL;
	*out_len = jl;
	return jpg;
}

/* All faces of a photo: n descriptors and boxes (malloc'd), and the time. */
struct sc_faces {
	int n;
	float *emb, *box; /* n * dim, n * 4 */
};

static void sc_run(struct ev_pipe *p, const uint8_t *b, size_t n, struct sc_faces *out, double *ms)
{
	double t0 = test_now_ms();
	struct dv_job *j = ev_pipe_run(p, DV_OP_RECOGNIZE, b, n, NULL);
	*ms = test_now_ms() - t0;
	memset(out, 0, sizeof *out);
	int k = !j->res.err && j->res.embeddings ? j->res.n_embeddings : 0;
	out->emb = malloc(sizeof *out->emb * (size_t)(k ? k : 1) * p->dim);
	out->box = malloc(sizeof *out->box * (size_t)(k ? k : 1) * 4);
	for (int i = 0; i < k && out->emb && out->box; i++) {
		memcpy(out->emb + (size_t)i * p->dim, j->res.embeddings + (size_t)i * p->dim, sizeof *out->emb * p->dim);
		for (int c = 0; c < 4; c++)
			out->box[i * 4 + c] = j->res.face_boxes[5 * i + c];
		out->n++;
	}
	dv_job_free(j);
}

static double sc_iou(const float *a, const float *b, double ka, double kb)
{
	double ax = a[0] * ka, ay = a[1] * ka, aw = a[2] * ka, ah = a[3] * ka;
	double bx = b[0] * kb, by = b[1] * kb, bw = b[2] * kb, bh = b[3] * kb;
	double x0 = fmax(ax, bx), y0 = fmax(ay, by), x1 = fmin(ax + aw, bx + bw), y1 = fmin(ay + ah, by + bh);
	double in = fmax(0, x1 - x0) * fmax(0, y1 - y0), un = aw * ah + bw * bh - in;
	return un > 0 ? in / un : 0;
}

/* The face of b overlapping face i of a most (boxes scaled by ka, kb), or -1 below IoU 0.5. */
static int sc_pair(const struct sc_faces *a, int i, double ka, const struct sc_faces *b, double kb, double *iou)
{
	int best = -1;
	*iou = 0;
	for (int k = 0; k < b->n; k++) {
		double v = sc_iou(a->box + 4 * i, b->box + 4 * k, ka, kb);
		if (v > *iou) {
			*iou = v;
			best = k;
		}
	}
	return *iou >= 0.5 ? best : -1;
}

static void sc_row(const char *what, double *v, int n)
{
	if (n == 0) {
		printf("%-44s %6s\n", what, "-");
		return;
	}
	qsort(v, (size_t)n, sizeof *v, test_cmpd);
	printf("%-44s %8.4f %8.4f %8.4f\n", what, v[n / 2], v[(int)(n * 0.95)], v[n - 1]);
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	int side = 4000, step = 20, max = 200, opt;
	long long min_side = -1, face_side = -1;
	while ((opt = getopt(argc, argv, "c:s:k:n:m:f:r:")) != -1)
		switch (opt) {
		case 'm': min_side = atoll(optarg); break;
		case 'r': sc_ratio = atof(optarg); break;
		case 'f': face_side = atoll(optarg); break;
		case 'c': conf = optarg; break;
		case 's': side = atoi(optarg); break;
		case 'k': step = atoi(optarg); break;
		case 'n': max = atoi(optarg); break;
		default: goto usage;
		}
	if (!conf || optind + 1 != argc || side < 256 || step < 1 || max < 1 || !(sc_ratio > 0.05 && (sc_ratio <= 0.75 || sc_ratio == 1))) {
	usage:
		fprintf(stderr, "usage: dv_scalecheck -c CONF [-s SIDE] [-k STEP] [-n MAX] [-m MIN_SIDE] [-f FACE_SIDE] [-r RATIO] DATA_DIR\n");
		return 2;
	}
	const char *dir = argv[optind];
	char path[4096];
	struct ev_data data;
	if (ev_data_load(dir, &data) != 0) {
		printf("SKIP: %s/identities.csv is absent (the dev photos: ../shared/testdata)\n", dir);
		return 0;
	}
	struct ev_pipe full, scaled;
	if (ev_pipe_open(&full, conf) != 0 || ev_pipe_open(&scaled, conf) != 0)
		return 1;
	((struct dv_conf *)full.g->conf)->decode_min_side = 0; /* today's path: every pixel */
	struct dv_conf *sc = (struct dv_conf *)scaled.g->conf;
	if (min_side >= 0)
		sc->decode_min_side = min_side;
	if (face_side >= 0)
		sc->decode_face_side = face_side;
	int dim = full.dim, cap = max * 8;
	double *dsc = malloc(sizeof *dsc * cap), *dnoise = malloc(sizeof *dnoise * cap), *iou = malloc(sizeof *iou * cap);
	double *tf = malloc(sizeof *tf * max), *ts = malloc(sizeof *ts * max);
	int n = 0, nn = 0, nt = 0, lost = 0, gained = 0, faces = 0, tried = 0;
	unsigned seed = 12345;
	for (int it = 0; it < data.n && tried < max; it += step) {
		snprintf(path, sizeof path, "%s/%s", dir, data.it[it].path);
		size_t len, big_len;
		double k0; /* the original's boxes, in the enlarged photo's pixels */
		int ox, oy;
		uint8_t *orig = ev_slurp(path, &len);
		uint8_t *big = orig ? sc_enlarge(orig, len, side, &big_len, &seed, &k0, &ox, &oy) : NULL;
		if (!big) {
			free(orig);
			continue;
		}
		tried++;
		struct sc_faces A, B, O;
		double t0;
		sc_run(&full, big, big_len, &A, &tf[nt]);
		sc_run(&scaled, big, big_len, &B, &ts[nt]);
		sc_run(&full, orig, len, &O, &t0);
		for (int i = 0; i < O.n; i++) {
			float *bx = O.box + 4 * i;
			bx[0] = (float)(bx[0] * k0 + ox); bx[1] = (float)(bx[1] * k0 + oy);
			bx[2] = (float)(bx[2] * k0); bx[3] = (float)(bx[3] * k0);
		}
		nt++;
		faces += A.n;
		for (int i = 0; i < A.n && n < cap; i++) {
			double v;
			int k = sc_pair(&A, i, 1, &B, 1, &v);
			if (k < 0) {
				lost++;
				continue;
			}
			dsc[n] = ev_dist(A.emb + (size_t)i * dim, B.emb + (size_t)k * dim, dim);
			iou[n++] = 1 - v;
			int q = sc_pair(&A, i, 1, &O, 1, &v);
			if (q >= 0 && nn < cap)
				dnoise[nn++] = ev_dist(A.emb + (size_t)i * dim, O.emb + (size_t)q * dim, dim);
		}
		for (int i = 0; i < B.n; i++) {
			double v;
			if (sc_pair(&B, i, 1, &A, 1, &v) < 0)
				gained++;
		}
		free(A.emb); free(A.box); free(B.emb); free(B.box); free(O.emb); free(O.box);
		free(orig);
		free(big);
	}
	printf("make eval-scale: %d dev photos (every %d-th of identities.csv) enlarged to a longer side of %.0f px\n", tried,
	    step, side * sc_ratio);
	if (sc_ratio < 1)
		printf("on a gray canvas of %d px (4:3)\n", side);
	printf("(bilinear, grain, JPEG q92); decode.min_side %lld, decode.face_side %lld against full size\n",
	    sc->decode_min_side, sc->decode_face_side);
	printf("%-44s %8s %8s %8s\n", "", "median", "p95", "max");
	sc_row("descriptor distance, scaled vs full decode", dsc, n);
	sc_row("descriptor distance, enlarged vs original", dnoise, nn);
	sc_row("1 - box overlap (IoU), scaled vs full", iou, n);
	sc_row("ms per photo, full decode (no database)", tf, nt);
	sc_row("ms per photo, scaled decode (no database)", ts, nt);
	printf("faces at full size: %d; not found scaled: %d; found only scaled: %d\n", faces, lost, gained);
	free(dsc); free(dnoise); free(iou); free(tf); free(ts);
	ev_pipe_close(&full);
	ev_pipe_close(&scaled);
	return 0;
}
