/* dv_int8cal — make calibrate-int8: the embedder's int8 table (or the landmark net's).
 *
 *   dv_int8cal -c CONFIG -t TESTDATA -m MODEL_DIR [-M MODEL] [-s STEP] [-p PERCENTILE] [-o OUT]
 *
 * embed_darknet runs the network in 8-bit integers when model_dir has
 * MODEL.int8.tsv (precision: auto or int8): every layer's output is an
 * integer times a scale, and the scale comes from the largest magnitude that
 * layer's output reaches on real faces. This measures it: every STEP-th
 * photo of TESTDATA/identities.csv (8: ~720 photos of every set) goes
 * through the configured pipeline up to the aligned chips; each chip and its
 * mirror image (what embed.flip feeds the network) go through the network in
 * float on Darknet itself (libdarknet, no oneDNN: the reference), and each
 * layer's largest magnitude is kept per chip. The table gives, per layer,
 * the PERCENTILE-th (100: the largest) of the chips' values, and is stamped
 * with the weights' sha256, which the plugin checks. No date or path: two
 * runs on the same photos give the same file. With -M face_landmark_68 (make
 * calibrate-int8-landmarks) the same for the landmark net: each detected
 * face's crop as landmarks_darknet cuts it from the photo (and its mirror
 * image), 112x112, (x - mean) / 255. (This program links libdarknet
 * itself, before the plugins' libdvdarknet: the plugins warn that Darknet's
 * gemm is not OpenBLAS's, which only the layers oneDNN does not run would
 * use — none of the three nets'.) */
#include "ev_data.h"
#include "dn_common.h"
#include "dv_image.h"
#include "dv_sha256.h"
#include "../util.h"
#include <darknet.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* embed_darknet's normalisation of a 150x150 chip: (x - mean) / 256, planar
 * (landmarks_darknet's of a 112x112 crop: the same mean, / 255) */
static const float chip_mean[3] = {122.782f, 117.001f, 104.298f};

static float maxabs(const float *x, size_t n)
{
	float m = 0;
	for (size_t i = 0; i < n; i++) {
		float v = fabsf(x[i]);
		m = v > m ? v : m;
	}
	return m;
}

static int cmpf(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

static const char *layer_kind(LAYER_TYPE t)
{
	switch (t) {
	case CONVOLUTIONAL: return "conv";
	case MAXPOOL: return "maxpool";
	case AVGPOOL: return "avgpool";
	case SHORTCUT: return "shortcut";
	case ROUTE: return "route";
	case CONNECTED: return "connected";
	default: return "other";
	}
}

/* One input through the network in float: its and every layer's largest
 * magnitude, a row of vals ([input][layer], L a row). */
static void calib_one(network *net, float *in, size_t n_in, float **vals, int *cap, int *nc, int L)
{
	if (*nc == *cap) {
		*cap *= 2;
		*vals = realloc(*vals, sizeof **vals * (size_t)L * *cap);
	}
	network_predict(net, in);
	float *v = *vals + (size_t)*nc * L;
	v[0] = maxabs(in, n_in);
	for (int i = 0; i < net->n; i++)
		v[i + 1] = maxabs(net->layers[i].output, (size_t)net->layers[i].outputs);
	(*nc)++;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *dir = NULL, *mdir = NULL, *model = "face_recognition", *out = NULL;
	int step = 8;
	double pct = 100;
	for (int o; (o = getopt(argc, argv, "c:t:m:M:s:p:o:")) != -1;) {
		switch (o) {
		case 'c': conf = optarg; break;
		case 't': dir = optarg; break;
		case 'm': mdir = optarg; break;
		case 'M': model = optarg; break;
		case 's': step = atoi(optarg); break;
		case 'p': pct = atof(optarg); break;
		case 'o': out = optarg; break;
		default: goto usage;
		}
	}
	if (!conf || !dir || !mdir || step < 1 || !(pct > 0 && pct <= 100)) {
	usage:
		fprintf(stderr, "usage: dv_int8cal -c CONFIG -t TESTDATA -m MODEL_DIR [-M MODEL] [-s STEP] [-p PERCENTILE] [-o OUT]\n");
		return 2;
	}
	char cfg[4096], wts[4096], sum[65];
	snprintf(cfg, sizeof cfg, "%s/%s.cfg", mdir, model);
	snprintf(wts, sizeof wts, "%s/%s.weights", mdir, model);
	if (dv_sha256_file(wts, sum) != 0) {
		fprintf(stderr, "%s: cannot read (make models)\n", wts);
		return 1;
	}
	/* Darknet prints its layer table on stderr: silence it while loading */
	fflush(stderr);
	int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
	if (saved >= 0 && devnull >= 0)
		dup2(devnull, 2);
	network *net = parse_network_cfg(cfg);
	if (net) {
		load_weights(net, wts);
		set_batch_network(net, 1);
	}
	fflush(stderr);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
	if (devnull >= 0)
		close(devnull);
	if (!net) {
		fprintf(stderr, "%s: Darknet cannot parse it\n", cfg);
		return 1;
	}
	/* the embedder (150x150 chips) or the 68-point landmark net (112x112 crops of the boxes) */
	int S = net->w, lm = S == 112;
	if (net->h != S || net->c != 3 || (S != 150 && S != 112)) {
		fprintf(stderr, "%s: neither a 150x150x3 (embedder) nor a 112x112x3 (landmarks) network\n", cfg);
		return 1;
	}
	struct ev_data d;
	struct ev_pipe p;
	if (ev_data_load(dir, &d) != 0 || ev_pipe_open(&p, conf) != 0)
		return 1;
	int L = net->n + 1, cap = 4096, nc = 0, photos = 0;
	float *vals = malloc(sizeof *vals * (size_t)L * cap); /* [chip][layer] */
	float *in = malloc(sizeof *in * 3 * (size_t)S * S);
	for (int k = 0; k < d.n; k += step) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, d.it[k].path);
		size_t n;
		uint8_t *b = ev_slurp(path, &n);
		struct dv_job *j = b ? ev_pipe_run(&p, DV_OP_RECOGNIZE, b, n, NULL) : NULL;
		if (!j) {
			free(b);
			continue;
		}
		int used = 0;
		if (lm) { /* each face's crop as landmarks_darknet makes it, and its mirror image */
			struct dv_img im = {0};
			char err[256];
			if (j->res.faces && dv_image_decode(b, n, 1LL << 40, &im, err, sizeof err) == 0)
				for (int f = 0; f < j->res.n_embeddings; f++) {
					const struct dv_face *fc = &j->res.faces[f];
					double cx = fmax(fc->x, 0), cy = fmax(fc->y, 0);
					double cw = fmin(fc->x + fc->w - cx, im.width - cx), ch = fmin(fc->y + fc->h - cy, im.height - cy);
					int x0 = (int)floor(cx), y0 = (int)floor(cy), w = (int)floor(cw), h = (int)floor(ch);
					if (w < 1 || h < 1)
						continue;
					uint8_t *crop = malloc((size_t)w * h * 3);
					for (int mirror = 0; crop && mirror < 2; mirror++) {
						for (int y = 0; y < h; y++)
							for (int x = 0; x < w; x++)
								memcpy(crop + ((size_t)y * w + (mirror ? w - 1 - x : x)) * 3,
								    im.pixels + ((size_t)(y0 + y) * im.width + x0 + x) * 3, 3);
						struct dv_image v = {.pixels = crop, .width = w, .height = h, .stride = w * 3, .channels = 3};
						dn_batch_tensor(&v, 112, 1, chip_mean, 255.0f, in);
						calib_one(net, in, 3 * 112 * 112, &vals, &cap, &nc, L);
					}
					free(crop);
					used = 1;
				}
			dv_img_fini(&im);
		}
		for (int f = 0; !lm && j->res.chips && j->res.aligned && f < j->res.n_embeddings; f++) {
			if (j->res.aligned[f] != 'd' || j->res.chip_w != 150 || j->res.chip_h != 150)
				continue;
			const uint8_t *chip = j->res.chips + (size_t)f * 150 * 150 * 3;
			for (int mirror = 0; mirror < 2; mirror++) {
				for (int y = 0; y < 150; y++)
					for (int x = 0; x < 150; x++)
						for (int c = 0; c < 3; c++) {
							int sx = mirror ? 149 - x : x;
							in[(size_t)c * 150 * 150 + y * 150 + x] = (chip[(y * 150 + sx) * 3 + c] - chip_mean[c]) / 256.0f;
						}
				calib_one(net, in, 3 * 150 * 150, &vals, &cap, &nc, L);
			}
			used = 1;
		}
		photos += used;
		dv_job_free(j);
		free(b);
		if (isatty(2))
			fprintf(stderr, "\r%d of %d photos, %d chips", k + 1, d.n, nc);
	}
	if (isatty(2))
		fprintf(stderr, "\n");
	if (!nc) {
		fprintf(stderr, "dv_int8cal: no chip\n");
		return 1;
	}
	FILE *f = out ? fopen(out, "w") : stdout;
	if (!f) {
		perror(out);
		return 1;
	}
	fprintf(f, "# dejaview int8 table (make calibrate-int8%s, tests/eval/dv_int8cal.c)\n", lm ? "-landmarks" : "");
	fprintf(f, "# model: %s\n# weights: sha256:%s\n", model, sum);
	fprintf(f, "# data: every %dth photo of identities.csv: %d photos, %d %s (each and its mirror image)\n", step, photos, nc,
	    lm ? "face crops (112x112, as landmarks_darknet cuts them)" : "chips");
	fprintf(f, "# value: the %gth percentile of each chip's largest magnitude, Darknet in float\n", pct);
	fprintf(f, "# layer\ttype\tmax_abs\n");
	float *col = malloc(sizeof *col * (size_t)nc);
	for (int i = 0; i < L; i++) {
		for (int c = 0; c < nc; c++)
			col[c] = vals[(size_t)c * L + i];
		qsort(col, (size_t)nc, sizeof *col, cmpf);
		int at = (int)ceil(pct / 100.0 * nc) - 1;
		at = at < 0 ? 0 : at >= nc ? nc - 1 : at;
		if (i == 0)
			fprintf(f, "input\t-\t%.6g\n", col[at]);
		else
			fprintf(f, "%d\t%s\t%.6g\n", i - 1, layer_kind(net->layers[i - 1].type), col[at]);
	}
	if (out)
		fclose(f);
	fprintf(stderr, "dv_int8cal: %d photos, %d chips%s%s\n", photos, nc, out ? " -> " : "", out ? out : "");
	free(col);
	free(vals);
	free(in);
	ev_pipe_close(&p);
	free_network(net);
	return 0;
}
