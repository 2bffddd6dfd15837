/* dv_model_convert — turns face-api's tfjs weights (weights_manifest.json +
 * .bin shards, uint8-quantized) into Darknet .weights for our hand-written
 * .cfg files, as ../shared/MODELS.md describes: dequantize in double
 * (q*scale + min, stored as float32, as tfjs does), transpose HWIO to
 * Darknet's [out][in][kh][kw], fold the scale layers into the convolutions,
 * write zero biases where tfjs has none, and synthesise the pool
 * convolutions. It checks the byte count of every shard against the manifest.
 *
 *   dv_model_convert NET MODEL_DIR OUT.weights
 *   NET: face_recognition, tiny_face_detector, face_landmark_68, face_landmark_68_tiny
 */
#include "dv_jsonp.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tensor {
	const char *name;
	int shape[4], rank;
	size_t count;
	float *v;
};

static struct tensor *tensors;
static int n_tensors;
static FILE *out;
static size_t written;

static void die(const char *fmt, const char *a)
{
	fprintf(stderr, "dv_model_convert: ");
	fprintf(stderr, fmt, a);
	fprintf(stderr, "\n");
	exit(1);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
		die("cannot read %s", path);
	fclose(f);
	b[n] = 0;
	*len = (size_t)n;
	return b;
}

static const struct tensor *get(const char *name)
{
	for (int i = 0; i < n_tensors; i++)
		if (!strcmp(tensors[i].name, name))
			return &tensors[i];
	die("tensor %s is not in the manifest", name);
	return NULL;
}

static void load(const char *dir, const char *net)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s_model-weights_manifest.json", dir, net);
	size_t mlen;
	char *mtext = slurp(path, &mlen);
	char err[256];
	struct dv_jv *m = dv_jsonp_parse(mtext, mlen, err, sizeof err);
	if (!m || m->type != DV_JARR)
		die("bad manifest: %s", m ? "not an array" : err);
	for (int g = 0; g < m->n; g++) {
		const struct dv_jv *grp = m->items[g];
		const struct dv_jv *paths = dv_jv_get(grp, "paths"), *ws = dv_jv_get(grp, "weights");
		if (!paths || !ws || paths->type != DV_JARR || ws->type != DV_JARR)
			die("bad manifest group in %s", path);
		/* the shards of a group are one byte stream */
		size_t total = 0, cap = 0;
		uint8_t *bytes = NULL;
		for (int p = 0; p < paths->n; p++) {
			char sp[4096];
			snprintf(sp, sizeof sp, "%s/%s", dir, paths->items[p]->str);
			size_t l;
			char *b = slurp(sp, &l);
			if (total + l > cap) {
				cap = total + l;
				bytes = realloc(bytes, cap);
			}
			memcpy(bytes + total, b, l);
			total += l;
			free(b);
		}
		size_t off = 0;
		for (int w = 0; w < ws->n; w++) {
			const struct dv_jv *e = ws->items[w];
			const struct dv_jv *shape = dv_jv_get(e, "shape"), *q = dv_jv_get(e, "quantization");
			tensors = realloc(tensors, sizeof *tensors * (size_t)(n_tensors + 1));
			struct tensor *t = &tensors[n_tensors++];
			memset(t, 0, sizeof *t);
			t->name = strdup(dv_jv_get(e, "name")->str);
			t->count = 1;
			t->rank = shape->n;
			for (int k = 0; k < shape->n && k < 4; k++) {
				t->shape[k] = (int)shape->items[k]->num;
				t->count *= (size_t)t->shape[k];
			}
			t->v = malloc(t->count * sizeof(float));
			if (q) {
				if (strcmp(dv_jv_get(q, "dtype")->str, "uint8"))
					die("unsupported quantization of %s", t->name);
				double scale = dv_jv_get(q, "scale")->num, min = dv_jv_get(q, "min")->num;
				if (off + t->count > total)
					die("the shards are shorter than the manifest (%s)", t->name);
				for (size_t i = 0; i < t->count; i++)
					t->v[i] = (float)(bytes[off + i] * scale + min);
				off += t->count;
			} else {
				if (strcmp(dv_jv_get(e, "dtype")->str, "float32"))
					die("unsupported dtype of %s", t->name);
				if (off + t->count * 4 > total)
					die("the shards are shorter than the manifest (%s)", t->name);
				memcpy(t->v, bytes + off, t->count * 4); /* little-endian, as tfjs writes */
				off += t->count * 4;
			}
		}
		if (off != total) {
			char msg[128];
			snprintf(msg, sizeof msg, "%zu bytes described, %zu in the shards", off, total);
			die("manifest and shards disagree: %s", msg);
		}
		free(bytes);
	}
	dv_jv_free(m);
	free(mtext);
}

static void put(const float *v, size_t n)
{
	if (fwrite(v, sizeof *v, n, out) != n)
		die("write failed: %s", strerror(errno));
	written += n;
}

static void put_zeros(size_t n)
{
	float z = 0;
	for (size_t i = 0; i < n; i++)
		put(&z, 1);
}

/* One conv + bias + scale block: W[kh][kw][cin][cout] (HWIO) becomes
 * biases[cout] then W'[cout][cin][kh][kw], with W' = W*s and b' = b*s + sb
 * folded in double and rounded once. */
static void conv_scale(const char *prefix)
{
	char n[256];
	snprintf(n, sizeof n, "%s/conv/filters", prefix);
	const struct tensor *W = get(n);
	snprintf(n, sizeof n, "%s/conv/bias", prefix);
	const struct tensor *B = get(n);
	snprintf(n, sizeof n, "%s/scale/weights", prefix);
	const struct tensor *S = get(n);
	snprintf(n, sizeof n, "%s/scale/biases", prefix);
	const struct tensor *SB = get(n);
	int kh = W->shape[0], kw = W->shape[1], ci = W->shape[2], co = W->shape[3];
	if ((int)B->count != co || (int)S->count != co || (int)SB->count != co)
		die("shape mismatch in %s", prefix);
	float *b = malloc(sizeof *b * (size_t)co), *w = malloc(sizeof *w * W->count);
	for (int o = 0; o < co; o++) {
		double s = S->v[o];
		b[o] = (float)((double)B->v[o] * s + (double)SB->v[o]);
		for (int i = 0; i < ci; i++)
			for (int y = 0; y < kh; y++)
				for (int x = 0; x < kw; x++)
					w[(((size_t)o * ci + i) * kh + y) * kw + x] =
					    (float)((double)W->v[(((size_t)y * kw + x) * ci + i) * co + o] * s);
	}
	put(b, (size_t)co);
	put(w, W->count);
	free(b);
	free(w);
}

/* The 2x2/2 average pool of the residualDown shortcut as a convolution:
 * weight 0.25 from input channel o to output o; output channels beyond
 * cin are zero (tf's concat of zero channels). groups = cin when equal. */
static void pool_conv(int cin, int cout, int grouped)
{
	put_zeros((size_t)cout); /* biases */
	if (grouped) {
		float q[4] = {0.25f, 0.25f, 0.25f, 0.25f};
		for (int o = 0; o < cout; o++)
			put(q, 4);
		return;
	}
	float *w = calloc((size_t)cout * cin * 4, sizeof *w);
	for (int o = 0; o < cout && o < cin; o++)
		for (int k = 0; k < 4; k++)
			w[((size_t)o * cin + o) * 4 + k] = 0.25f;
	put(w, (size_t)cout * cin * 4);
	free(w);
}

static void residual(const char *name)
{
	char p[128];
	snprintf(p, sizeof p, "%s/conv1", name);
	conv_scale(p);
	snprintf(p, sizeof p, "%s/conv2", name);
	conv_scale(p);
}

static void residual_down(const char *name, int cin, int cout)
{
	residual(name);
	pool_conv(cin, cout, cin == cout);
}

/* Layer order of models/face_recognition.cfg (MODELS.md 3.2). */
static void face_recognition(void)
{
	conv_scale("conv32_down");
	residual("conv32_1");
	residual("conv32_2");
	residual("conv32_3");
	residual_down("conv64_down", 32, 64);
	residual("conv64_1");
	residual("conv64_2");
	residual("conv64_3");
	residual_down("conv128_down", 64, 128);
	residual("conv128_1");
	residual("conv128_2");
	residual_down("conv256_down", 128, 256);
	residual("conv256_1");
	residual("conv256_2");
	residual_down("conv256_down_out", 256, 256);
	/* fc: x . W[256][128], no bias -> connected: bias[128], W^T[128][256] */
	const struct tensor *fc = get("fc");
	put_zeros(128);
	float *w = malloc(sizeof *w * fc->count);
	for (int o = 0; o < 128; o++)
		for (int i = 0; i < 256; i++)
			w[(size_t)o * 256 + i] = fc->v[(size_t)i * 128 + o];
	put(w, fc->count);
	free(w);
}

/* A plain conv: W (HWIO) and bias as they are, transposed. */
static void conv_plain(const char *wname, const char *bname)
{
	const struct tensor *W = get(wname);
	int kh = W->shape[0], kw = W->shape[1], ci = W->shape[2], co = W->shape[3];
	if (bname) {
		const struct tensor *B = get(bname);
		if ((int)B->count != co)
			die("bias shape mismatch for %s", wname);
		put(B->v, B->count);
	} else {
		put_zeros((size_t)co);
	}
	float *w = malloc(sizeof *w * W->count);
	for (int o = 0; o < co; o++)
		for (int i = 0; i < ci; i++)
			for (int y = 0; y < kh; y++)
				for (int x = 0; x < kw; x++)
					w[(((size_t)o * ci + i) * kh + y) * kw + x] = W->v[(((size_t)y * kw + x) * ci + i) * co + o];
	put(w, W->count);
	free(w);
}

/* A depthwise conv [kh][kw][c][1] -> [c][1][kh][kw], zero bias. */
static void conv_depthwise(const char *wname)
{
	const struct tensor *W = get(wname);
	int kh = W->shape[0], kw = W->shape[1], c = W->shape[2];
	if (W->shape[3] != 1)
		die("depthwise multiplier is not 1 in %s", wname);
	put_zeros((size_t)c);
	float *w = malloc(sizeof *w * W->count);
	for (int ch = 0; ch < c; ch++)
		for (int y = 0; y < kh; y++)
			for (int x = 0; x < kw; x++)
				w[((size_t)ch * kh + y) * kw + x] = W->v[((size_t)y * kw + x) * c + ch];
	put(w, W->count);
	free(w);
}

/* TF 'same' with stride 2 pads bottom/right only; Darknet pads symmetrically.
 * The exact equivalent is a 4x4 kernel, stride 2, padding 1, holding the
 * 3x3 kernel in its lower-right corner (MODELS.md section 2). */
static void conv_4x4(const char *wname, const char *bname, int depthwise)
{
	const struct tensor *W = get(wname);
	int ci = W->shape[2], co = depthwise ? ci : W->shape[3];
	if (W->shape[0] != 3 || W->shape[1] != 3)
		die("%s is not 3x3", wname);
	if (bname)
		put(get(bname)->v, (size_t)co);
	else
		put_zeros((size_t)co);
	int per = depthwise ? 1 : ci;
	float *w = calloc((size_t)co * per * 16, sizeof *w);
	for (int o = 0; o < co; o++)
		for (int i = 0; i < per; i++)
			for (int y = 0; y < 3; y++)
				for (int x = 0; x < 3; x++) {
					float v = depthwise ? W->v[((size_t)y * 3 + x) * ci + o]
					                    : W->v[(((size_t)y * 3 + x) * ci + i) * co + o];
					w[(((size_t)o * per + i) * 4 + (y + 1)) * 4 + (x + 1)] = v;
				}
	put(w, (size_t)co * per * 16);
	free(w);
}

/* denseBlock of face-api's landmark nets: conv0 (plain 3x3/2 in the first
 * block, separable with a stride-2 depthwise otherwise), then separable
 * convs 1..n-1; the sums are weightless [shortcut] layers. */
static void dense_block(int b, int nconv, int first)
{
	char dw[64], pw[64], bias[64];
	snprintf(bias, sizeof bias, "dense%d/conv0/bias", b);
	if (first) {
		snprintf(dw, sizeof dw, "dense%d/conv0/filters", b);
		conv_4x4(dw, bias, 0);
	} else {
		snprintf(dw, sizeof dw, "dense%d/conv0/depthwise_filter", b);
		snprintf(pw, sizeof pw, "dense%d/conv0/pointwise_filter", b);
		conv_4x4(dw, NULL, 1);
		conv_plain(pw, bias);
	}
	for (int k = 1; k < nconv; k++) {
		snprintf(dw, sizeof dw, "dense%d/conv%d/depthwise_filter", b, k);
		snprintf(pw, sizeof pw, "dense%d/conv%d/pointwise_filter", b, k);
		snprintf(bias, sizeof bias, "dense%d/conv%d/bias", b, k);
		conv_depthwise(dw);
		conv_plain(pw, bias);
	}
}

/* Layer order of models/face_landmark_68{,_tiny}.cfg (MODELS.md 5.2). */
static void face_landmark(int tiny)
{
	int blocks = tiny ? 3 : 4, nconv = tiny ? 3 : 4;
	for (int b = 0; b < blocks; b++)
		dense_block(b, nconv, b == 0);
	const struct tensor *W = get("fc/weights"), *B = get("fc/bias");
	int in = W->shape[0], o = W->shape[1];
	put(B->v, B->count);
	float *w = malloc(sizeof *w * W->count);
	for (int r = 0; r < o; r++)
		for (int i = 0; i < in; i++)
			w[(size_t)r * in + i] = W->v[(size_t)i * o + r];
	put(w, W->count);
	free(w);
}

/* Layer order of models/tiny_face_detector.cfg (MODELS.md 4.2). */
static void tiny_face_detector(void)
{
	conv_plain("conv0/filters", "conv0/bias");
	for (int i = 1; i <= 5; i++) {
		char dw[64], pw[64], b[64];
		snprintf(dw, sizeof dw, "conv%d/depthwise_filter", i);
		snprintf(pw, sizeof pw, "conv%d/pointwise_filter", i);
		snprintf(b, sizeof b, "conv%d/bias", i);
		conv_depthwise(dw);
		conv_plain(pw, b);
	}
	conv_plain("conv8/filters", "conv8/bias");
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: dv_model_convert NET MODEL_DIR OUT.weights\n"
		                "  NET: face_recognition, tiny_face_detector, face_landmark_68, face_landmark_68_tiny\n");
		return 2;
	}
	const char *net = argv[1];
	if (strcmp(net, "face_recognition") && strcmp(net, "tiny_face_detector") && strcmp(net, "face_landmark_68") &&
	    strcmp(net, "face_landmark_68_tiny"))
		die("unknown net '%s' (face_recognition, tiny_face_detector, face_landmark_68, face_landmark_68_tiny)", net);
	load(argv[2], net);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[3]);
	out = fopen(tmp, "wb");
	if (!out)
		die("cannot write %s", tmp);
	/* header: major 0, minor 2, revision 0, then a 64-bit "seen" */
	int32_t hdr[3] = {0, 2, 0};
	uint64_t seen = 0;
	fwrite(hdr, sizeof hdr, 1, out);
	fwrite(&seen, sizeof seen, 1, out);
	if (!strcmp(net, "face_recognition"))
		face_recognition();
	else if (!strcmp(net, "tiny_face_detector"))
		tiny_face_detector();
	else
		face_landmark(!strcmp(net, "face_landmark_68_tiny"));
	if (fclose(out) != 0 || rename(tmp, argv[3]) != 0)
		die("cannot write %s", argv[3]);
	printf("%s: %zu floats, %zu bytes\n", argv[3], written, 20 + written * 4);
	return 0;
}
