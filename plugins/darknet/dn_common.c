/* dn_common.c — what every Darknet plugin needs: verified model loading and
 * face-api's exact preprocessing. Runs in the calling worker thread. */
#include "dn_common.h"
#include <darknet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- SHA-256
 * FIPS 180-4, written from the specification. */
static const uint32_t dn_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

struct dn_sha {
	uint32_t h[8];
	uint8_t buf[64];
	size_t nbuf;
	uint64_t bits;
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void dn_sha_block(struct dn_sha *s, const uint8_t *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + dn_k[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void dn_sha_init(struct dn_sha *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, iv, sizeof iv);
	s->nbuf = 0;
	s->bits = 0;
}

static void dn_sha_update(struct dn_sha *s, const uint8_t *p, size_t n)
{
	s->bits += (uint64_t)n * 8;
	while (n) {
		size_t take = 64 - s->nbuf < n ? 64 - s->nbuf : n;
		memcpy(s->buf + s->nbuf, p, take);
		s->nbuf += take;
		p += take;
		n -= take;
		if (s->nbuf == 64) {
			dn_sha_block(s, s->buf);
			s->nbuf = 0;
		}
	}
}

static void dn_sha_final(struct dn_sha *s, uint8_t out[32])
{
	uint64_t bits = s->bits;
	uint8_t pad = 0x80, zero = 0;
	dn_sha_update(s, &pad, 1);
	while (s->nbuf != 56)
		dn_sha_update(s, &zero, 1);
	uint8_t len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	dn_sha_update(s, len, 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

int dn_sha256_file(const char *path, char hex[65])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	struct dn_sha s;
	dn_sha_init(&s);
	uint8_t buf[65536];
	size_t r;
	while ((r = fread(buf, 1, sizeof buf, f)) > 0)
		dn_sha_update(&s, buf, r);
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return -1;
	uint8_t d[32];
	dn_sha_final(&s, d);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return 0;
}

/* ---------------------------------------------------------------- loading */

/* The value recorded for name in DIR/list ("VALUE NAME" lines). */
static int dn_lookup(const char *dir, const char *listfile, const char *name, char *val, size_t vlen)
{
	char path[4096], line[512];
	snprintf(path, sizeof path, "%s/%s", dir, listfile);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int found = -1;
	while (fgets(line, sizeof line, f)) {
		char v[128], n[256];
		if (sscanf(line, "%127s %255s", v, n) == 2 && !strcmp(n, name)) {
			snprintf(val, vlen, "%s", v);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

static pthread_mutex_t dn_stderr_lock = PTHREAD_MUTEX_INITIALIZER;

struct network *dn_load(const struct dv_host *h, const char *net, int width, int height, char verified[65])
{
	char cfg[4096], weights[4096], dir[4096], wname[256];
	snprintf(wname, sizeof wname, "%s.weights", net);
	char cname[256];
	snprintf(cname, sizeof cname, "%s.cfg", net);
	if (h->model_path(h, cname, cfg, sizeof cfg) || h->model_path(h, wname, weights, sizeof weights) ||
	    h->model_path(h, ".", dir, sizeof dir)) {
		h->error(h, "model path too long");
		return NULL;
	}
	struct stat st;
	if (stat(cfg, &st) != 0) {
		h->error(h, "%s: %s (run make models)", cfg, strerror(errno));
		return NULL;
	}
	if (stat(weights, &st) != 0) {
		h->error(h, "%s: %s (run make models)", weights, strerror(errno));
		return NULL;
	}
	char want_size[128], want_sum[128], sum[65];
	if (dn_lookup(dir, "weights.size", wname, want_size, sizeof want_size) ||
	    dn_lookup(dir, "weights.sha256", wname, want_sum, sizeof want_sum)) {
		h->error(h, "%s has no entry in %s/weights.size or weights.sha256 (run make models)", wname, dir);
		return NULL;
	}
	if ((long long)st.st_size != atoll(want_size)) {
		h->error(h, "%s has %lld bytes, expected %s: truncated or wrong file (run make models)", weights,
		    (long long)st.st_size, want_size);
		return NULL;
	}
	if (dn_sha256_file(weights, sum) != 0 || strcmp(sum, want_sum) != 0) {
		h->error(h, "%s: sha256 %s does not match the expected %s (run make models)", weights, sum, want_sum);
		return NULL;
	}
	if (verified)
		memcpy(verified, sum, 65);
	/* Darknet reads the input size from the cfg: write a copy with ours. */
	char tmpcfg[] = "/tmp/dejaview-cfg-XXXXXX";
	const char *use = cfg;
	if (width > 0 && height > 0) {
		int fd = mkstemp(tmpcfg);
		FILE *in = fopen(cfg, "r"), *outf = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!in || !outf) {
			if (in) fclose(in);
			if (outf) fclose(outf); else if (fd >= 0) close(fd);
			unlink(tmpcfg);
			h->error(h, "cannot prepare %s for input %dx%d", cfg, width, height);
			return NULL;
		}
		char line[512];
		int in_net = 0;
		while (fgets(line, sizeof line, in)) {
			if (line[0] == '[')
				in_net = !strncmp(line, "[net]", 5);
			if (in_net && !strncmp(line, "width=", 6))
				fprintf(outf, "width=%d\n", width);
			else if (in_net && !strncmp(line, "height=", 7))
				fprintf(outf, "height=%d\n", height);
			else
				fputs(line, outf);
		}
		fclose(in);
		fclose(outf);
		use = tmpcfg;
	}
	/* Darknet prints its layer table on stderr: silence it while loading. */
	pthread_mutex_lock(&dn_stderr_lock);
	fflush(stderr);
	int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
	if (saved >= 0 && devnull >= 0)
		dup2(devnull, 2);
	struct network *n = parse_network_cfg((char *)use);
	if (n) {
		load_weights(n, weights);
		set_batch_network(n, 1);
	}
	fflush(stderr);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
	if (devnull >= 0)
		close(devnull);
	pthread_mutex_unlock(&dn_stderr_lock);
	if (use == tmpcfg)
		unlink(tmpcfg);
	if (!n)
		h->error(h, "Darknet could not parse %s", cfg);
	return n;
}

void dn_free(struct network *net)
{
	if (!net)
		return;
	free(net->workspace);
	free(net->seen);
	free(net->t);
	free(net->cost);
	net->workspace = NULL;
	free_network(net);
}

/* ---------------------------------------------------------------- gemm check */

unsigned long dn_gemm_calls(void); /* libdvdarknet */
void openblas_set_num_threads(int);

int dn_gemm_check(const struct dv_host *h, struct network *net)
{
	openblas_set_num_threads(1);
	float *x = calloc((size_t)net->inputs, sizeof *x);
	if (!x)
		return -1;
	unsigned long before = dn_gemm_calls();
	network_predict(net, x);
	free(x);
	unsigned long calls = dn_gemm_calls() - before;
	if (calls)
		h->log(h, DV_LOG_INFO, "Darknet's gemm runs on OpenBLAS (single-threaded) calls_per_pass=%lu", calls);
	else
		h->log(h, DV_LOG_WARN, "Darknet's gemm is NOT routed to OpenBLAS: the naive loop is in use");
	return calls ? 1 : 0;
}

/* ---------------------------------------------------------------- depthwise
 * Darknet runs a depthwise convolution as one im2col and one M=1 gemm per
 * channel, which dominates the landmark nets and the detector. This direct
 * loop computes the same sums in the same (ky, kx) order, from a zero start,
 * then adds the bias and applies the activation as forward_convolutional_layer
 * does; it is installed through each such layer's forward pointer. */

/* exported by libdarknet, not declared in darknet.h */
void add_bias(float *output, float *biases, int batch, int n, int size);
void activate_array(float *x, const int n, const ACTIVATION a);

static void dn_forward_depthwise(layer l, network net)
{
	const int k = l.size, s = l.stride, p = l.pad, H = l.h, W = l.w, oh = l.out_h, ow = l.out_w;
	for (int b = 0; b < l.batch; b++)
		for (int ch = 0; ch < l.c; ch++) {
			const float *in = net.input + ((size_t)b * l.c + ch) * H * W;
			const float *wk = l.weights + (size_t)ch * k * k;
			float *out = l.output + ((size_t)b * l.n + ch) * oh * ow;
			for (int y = 0; y < oh; y++)
				for (int x = 0; x < ow; x++) {
					float acc = 0;
					int y0 = y * s - p, x0 = x * s - p;
					for (int ky = 0; ky < k; ky++) {
						int iy = y0 + ky;
						for (int kx = 0; kx < k; kx++) {
							int ix = x0 + kx;
							/* outside the image im2col reads 0, which adds +0 */
							float v = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? in[(size_t)iy * W + ix] : 0.0f;
							acc += wk[ky * k + kx] * v;
						}
					}
					out[(size_t)y * ow + x] = acc;
				}
		}
	add_bias(l.output, l.biases, l.batch, l.n, oh * ow);
	activate_array(l.output, l.outputs * l.batch, l.activation);
}

int dn_direct_depthwise(network *net)
{
	int n = 0;
	for (int i = 0; i < net->n; i++) {
		layer *l = &net->layers[i];
		if (l->type == CONVOLUTIONAL && l->groups > 1 && l->groups == l->c && l->n == l->c && !l->batch_normalize &&
		    l->size > 1) {
			l->forward = dn_forward_depthwise;
			n++;
		}
	}
	return n;
}

