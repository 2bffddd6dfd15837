/* check_oracle — our Darknet nets against face-api 1.7.15 itself
 * (tests/oracle/golden.json, written by tests/oracle/oracle.js from the same
 * pixels). Our preprocessing (plugins/darknet/dn_tensor.c) and Darknet with
 * the converted weights must reproduce face-api's raw outputs within
 * MODELS.md's tolerances: descriptor Euclidean < 1e-5, detector raw < 1e-3,
 * landmarks < 1e-3 px. Each net is checked twice: on Darknet's own layers
 * and as the plugins run it by default (dn_onednn.c: oneDNN, with our own
 * kernels where they win), when built with oneDNN.
 *   check_oracle MODEL_DIR IMAGES_DIR golden.json
 * IMAGES_DIR holds NAME.png for every image in the golden file. TAP. */
#include "config.h"
#include "../tap.h"
#include "../util.h"
#include "../../plugins/darknet/dn_common.h"
#include "dv_image.h"
#include "dv_jsonp.h"
#include <darknet.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static const float rec_mean[3] = {122.782f, 117.001f, 104.298f};
static const float det_mean[3] = {117.001f, 114.697f, 97.404f};

/* Parse NAME.cfg from dir, with the input size replaced when size > 0. */
static network *net_load(const char *dir, const char *name, int size)
{
	char cfg[4096], w[4096];
	snprintf(cfg, sizeof cfg, "%s/%s.cfg", dir, name);
	snprintf(w, sizeof w, "%s/%s.weights", dir, name);
	char tmp[] = "/tmp/dv-oracle-cfg-XXXXXX";
	if (size > 0) {
		int fd = mkstemp(tmp);
		FILE *in = fopen(cfg, "r"), *out = fdopen(fd, "w");
		char line[512];
		while (in && out && fgets(line, sizeof line, in)) {
			if (!strncmp(line, "width=", 6))
				fprintf(out, "width=%d\n", size);
			else if (!strncmp(line, "height=", 7))
				fprintf(out, "height=%d\n", size);
			else
				fputs(line, out);
		}
		if (in)
			fclose(in);
		if (out)
			fclose(out);
	}
	network *n = parse_network_cfg(size > 0 ? tmp : cfg);
	if (size > 0)
		unlink(tmp);
	load_weights(n, w);
	set_batch_network(n, 1);
	return n;
}

/* mode 1: as the plugins run it (oneDNN and our kernels) */
static network *net_mode(network *n, int mode)
{
	if (mode == 1) {
		int mine = 0, done = dn_onednn_convs(n, 1, &mine, NULL);
		printf("# %s: %d of %d layers on oneDNN, %d by our kernels\n", n->n == 18 ? "detector" : "net", done, n->n, mine);
	}
	return n;
}

static void net_free(network *n)
{
	dn_onednn_release(n);
	free(n->workspace);
	free(n->seen);
	free(n->t);
	free(n->cost);
	free_network(n);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	const char *models = argv[1], *images = argv[2];
	size_t n;
	char *text = test_slurp(argv[3], &n), err[256];
	struct dv_jv *golden = dv_jsonp_parse(text, n, err, sizeof err);
	const struct dv_jv *imgs = dv_jv_get(golden, "images");
	if (!ok(imgs && imgs->type == DV_JOBJ && imgs->n > 0, "golden file parses (%s)", imgs ? "ok" : err))
		return tap_done();
	printf("# oracle: %s\n", dv_jv_get(golden, "oracle")->str);
#ifdef HAVE_ONEDNN
	const int modes = 2;
#else
	const int modes = 1;
#endif
	static const char *const mname[2] = {"Darknet", "oneDNN"};
	network *rec[2], *lm[2], *lmt[2];
	for (int m = 0; m < modes; m++) {
		rec[m] = net_mode(net_load(models, "face_recognition", 0), m);
		lm[m] = net_mode(net_load(models, "face_landmark_68", 0), m);
		lmt[m] = net_mode(net_load(models, "face_landmark_68_tiny", 0), m);
	}
	float *x = malloc(sizeof *x * 3 * 416 * 416);
	for (int i = 0; i < imgs->n; i++) {
		const char *name = imgs->keys[i];
		const struct dv_jv *g = imgs->items[i];
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.png", images, name);
		uint8_t *png = (uint8_t *)test_slurp(path, &n);
		struct dv_img im;
		if (dv_image_decode(png, n, 1 << 30, &im, err, sizeof err)) {
			ok(0, "%s decodes: %s", name, err);
			continue;
		}
		struct dv_image v = {im.pixels, im.width, im.height, im.width * 3, 3};
		for (int m = 0; m < modes; m++) {
			/* descriptor */
			dn_batch_tensor(&v, 150, 1, rec_mean, 255.0f, x);
			const float *d = network_predict(rec[m], x);
			const struct dv_jv *ref = dv_jv_get(g, "descriptor");
			double s = 0;
			for (int k = 0; k < 128; k++)
				s += (d[k] - ref->items[k]->num) * (d[k] - ref->items[k]->num);
			ok(sqrt(s) < 1e-5, "%s: %s descriptor %.2e from face-api 1.7.15 (< 1e-5)", name, mname[m], sqrt(s));

			/* landmarks, compared in image pixels */
			static const char *const lk[2] = {"landmarks68", "landmarks68tiny"};
			network *lnets[2] = {lm[m], lmt[m]};
			for (int t = 0; t < 2; t++) {
				dn_batch_tensor(&v, 112, 1, rec_mean, 255.0f, x);
				const float *o = network_predict(lnets[t], x);
				ref = dv_jv_get(g, lk[t]);
				double worst = 0, scale = (double)(im.width > im.height ? im.width : im.height);
				for (int k = 0; k < 136; k++)
					worst = fmax(worst, fabs(o[k] - ref->items[k]->num) * scale);
				ok(worst < 1e-3, "%s: %s %s within %.2e px of face-api 1.7.15 (< 1e-3)", name, mname[m], lk[t], worst);
			}

			/* detector raw grids, NHWC in the golden file, CHW in Darknet */
			for (int size = 224; size <= 416; size += 96) {
				network *det = net_mode(net_load(models, "tiny_face_detector", size), m);
				dn_batch_tensor(&v, size, 0, det_mean, 255.0f, x);
				const float *o = network_predict(det, x);
				char key[32];
				snprintf(key, sizeof key, "detector%d", size);
				ref = dv_jv_get(g, key);
				int gs = size / 32;
				double worst = 0;
				for (int p = 0; p < gs * gs; p++)
					for (int ch = 0; ch < 25; ch++)
						worst = fmax(worst, fabs(o[(size_t)ch * gs * gs + p] - ref->items[p * 25 + ch]->num));
				ok(worst < 1e-3, "%s: %s detector@%d raw grid within %.2e of face-api 1.7.15 (< 1e-3)", name, mname[m],
				    size, worst);
				net_free(det);
			}
		}
		dv_img_fini(&im);
		free(png);
	}
#ifdef HAVE_ONEDNN
	/* the faces of a photo go through landmarks and embedding as one batch:
	 * every golden image in one pass, each output at the same tolerance */
	int nb = imgs->n < DN_BATCH ? imgs->n : DN_BATCH;
	float *bx = malloc(sizeof *bx * 3 * 150 * 150 * (size_t)nb), *by = malloc(sizeof *by * 136 * (size_t)nb);
	float *lx = malloc(sizeof *lx * 3 * 112 * 112 * (size_t)nb);
	double scale[DN_BATCH];
	for (int i = 0; i < nb; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.png", images, imgs->keys[i]);
		uint8_t *png = (uint8_t *)test_slurp(path, &n);
		struct dv_img im;
		if (dv_image_decode(png, n, 1 << 30, &im, err, sizeof err))
			return tap_done();
		struct dv_image v = {im.pixels, im.width, im.height, im.width * 3, 3};
		dn_batch_tensor(&v, 150, 1, rec_mean, 255.0f, bx + (size_t)i * 3 * 150 * 150);
		dn_batch_tensor(&v, 112, 1, rec_mean, 255.0f, lx + (size_t)i * 3 * 112 * 112);
		scale[i] = im.width > im.height ? im.width : im.height;
		dv_img_fini(&im);
		free(png);
	}
	ok(dn_onednn_batch(rec[1], nb, bx, by) == 0, "the ResNet runs %d faces in one oneDNN pass", nb);
	double worst = 0;
	for (int i = 0; i < nb; i++) {
		const struct dv_jv *ref = dv_jv_get(imgs->items[i], "descriptor");
		double s = 0;
		for (int k = 0; k < 128; k++)
			s += (by[i * 128 + k] - ref->items[k]->num) * (by[i * 128 + k] - ref->items[k]->num);
		worst = fmax(worst, sqrt(s));
	}
	ok(worst < 1e-5, "batched: every descriptor within %.2e of face-api 1.7.15 (< 1e-5)", worst);
	ok(dn_onednn_batch(lm[1], nb, lx, by) == 0, "the 68-point net runs %d faces in one oneDNN pass", nb);
	worst = 0;
	for (int i = 0; i < nb; i++) {
		const struct dv_jv *ref = dv_jv_get(imgs->items[i], "landmarks68");
		for (int k = 0; k < 136; k++)
			worst = fmax(worst, fabs(by[i * 136 + k] - ref->items[k]->num) * scale[i]);
	}
	ok(worst < 1e-3, "batched: every landmark within %.2e px of face-api 1.7.15 (< 1e-3)", worst);
	free(bx);
	free(by);
	free(lx);
#endif
	free(x);
	for (int m = 0; m < modes; m++) {
		net_free(rec[m]);
		net_free(lm[m]);
		net_free(lmt[m]);
	}
	dv_jv_free(golden);
	free(text);
	return tap_done();
}
