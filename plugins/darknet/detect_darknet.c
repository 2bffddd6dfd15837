/* detect_darknet.c — face detector plugin: face-api's TinyFaceDetector on
 * Darknet (models/tiny_face_detector.cfg). Each worker owns an instance and
 * its networks. The image goes through face-api's exact preprocessing; the
 * raw 25-channel grid is decoded in C as face-api does it (sigmoid, anchors,
 * strict score threshold, correction for the square padding) and reduced by
 * greedy non-maximum suppression. Passes: the photo at an input size chosen
 * from it; optionally overlapping tiles of the photo enlarged (tile_scale),
 * for faces too small for the first; when nothing is found, the photo
 * centred on a larger canvas (tight crops). Each face says which found it. */
#include "config.h"
#include "dn_common.h"
#include <darknet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double dd_anchors[5][2] = {
	{1.603231, 2.094468}, {6.041143, 7.080126}, {2.882459, 3.518061}, {4.266906, 5.178857}, {9.041765, 10.66308}};
static const float dd_mean[3] = {117.001f, 114.697f, 97.404f};

#define DD_MAX 608
#define DD_RECTS 4 /* non-square networks kept (input_fit: 4 shapes), the least recently used goes */

struct dd {
	const struct dv_host *host;
	const char *model;
	int direct;
	const char *conv;
	network *nets[DD_MAX / 32 + 1]; /* by input size / 32, loaded when first used */
	network *net;                   /* the one of the current pass */
	struct dd_rect { int w, h; network *n; unsigned long used; } rects[DD_RECTS];
	unsigned long clock;
	int fit;                        /* input_fit */
	int size;                       /* configured size, 0 = from the photo */
	double score, iou, min_face, fallback, tile_scale;
	double face_at_input; /* smallest face (px at the input) found reliably */
	int max_tiles;
	float *input;
};

static const struct dv_param dd_params[] = {
	{"conv", DV_PARAM_STRING, 0, 0, DN_CONV_DEFAULT, "how the network runs: onednn (the whole net on oneDNN in its blocked layouts, with our own kernels where they win; the default when built with it), onednn-only (no own kernels), or darknet (its layers, im2col + OpenBLAS gemm)"},
	{"model", DV_PARAM_STRING, 0, 0, "tiny_face_detector", "model name: NAME.cfg and NAME.weights in model_dir"},
	{"input_size", DV_PARAM_INT, 0, 608, "0",
	    "network input in pixels, a multiple of 32 from 128 (face-api's default is 416); 0 = chosen from the photo: its larger side, 160-608 (416 and 608 loaded at start, other sizes on first use)"},
	{"score_threshold", DV_PARAM_DOUBLE, 0, 1, "0.5", "faces scoring at or below this are dropped"},
	{"iou_threshold", DV_PARAM_DOUBLE, 0, 1, "0.4", "non-maximum suppression: overlap above which the weaker box goes"},
	{"min_face", DV_PARAM_DOUBLE, 0, 100000, "0", "smallest face width and height, in image pixels"},
	{"fallback_canvas", DV_PARAM_DOUBLE, 0, 8, "2",
	    "when nothing is found, look again with the photo centred on a canvas this many times larger (tight crops); 0 = off"},
	{"tile_scale", DV_PARAM_DOUBLE, 0, 4, "0",
	    "also search overlapping tiles of the photo enlarged this many times, each at the largest input size: 2 finds faces down to ~25 px (the tiny detector's smallest anchor is ~50), 1 small faces in photos larger than 608; 0 = off. Such faces say found_by.pass \"scale\""},
	{"max_tiles", DV_PARAM_INT, 1, 64, "16", "most tiles per photo for tile_scale; a photo needing more is searched without them (logged)"},
	{"face_at_input", DV_PARAM_DOUBLE, 8, 608, "40",
	    "the smallest face (pixels at the network input) found as reliably as at 608 (make eval-detect): with the host's detect.min_face, input_size 0 picks the smallest of 160, 224, 320, 416, 512 and the photo's own size that keeps faces of min_face this large"},
	{"input_fit", DV_PARAM_BOOL, 0, 0, "true",
	    "with input_size 0, at the largest input (608: camera frames and large photos) and at the smaller one the host's detect.min_face chose, the input takes the photo's shape instead of face-api's padding to a square: 608x480 for a 4:3 frame (21% less work), 608x352 for 16:9 (42% less), 416x320 at 416, either way up; the same pixels, the padding left out (make eval-detect DETECT_B=... compares)"},
	{"direct_depthwise", DV_PARAM_BOOL, 0, 0, "true", "run depthwise convolutions with the direct kernel (the same sums, faster than im2col + gemm)"},
	{NULL, 0, 0, 0, NULL, NULL},
};

static void dd_destroy(void *p)
{
	struct dd *d = p;
	for (size_t i = 0; i < sizeof d->nets / sizeof *d->nets; i++)
		dn_free(d->nets[i]);
	for (int i = 0; i < DD_RECTS; i++)
		dn_free(d->rects[i].n);
	free(d->input);
	free(d);
}

/* The network for an input of Sw x Sh (multiples of 32), loaded on first
 * use: a square one is kept for good, a rectangle among the last DD_RECTS. */
static network *dd_net(struct dd *d, int Sw, int Sh)
{
	network **slot = &d->nets[Sw / 32];
	if (Sw != Sh) {
		struct dd_rect *r = NULL;
		for (int i = 0; i < DD_RECTS && !r; i++)
			if (d->rects[i].n && d->rects[i].w == Sw && d->rects[i].h == Sh)
				r = &d->rects[i];
		if (!r) { /* a free place, or the least recently used */
			r = &d->rects[0];
			for (int i = 1; i < DD_RECTS; i++)
				if (!d->rects[i].n ? r->n != NULL : r->n && d->rects[i].used < r->used)
					r = &d->rects[i];
			if (r->n)
				d->host->log(d->host, DV_LOG_DEBUG, "detector input %dx%d dropped for %dx%d", r->w, r->h, Sw, Sh);
			dn_free(r->n);
			*r = (struct dd_rect){Sw, Sh, NULL, 0};
		}
		r->used = ++d->clock;
		slot = &r->n;
	}
	if (*slot)
		return *slot;
	network *n = dn_load(d->host, d->model, Sw, Sh, NULL);
	if (!n)
		return NULL;
	if (n->outputs != 25 * (Sw / 32) * (Sh / 32)) {
		d->host->error(d->host, "%s does not output a %dx%dx25 grid", d->model, Sw / 32, Sh / 32);
		dn_free(n);
		return NULL;
	}
	if (d->direct)
		dn_direct_depthwise(n);
	if (dn_conv_kernels(d->host, n, d->conv, NULL) < 0) {
		dn_free(n);
		return NULL;
	}
	*slot = n;
	return n;
}

/* face-api's default is 416; "auto" follows the photo: faces in a small
 * photo stay large in the input, and small faces in a large photo keep
 * enough pixels (up to 608). */
static int dd_size_for(const struct dd *d, const struct dv_image *img, int *stepped)
{
	*stepped = 0;
	if (d->size)
		return d->size;
	int mx = img->width > img->height ? img->width : img->height;
	int s = (mx + 16) / 32 * 32;
	s = s < 160 ? 160 : s > DD_MAX ? DD_MAX : s;
	if (img->min_face > 0) {
		/* the host wants faces of min_face pixels and up: the smallest
		 * input that keeps them face_at_input pixels large (a few sizes
		 * only: each is a network of its own, loaded on first use) */
		static const int steps[] = {160, 224, 320, 416, 512};
		double need = mx * d->face_at_input / img->min_face;
		for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
			if (steps[i] >= need && steps[i] < s) {
				*stepped = 1;
				return steps[i];
			}
	}
	return s;
}

static int dd_create(const struct dv_host *h, void **out)
{
	struct dd *d = calloc(1, sizeof *d);
	if (!d)
		return DV_PLUGIN_ENOMEM;
	d->host = h;
	long long size;
	h->param_int(h, "input_size", &size);
	h->param_double(h, "score_threshold", &d->score);
	h->param_double(h, "iou_threshold", &d->iou);
	h->param_double(h, "min_face", &d->min_face);
	h->param_double(h, "fallback_canvas", &d->fallback);
	h->param_double(h, "tile_scale", &d->tile_scale);
	d->face_at_input = 40;
	h->param_double(h, "face_at_input", &d->face_at_input);
	long long mt = 16;
	h->param_int(h, "max_tiles", &mt);
	d->max_tiles = (int)mt;
	h->param_string(h, "model", &d->model);
	if (size % 32 || (size && size < 128)) {
		h->error(h, "input_size %lld is not 0 or a multiple of 32 from 128", size);
		free(d);
		return DV_PLUGIN_EFAIL;
	}
	d->size = (int)size;
	d->direct = 1;
	h->param_bool(h, "direct_depthwise", &d->direct);
	d->fit = 1;
	h->param_bool(h, "input_fit", &d->fit);
	h->param_string(h, "conv", &d->conv);
	d->input = malloc(sizeof *d->input * 3 * DD_MAX * DD_MAX);
	/* load (and so check) the configured size now; for "auto", 608 too, the
	 * size of every photo from 592 px (camera frames): a size loaded on first
	 * use would delay the request that first needs it */
	network *n = d->input ? dd_net(d, d->size ? d->size : 416, d->size ? d->size : 416) : NULL;
	if (n && !d->size && !dd_net(d, DD_MAX, DD_MAX))
		n = NULL;
	if (!n) {
		dd_destroy(d);
		return DV_PLUGIN_EFAIL;
	}
	dn_gemm_check(h, n);
	*out = d;
	return DV_PLUGIN_OK;
}

static double dd_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static double dd_iou(const struct dv_face *a, const struct dv_face *b)
{
	double x0 = fmax(a->x, b->x), y0 = fmax(a->y, b->y);
	double x1 = fmin(a->x + a->w, b->x + b->w), y1 = fmin(a->y + a->h, b->y + b->h);
	double inter = fmax(0, x1 - x0) * fmax(0, y1 - y0);
	double uni = (double)a->w * a->h + (double)b->w * b->h - inter;
	return uni > 0 ? inter / uni : 0;
}

static int dd_by_score(const void *a, const void *b)
{
	const struct dv_face *x = a, *y = b;
	return x->score < y->score ? 1 : x->score > y->score ? -1 : 0;
}

/* One pass of the network on the photo placed at (ox, oy) of an N x N
 * canvas (N = 0: face-api's own padToSquare). Appends the candidates above
 * the score threshold, in photo pixels, to *c. */
static int dd_pass(struct dd *d, const struct dv_image *img, int S, int N, int ox, int oy, int pass, struct dv_face **c,
    int *n, int *cap)
{
	int fit = S <= 0 && N == 0 && d->fit && !d->size, stepped = 0;
	if (S <= 0)
		S = dd_size_for(d, img, &stepped);
	/* the input: S x S, or with input_fit, at the largest input size (camera
	 * frames, large photos: where the detector's time goes) or a size the
	 * host's min_face chose (a camera's frames, all of one size), the
	 * photo's shape: its shorter side fits in 9/16 or 3/4 of S (16:9 and 4:3
	 * frames either way up), rounded up to 32. A few shapes only: each is a
	 * network of its own, and photos of every shape must not rebuild them in
	 * turn. */
	int Sw = S, Sh = S;
	if (fit && (S == DD_MAX || stepped)) {
		static const double ratios[] = {9.0 / 16, 3.0 / 4};
		double mx = img->width > img->height ? img->width : img->height;
		double shorter = floor((img->width < img->height ? img->width : img->height) * S / mx + 0.5);
		for (size_t i = 0; i < sizeof ratios / sizeof *ratios; i++) {
			int r = ((int)ceil(S * ratios[i]) + 31) / 32 * 32;
			if (shorter <= r) {
				if (img->width >= img->height)
					Sh = r;
				else
					Sw = r;
				break;
			}
		}
	}
	int gw = Sw / 32, gh = Sh / 32;
	d->net = dd_net(d, Sw, Sh);
	if (!d->net)
		return DV_PLUGIN_EFAIL;
	double W, H, cfx, cfy;
	if (N == 0) {
		/* face-api's square input (padToSquare, not centred: the photo at
		 * the top left), or with input_fit its first Sh rows (or Sw
		 * columns): the same values, the padding beyond not computed */
		dn_canvas_tensor_rect(img, S, Sw, Sh, img->width > img->height ? img->width : img->height, 0, 0, dd_mean, 255.0f,
		    d->input);
		W = img->width;
		H = img->height;
		/* the unpadded image covers round(W*S/max) of the input's pixels */
		double mx = W > H ? W : H;
		cfx = Sw / floor(W * S / mx + 0.5);
		cfy = Sh / floor(H * S / mx + 0.5);
	} else {
		dn_canvas_tensor(img, S, N, ox, oy, dd_mean, 255.0f, d->input);
		W = H = N;
		cfx = cfy = 1;
	}
	float *o = network_predict(d->net, d->input);
	size_t st = (size_t)gw * gh;
	for (int row = 0; row < gh; row++)
		for (int col = 0; col < gw; col++)
			for (int a = 0; a < 5; a++) {
				const float *v = o + (size_t)(a * 5) * st + (size_t)row * gw + col;
				double score = dd_sigmoid(v[4 * st]);
				if (!(score > d->score))
					continue;
				double cx = (col + dd_sigmoid(v[0])) / gw * cfx, cy = (row + dd_sigmoid(v[st])) / gh * cfy;
				double w = exp(v[2 * st]) * dd_anchors[a][0] / gw * cfx, h = exp(v[3 * st]) * dd_anchors[a][1] / gh * cfy;
				struct dv_face f = {0};
				f.x = (float)((cx - w / 2) * W - ox);
				f.y = (float)((cy - h / 2) * H - oy);
				f.w = (float)(w * W);
				f.h = (float)(h * H);
				f.score = (float)score;
				f.pass = pass;
				f.input_size = S;
				if (f.w < d->min_face || f.h < d->min_face)
					continue;
				if (*n == *cap) {
					*cap = *cap ? *cap * 2 : 32;
					struct dv_face *t = realloc(*c, sizeof *t * (size_t)*cap);
					if (!t) {
						d->host->error(d->host, "out of memory");
						return DV_PLUGIN_ENOMEM;
					}
					*c = t;
				}
				(*c)[(*n)++] = f;
			}
	return DV_PLUGIN_OK;
}

/* The tile pass: the photo cut into overlapping T x T squares (T = S /
 * tile_scale photo pixels, a quarter overlapping), each enlarged to the
 * largest input size S. Only where it adds resolution over the first pass.
 * A face touching a tile's inner edge is left to the neighbour that sees it
 * whole (the overlap exceeds the faces this pass is for). */
static int dd_tiles(struct dd *d, const struct dv_image *img, struct dv_face **c, int *n, int *cap)
{
	const int W = img->width, H = img->height, S = DD_MAX;
	const int T = (int)floor(S / d->tile_scale);
	int stepped;
	double first = (double)dd_size_for(d, img, &stepped) / (W > H ? W : H); /* the first pass's scale */
	if (T < 32 || d->tile_scale <= first * 1.01)
		return DV_PLUGIN_OK;
	const int step = T - T / 4;
	const int nx = W <= T ? 1 : (W - T + step - 1) / step + 1, ny = H <= T ? 1 : (H - T + step - 1) / step + 1;
	if (nx * ny > d->max_tiles) {
		d->host->log(d->host, DV_LOG_DEBUG, "tile pass skipped tiles=%d max_tiles=%d", nx * ny, d->max_tiles);
		return DV_PLUGIN_OK;
	}
	for (int ty = 0; ty < ny; ty++)
		for (int tx = 0; tx < nx; tx++) {
			int x0 = tx * step, y0 = ty * step;
			if (x0 > W - T)
				x0 = W - T > 0 ? W - T : 0;
			if (y0 > H - T)
				y0 = H - T > 0 ? H - T : 0;
			struct dv_image sub = {
			    .pixels = img->pixels + (size_t)y0 * img->stride + (size_t)x0 * img->channels,
			    .width = W - x0 < T ? W - x0 : T, .height = H - y0 < T ? H - y0 : T,
			    .stride = img->stride, .channels = img->channels};
			int before = *n;
			int rc = dd_pass(d, &sub, S, T, 0, 0, DV_PASS_SCALE, c, n, cap);
			if (rc)
				return rc;
			for (int k = before; k < *n;) {
				struct dv_face *f = &(*c)[k];
				int cut = (x0 > 0 && f->x < 2) || (y0 > 0 && f->y < 2) || (x0 + T < W && f->x + f->w > T - 2) ||
				          (y0 + T < H && f->y + f->h > T - 2);
				if (cut) {
					(*c)[k] = (*c)[--*n];
					continue;
				}
				f->x += (float)x0;
				f->y += (float)y0;
				k++;
			}
		}
	return DV_PLUGIN_OK;
}

static int dd_detect(void *p, const struct dv_image *img, struct dv_face *faces, int max_faces, int *n_faces)
{
	struct dd *d = p;
	struct dv_face *c = NULL;
	int n = 0, cap = 0;
	int rc = dd_pass(d, img, 0, 0, 0, 0, DV_PASS_DIRECT, &c, &n, &cap);
	if (rc == 0 && d->tile_scale > 0)
		rc = dd_tiles(d, img, &c, &n, &cap);
	if (rc == 0 && n == 0 && d->fallback > 1) {
		/* a tight crop: the face fills the frame, larger than the largest
		 * anchor; centred on a bigger canvas it is a face the net knows */
		int mx = img->width > img->height ? img->width : img->height;
		int N = (int)ceil(mx * d->fallback);
		rc = dd_pass(d, img, 0, N, (N - img->width) / 2, (N - img->height) / 2, DV_PASS_CANVAS, &c, &n, &cap);
		if (n)
			d->host->log(d->host, DV_LOG_DEBUG, "faces found on the %.1fx canvas faces=%d", d->fallback, n);
	}
	if (rc != 0) {
		free(c);
		return rc;
	}
	if (n > 1)
		qsort(c, (size_t)n, sizeof *c, dd_by_score);
	/* greedy NMS: keep the best, drop those overlapping it by more than iou */
	int kept = 0;
	for (int i = 0; i < n; i++) {
		int drop = 0;
		for (int k = 0; k < kept && !drop; k++)
			drop = dd_iou(&c[i], &c[k]) > d->iou;
		if (!drop)
			c[kept++] = c[i];
	}
	*n_faces = kept < max_faces ? kept : max_faces;
	if (*n_faces)
		memcpy(faces, c, sizeof *faces * (size_t)*n_faces);
	free(c);
	return DV_PLUGIN_OK;
}

static const struct dv_plugin dd_plugin = {
	DV_PLUGIN_HEADER,
	.kind = DV_PLUGIN_DETECTOR,
	.name = "detect_darknet",
	.version = "0.1",
	.description = "face-api TinyFaceDetector on Darknet",
	.params = dd_params,
	.create = dd_create,
	.destroy = dd_destroy,
	.detect = dd_detect,
};

DV_PLUGIN_EXPORT const struct dv_plugin *dv_plugin_entry(void) { return &dd_plugin; }
