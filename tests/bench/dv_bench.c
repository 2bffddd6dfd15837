/* dv_bench — per-stage latency of the face pipeline (make bench).
 *
 *   dv_bench PLUGIN_DIR MODEL_DIR PHOTO [RUNS]
 *
 * Prints, for this machine and one core: the peak of a large single-thread
 * sgemm (OpenBLAS), then per stage the median and p95 over RUNS (>= 50) on
 * real photos, for Darknet as shipped (its naive gemm loop), with OpenBLAS,
 * and with OpenBLAS plus the direct depthwise kernel; for each network its
 * MFLOP (counted from the cfg) and the GFLOP/s achieved. Plugins are loaded
 * through the daemon's loader; libdarknet is never linked here, so the
 * plugins' gemm replacement binds as in the daemon. */
#include "dv_align.h"
#include "dv_conf.h"
#include "dv_gen.h"
#include "dv_image.h"
#include "dv_log.h"
#include "../util.h"
#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

/* MFLOP of a Darknet cfg (1 multiply-add = 2 FLOP), walking the layers we
 * use: convolutional, maxpool, route, shortcut, avgpool, connected. */
static double cfg_mflop(const char *path, int in_w, int in_h)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NAN;
	int w = in_w, h = in_h, c = 3, sec = 0;
	int hw[128], hh[128], hc[128], n = 0;
	int filters = 1, size = 1, stride = 1, pad = 0, groups = 1, out = 0, from = 0;
	double flop = 0;
	char line[256];
	int done = 0;
	while (!done) {
		int eof = !fgets(line, sizeof line, f);
		if (eof || line[0] == '[') {
			/* close the previous section */
			if (sec == 1) { /* conv */
				int ow = (w + 2 * pad - size) / stride + 1, oh = (h + 2 * pad - size) / stride + 1;
				if (size == 1) { ow = w; oh = h; }
				flop += 2.0 * ow * oh * filters * (c / groups) * size * size;
				w = ow; h = oh; c = filters;
			} else if (sec == 2) { /* maxpool */
				w = (w + pad - size) / stride + 1;
				h = (h + pad - size) / stride + 1;
			} else if (sec == 3) { /* route */
				w = hw[from]; h = hh[from]; c = hc[from];
			} else if (sec == 5) { /* avgpool */
				flop += (double)w * h * c;
				w = h = 1;
			} else if (sec == 6) { /* connected */
				flop += 2.0 * w * h * c * out;
				w = h = 1; c = out;
			}
			if (sec >= 1 && n < 128) {
				hw[n] = w; hh[n] = h; hc[n] = c; n++;
			}
			if (eof)
				break;
			sec = !strncmp(line, "[convolutional]", 15) ? 1 : !strncmp(line, "[maxpool]", 9) ? 2
			    : !strncmp(line, "[route]", 7) ? 3 : !strncmp(line, "[shortcut]", 10) ? 4
			    : !strncmp(line, "[avgpool]", 9) ? 5 : !strncmp(line, "[connected]", 11) ? 6 : 0;
			filters = size = stride = groups = 1; pad = 0; out = 0; from = 0;
			if (sec == 2) pad = -1;
			continue;
		}
		sscanf(line, "filters=%d", &filters);
		sscanf(line, "size=%d", &size);
		sscanf(line, "stride=%d", &stride);
		sscanf(line, "padding=%d", &pad);
		sscanf(line, "groups=%d", &groups);
		sscanf(line, "output=%d", &out);
		sscanf(line, "layers=%d", &from);
		if (sec == 2 && pad < 0 && !strncmp(line, "size=", 5))
			pad = size - 1;
	}
	fclose(f);
	return flop / 1e6;
}

struct stat_ms { double med, p95; };

static struct stat_ms measure(int runs, void (*fn)(void *), void *arg)
{
	double *t = malloc(sizeof *t * (size_t)runs);
	fn(arg); /* warm up */
	for (int i = 0; i < runs; i++) {
		double t0 = test_now_ms();
		fn(arg);
		t[i] = test_now_ms() - t0;
	}
	qsort(t, (size_t)runs, sizeof *t, test_cmpd);
	struct stat_ms s = {t[runs / 2], t[(int)(runs * 0.95) < runs ? (int)(runs * 0.95) : runs - 1]};
	free(t);
	return s;
}

static const char *g_plugin_dir, *g_model_dir;

static struct dv_instance *load(const char *role, const char *so, const char *params, struct dv_gen **gout)
{
	char text[2048];
	snprintf(text, sizeof text, "plugin_dir: \"%s\"\nmodel_dir: \"%s\"\nplugins:\n  %s: {so: %s%s%s}\n", g_plugin_dir,
	    g_model_dir, role, so, params ? ", " : "", params ? params : "");
	struct dv_conf_errs e = {0};
	struct dv_conf *c = dv_conf_parse("bench.yaml", text, strlen(text), &e);
	struct dv_gen *g = NULL;
	if (e.n || dv_gen_build(c, 1, &g, &e) != 0) {
		for (int i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msg[i]);
		exit(1);
	}
	int r = !strcmp(role, "detector") ? DV_ROLE_DETECTOR : !strcmp(role, "landmarker") ? DV_ROLE_LANDMARKER : DV_ROLE_EMBEDDER;
	struct dv_instance *in;
	char err[512];
	if (dv_instance_new(g->mods[r], &in, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	dv_conf_errs_fini(&e);
	*gout = g;
	return in;
}

struct ctx {
	struct dv_instance *in;
	struct dv_image img, chip;
	struct dv_face face;
	struct dv_face faces[8]; /* the photo's faces, for the batched rows */
	int nfaces;
	struct dv_image chips[8];
	float embs[8 * 128];
	const uint8_t *bytes;
	size_t len;
	float emb[128];
	uint8_t chipbuf[150 * 150 * 3];
};

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);

/* oneDNN's sgemm (column-major, Fortran-style): dnnl_sgemm(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) */
typedef int (*dnnl_sgemm_fn)(char, char, long, long, long, float, const float *, long, const float *, long, float, float *,
    long);

typedef int (*dnnl_gemm8_fn)(char, char, char, long, long, long, float, const uint8_t *, long, uint8_t, const int8_t *,
    long, int8_t, float, int32_t *, long, const int32_t *);

/* GFLOP/s (a multiply-add is 2) of the best of 30 single-thread 1024^3
 * gemm runs: float with OpenBLAS (sgemm) or oneDNN (dsgemm, whose kernels are
 * picked for this CPU at run time), or u8 x s8 -> s32 with oneDNN (g8, VNNI
 * where the CPU has it: the peak the embedder's int8 rows are compared
 * with, in GOP/s); 0 when the library refuses */
static double gemm_peak(sgemm_fn sgemm, dnnl_sgemm_fn dsgemm, dnnl_gemm8_fn g8)
{
	const int N = 1024;
	float *A = calloc((size_t)N * N, 4), *B = calloc((size_t)N * N, 4), *C = calloc((size_t)N * N, 4);
	uint8_t *A8 = calloc((size_t)N * N, 1);
	int8_t *B8 = calloc((size_t)N * N, 1);
	int32_t *C8 = (int32_t *)C, co = 0;
	for (int i = 0; i < N * N; i++) {
		A[i] = (float)(i % 7) * 0.1f;
		B[i] = (float)(i % 5) * 0.1f;
		A8[i] = (uint8_t)(i % 7);
		B8[i] = (int8_t)(i % 5 - 2);
	}
	double best = 1e9;
	for (int r = 0; r < 30; r++) {
		double t0 = test_now_ms();
		if (sgemm)
			sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, A, N, B, N, 0, C, N);
		else if (dsgemm ? dsgemm('N', 'N', N, N, N, 1, A, N, B, N, 0, C, N) != 0
		                : g8('N', 'N', 'F', N, N, N, 1, A8, N, 0, B8, N, 0, 0, C8, N, &co) != 0)
			break;
		double t = test_now_ms() - t0;
		if (t < best)
			best = t;
	}
	free(A);
	free(B);
	free(C);
	free(A8);
	free(B8);
	return best < 1e9 ? 2.0 * N * N * N / (best / 1e3) / 1e9 : 0;
}

static void run_decode(void *a)
{
	struct ctx *c = a;
	struct dv_img im;
	char err[256];
	dv_image_decode(c->bytes, c->len, 1LL << 30, &im, err, sizeof err);
	dv_img_fini(&im);
}
static void run_detect(void *a)
{
	struct ctx *c = a;
	struct dv_face f[64];
	int n;
	c->in->mod->desc->detect(c->in->inst, &c->img, f, 64, &n);
}
static void run_landmarks(void *a)
{
	struct ctx *c = a;
	struct dv_face f = c->face;
	c->in->mod->desc->landmarks(c->in->inst, &c->img, &f, 1);
}
static void run_landmarks_all(void *a)
{
	struct ctx *c = a;
	struct dv_face f[8];
	memcpy(f, c->faces, sizeof *f * (size_t)c->nfaces);
	c->in->mod->desc->landmarks(c->in->inst, &c->img, f, c->nfaces);
}
static void run_embed_all(void *a)
{
	struct ctx *c = a;
	c->in->mod->desc->embed(c->in->inst, c->chips, c->nfaces, c->embs);
}
static void run_align(void *a)
{
	struct ctx *c = a;
	struct dv_align_fit fit;
	dv_align_fit68(c->face.landmarks, 0.25, 150, &fit);
	dv_align_chip(c->img.pixels, c->img.width, c->img.height, c->img.stride, &fit, 150, c->chipbuf);
}
static void run_embed(void *a)
{
	struct ctx *c = a;
	c->in->mod->desc->embed(c->in->inst, &c->chip, 1, c->emb);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: dv_bench PLUGIN_DIR MODEL_DIR PHOTO [RUNS]\n");
		return 2;
	}
	/* one core, as a worker runs: oneDNN's OpenMP and OpenBLAS each one
	 * thread (set before the plugins bring them in, as dejaviewd does) */
	setenv("OMP_NUM_THREADS", "1", 1);
	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	g_plugin_dir = argv[1];
	g_model_dir = argv[2];
	int runs = argc > 4 ? atoi(argv[4]) : 50;
	if (runs < 1)
		runs = 50;
	dv_log_set_level(DV_LOG_LVL_WARN);
	size_t plen;
	uint8_t *photo = (uint8_t *)test_slurp(argv[3], &plen);
	struct dv_img im;
	char err[256];
	if (dv_image_decode(photo, plen, 1LL << 30, &im, err, sizeof err)) {
		fprintf(stderr, "%s: %s\n", argv[3], err);
		return 1;
	}
	struct ctx c = {.bytes = photo, .len = plen};
	c.img = (struct dv_image){.pixels = im.pixels, .width = im.width, .height = im.height, .stride = im.width * 3, .channels = 3};

	void (*set_naive)(int) = NULL;
	/* libdvdarknet, and OpenBLAS with it, load with the first Darknet plugin
	 * (after the loader has named OpenBLAS's core: dv_plugin_blas_core) */
	struct dv_gen *g0;
	struct dv_instance *probe = load("embedder", "embed_darknet", "conv: darknet", &g0);
	void *lib = dlopen("libdvdarknet.so", RTLD_NOW | RTLD_NOLOAD);
	if (lib)
		*(void **)&set_naive = dlsym(lib, "dn_gemm_set_naive");
	if (!set_naive) {
		fprintf(stderr, "dv_bench: libdvdarknet's dn_gemm_set_naive not found\n");
		return 1;
	}
	dv_instance_free(probe);
	sgemm_fn sgemm = NULL;
	void (*set_threads)(int) = NULL;
	char *(*corename)(void) = NULL;
	void *ob = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD);
	if (ob) {
		*(void **)&sgemm = dlsym(ob, "cblas_sgemm");
		*(void **)&set_threads = dlsym(ob, "openblas_set_num_threads");
		*(void **)&corename = dlsym(ob, "openblas_get_corename");
	}
	if (!sgemm || !set_threads || !corename) {
		fprintf(stderr, "dv_bench: OpenBLAS (loaded by the plugins) not found\n");
		return 1;
	}

	/* peak: the fastest large single-thread sgemm this machine has — OpenBLAS
	 * or oneDNN (loaded by the plugins), the best of 30 each (measured again
	 * at the end: a shared machine's speed drifts). %peak is against it, so
	 * it stays under 100% whichever library a stage uses. */
	set_threads(1);
	double peak_ob = gemm_peak(sgemm, NULL, NULL), peak_dnnl = 0;
	dnnl_sgemm_fn dsgemm = NULL;
	void *dl = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_NOLOAD);
	if (dl)
		*(void **)&dsgemm = dlsym(dl, "dnnl_sgemm");
	if (dsgemm)
		peak_dnnl = gemm_peak(NULL, dsgemm, NULL);
	dnnl_gemm8_fn dgemm8 = NULL;
	if (dl)
		*(void **)&dgemm8 = dlsym(dl, "dnnl_gemm_u8s8s32");
	double peak8 = dgemm8 ? gemm_peak(NULL, NULL, dgemm8) : 0;
	double peak = peak_dnnl > peak_ob ? peak_dnnl : peak_ob;
	char cpu[256];
	test_cpu_name(cpu, sizeof cpu);
	printf("dejaview bench: %s (%dx%d), %d runs per cell, one core of %s\n", argv[3], im.width, im.height, runs, cpu);
	char dn[64] = "not loaded";
	if (dsgemm)
		snprintf(dn, sizeof dn, "%.1f", peak_dnnl);
	printf("peak: the fastest single-thread sgemm 1024x1024x1024, best of 30: %.1f GFLOP/s (OpenBLAS, %s kernels: %.1f; "
	       "oneDNN: %s)\n", peak, corename(), peak_ob, dn);
	if (peak8 > 0)
		printf("int8 peak (the int8 rows' %%peak): oneDNN's single-thread u8 x s8 gemm 1024x1024x1024, best of 30: %.1f GOP/s\n",
		    peak8);
	printf("\n");

	printf("%-22s %-26s %9s %9s %8s %8s %7s\n", "stage", "variant", "median_ms", "p95_ms", "MFLOP", "GFLOP/s", "%peak");
	struct stat_ms s = measure(runs, run_decode, &c);
	printf("%-22s %-26s %9.2f %9.2f %8s %8s %7s\n", "decode (JPEG)", "libjpeg-turbo", s.med, s.p95, "-", "-", "-");

	static const char *const vname[5] = {"Darknet as shipped", "+ OpenBLAS gemm", "+ OpenBLAS + direct dw", "oneDNN, whole net",
	    "oneDNN only, no own kernel"};
	char cfg[4096];
	/* detector at 320 and 416 */
	for (int size = 320; size <= 416; size += 96) {
		char params[128], label[64];
		snprintf(cfg, sizeof cfg, "%s/tiny_face_detector.cfg", g_model_dir);
		double mf = cfg_mflop(cfg, size, size);
		snprintf(label, sizeof label, "detect @%d", size);
		/* the detector's last row: oneDNN without our fused kernels, to show what they add */
		for (int v = 0; v < 5; v++) {
			snprintf(params, sizeof params, "input_size: %d, direct_depthwise: %s, conv: %s", size, v == 2 ? "true" : "false",
			    v == 3 ? "onednn" : v == 4 ? "onednn-only" : "darknet");
			struct dv_gen *g;
			c.in = load("detector", "detect_darknet", params, &g);
			set_naive(v == 0);
			s = measure(runs, run_detect, &c);
			printf("%-22s %-26s %9.2f %9.2f %8.1f %8.2f %6.1f%%\n", label, vname[v], s.med, s.p95, mf, mf / s.med,
			    100 * mf / s.med / peak);
			dv_instance_free(c.in);
			dv_gen_unref(g);
		}
	}
	/* the detector as a request without detect.min_face runs it: input_size 0 (the photo's own size,
	 * up to 608, on the frame's shape), conv onednn with our kernels */
	{
		int iw = im.width >= im.height ? 608 : 0, ih = im.width >= im.height ? 0 : 608;
		/* input_fit's shapes: 608 on the longer side, the other 480 (to 3:4) or 352 (to 9:16) */
		double r = im.width >= im.height ? (double)im.height / im.width : (double)im.width / im.height;
		int other = r <= 9.0 / 16 ? 352 : r <= 0.75 ? 480 : 608;
		if (im.width < 608 && im.height < 608)
			iw = ih = 0;
		if (iw || ih) {
			iw = iw ? iw : other;
			ih = ih ? ih : other;
			snprintf(cfg, sizeof cfg, "%s/tiny_face_detector.cfg", g_model_dir);
			double mf = cfg_mflop(cfg, iw, ih);
			char label[64];
			snprintf(label, sizeof label, "detect @%dx%d", iw, ih);
			struct dv_gen *g;
			c.in = load("detector", "detect_darknet", "input_size: 0", &g);
			set_naive(0);
			s = measure(runs, run_detect, &c);
			printf("%-22s %-26s %9.2f %9.2f %8.1f %8.2f %6.1f%%\n", label, "input 0, no min_face", s.med, s.p95, mf,
			    mf / s.med, 100 * mf / s.med / peak);
			dv_instance_free(c.in);
			dv_gen_unref(g);
		}
	}
	/* one face for the per-face stages: the largest detected */
	{
		struct dv_gen *g;
		c.in = load("detector", "detect_darknet", NULL, &g);
		set_naive(0);
		struct dv_face f[64];
		int n = 0;
		c.in->mod->desc->detect(c.in->inst, &c.img, f, 64, &n);
		if (n == 0) {
			fprintf(stderr, "no face in %s\n", argv[3]);
			return 1;
		}
		c.face = f[0];
		c.nfaces = n < 8 ? n : 8;
		memcpy(c.faces, f, sizeof *f * (size_t)c.nfaces);
		dv_instance_free(c.in);
		dv_gen_unref(g);
	}
	static const char *const lm[2] = {"face_landmark_68", "face_landmark_68_tiny"};
	for (int m = 0; m < 2; m++) {
		snprintf(cfg, sizeof cfg, "%s/%s.cfg", g_model_dir, lm[m]);
		double mf = cfg_mflop(cfg, 112, 112);
		/* v 4: int8 (what precision auto runs with the shipped table; the 68-point net only) */
		for (int v = 0; v < 5; v++) {
			if (v == 4 && (m || peak8 <= 0))
				break;
			char params[160];
			snprintf(params, sizeof params, "model: %s, direct_depthwise: %s, conv: %s, precision: %s", lm[m],
			    v == 2 ? "true" : "false", v >= 3 ? "onednn" : "darknet", v == 4 ? "int8" : "f32");
			struct dv_gen *g;
			c.in = load("landmarker", "landmarks_darknet", params, &g);
			set_naive(v == 0);
			s = measure(runs, run_landmarks, &c);
			printf("%-22s %-26s %9.2f %9.2f %8.1f %8.2f %6.1f%%\n", m ? "landmarks (tiny)" : "landmarks (68)",
			    v == 4 ? "oneDNN int8 (default)" : vname[v], s.med, s.p95, mf, mf / s.med,
			    100 * mf / s.med / (v == 4 ? peak8 : peak));
			if (m == 0 && v == 2)
				c.in->mod->desc->landmarks(c.in->inst, &c.img, &c.face, 1);
			dv_instance_free(c.in);
			dv_gen_unref(g);
		}
	}
	s = measure(runs, run_align, &c);
	printf("%-22s %-26s %9.2f %9.2f %8s %8s %7s\n", "align (dlib chip)", "core/dv_align.c", s.med, s.p95, "-", "-", "-");
	c.chip = (struct dv_image){.pixels = c.chipbuf, .width = 150, .height = 150, .stride = 450, .channels = 3};
	snprintf(cfg, sizeof cfg, "%s/face_recognition.cfg", g_model_dir);
	double mf = cfg_mflop(cfg, 150, 150);
	for (int v = 0; v < 4; v++) {
		struct dv_gen *g;
		/* float on oneDNN, then int8 (what precision auto runs with the shipped table) */
		if (v == 3 && peak8 <= 0)
			break;
		c.in = load("embedder", "embed_darknet",
		    v == 3 ? "conv: onednn, precision: int8" : v == 2 ? "conv: onednn, precision: f32" : "conv: darknet", &g);
		set_naive(v == 0);
		s = measure(runs, run_embed, &c);
		double pk = v == 3 ? peak8 : peak;
		printf("%-22s %-26s %9.2f %9.2f %8.1f %8.2f %6.1f%%\n", "embed (per face)",
		    v == 3 ? "oneDNN int8 (default)" : vname[v == 2 ? 3 : v], s.med, s.p95, mf, mf / s.med, 100 * mf / s.med / pk);
		dv_instance_free(c.in);
		dv_gen_unref(g);
	}
	set_naive(0);
	/* all the photo's faces in one call: one pass of the batch, or one by one */
	if (c.nfaces > 1) {
		for (int i = 0; i < c.nfaces; i++)
			c.chips[i] = c.chip;
		snprintf(cfg, sizeof cfg, "%s/face_landmark_68.cfg", g_model_dir);
		double lmf = cfg_mflop(cfg, 112, 112);
		static const int bs[] = {1, 2, 4, 8};
		/* the landmarker as shipped: int8 where its table is */
		char lmt[4096];
		snprintf(lmt, sizeof lmt, "%s/face_landmark_68.int8.tsv", g_model_dir);
		int lm8 = access(lmt, R_OK) == 0;
		for (int b = 0; b < 4; b++) {
			char params[64], label[64];
			snprintf(params, sizeof params, "batch: %d", bs[b]);
			/* the embedder and the landmarker as shipped: int8 where the table is (%peak then against the int8 peak) */
			if (bs[b] == 1)
				snprintf(label, sizeof label, "%d faces, one by one", c.nfaces);
			else
				snprintf(label, sizeof label, "%d faces, batches of %d", c.nfaces, bs[b]);
			static const char *const role[2] = {"landmarker", "embedder"}, *const so[2] = {"landmarks_darknet", "embed_darknet"},
			                         *const name[2] = {"landmarks per face", "embed per face"};
			void (*const fn[2])(void *) = {run_landmarks_all, run_embed_all};
			const double mflop[2] = {lmf, mf};
			for (int k = 0; k < 2; k++) {
				struct dv_gen *g;
				c.in = load(role[k], so[k], params, &g);
				struct dv_embedder_info ei = {0};
				int int8 = k == 1 ? c.in->mod->desc->embedder_info(c.in->inst, &ei) == DV_PLUGIN_OK &&
				                        strstr(ei.fingerprint, "/int8") && peak8 > 0
				                  : lm8 && peak8 > 0;
				s = measure(runs, fn[k], &c);
				char lab[80];
				/* "6 faces, batches of 2" -> "6 faces, int8, batches of 2" */
				const char *rest = strchr(label, ',');
				snprintf(lab, sizeof lab, "%.*s%s%s", rest && int8 ? (int)(rest - label) : (int)strlen(label), label,
				    int8 ? ", int8" : "", rest && int8 ? rest : "");
				printf("%-22s %-26s %9.2f %9.2f %8.1f %8.2f %6.1f%%\n", name[k], lab, s.med / c.nfaces, s.p95 / c.nfaces,
				    mflop[k], mflop[k] * c.nfaces / s.med, 100 * mflop[k] * c.nfaces / s.med / (int8 ? peak8 : peak));
				dv_instance_free(c.in);
				dv_gen_unref(g);
			}
		}
	}
	printf("\n(the recognition net has no depthwise layers)\n");
	double again = gemm_peak(sgemm, NULL, NULL), again_dnnl = dsgemm ? gemm_peak(NULL, dsgemm, NULL) : 0;
	if (again_dnnl > again)
		again = again_dnnl;
	printf("peak measured again at the end: %.1f GFLOP/s%s\n", again,
	    fabs(again - peak) > 0.1 * peak ? " (the machine's speed changed during the run: read %peak with care)" : "");
	dv_gen_unref(g0);
	dv_img_fini(&im);
	free(photo);
	return 0;
}
