/* dn_common.c — what every Darknet plugin needs: verified model loading and
 * face-api's exact preprocessing. Runs in the calling worker thread. */
#include "config.h"
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
	if (dv_sha256_file(weights, sum) != 0 || strcmp(sum, want_sum) != 0) {
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
	size_t freed = n ? dn_strip_training(n) : 0;
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
	else
		h->log(h, DV_LOG_DEBUG, "training buffers freed net=%s kib=%zu", net, freed / 1024);
	return n;
}

int dn_conv_kernels(const struct dv_host *h, network *net, const char *conv, const float *qmax)
{
	if (qmax && (!conv || strncmp(conv, "onednn", 6))) {
		h->error(h, "int8 runs on oneDNN: conv must be onednn or onednn-only, not \"%s\"", conv ? conv : "darknet");
		return -1;
	}
	if (!conv || !strcmp(conv, "darknet"))
		return 0;
	int own = !strcmp(conv, "onednn");
	if (!own && strcmp(conv, "onednn-only")) {
		h->error(h, "conv must be onednn, onednn-only or darknet, not \"%s\"", conv);
		return -1;
	}
	int mine = 0;
	int n = dn_onednn_convs(net, own, &mine, qmax);
	if (n < 0) {
		h->error(h, "conv: %s, but this build has no oneDNN (apt-get install libdnnl-dev, then reconfigure)", conv);
	} else if (qmax && n != net->n) {
		h->error(h, "int8: oneDNN could run %d of the network's %d layers in int8 (every one must)", n, net->n);
		return -1;
	} else {
		h->log(h, DV_LOG_INFO, "oneDNN runs layers=%d of %d (the rest on Darknet) own_kernel_layers=%d%s input=%dx%d%s", n,
		    net->n, mine, mine ? " (convolution + max pool pairs fused, AVX-512)" : "", net->w, net->h,
		    qmax ? " precision=int8" : "");
	}
	return n;
}

int dn_int8_table(const struct dv_host *h, const char *model, const char sum[65], int nlayers, float **qmax)
{
	char name[256], path[4096], line[256];
	*qmax = NULL;
	snprintf(name, sizeof name, "%s.int8.tsv", model);
	if (h->model_path(h, name, path, sizeof path))
		return 1;
	FILE *f = fopen(path, "r");
	if (!f)
		return 1;
	float *q = calloc((size_t)nlayers + 1, sizeof *q);
	int n = 0, bad = !q, weights_ok = 0;
	while (!bad && fgets(line, sizeof line, f)) {
		char wsum[80];
		if (sscanf(line, "# weights: sha256:%79s", wsum) == 1) {
			weights_ok = !strcmp(wsum, sum);
			continue;
		}
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char what[32], type[32];
		float m;
		if (sscanf(line, "%31s %31s %f", what, type, &m) != 3 || !(m > 0) || !isfinite(m)) {
			bad = 1;
			break;
		}
		int want = n == 0 ? -1 : n - 1, got = strcmp(what, "input") ? atoi(what) : -1;
		if (n > nlayers || got != want) {
			bad = 1;
			break;
		}
		q[n++] = m;
	}
	fclose(f);
	if (bad || n != nlayers + 1 || !weights_ok) {
		h->error(h, "%s: %s (make calibrate-int8 writes it for these weights)", path,
		    !weights_ok ? "made for other weights" : "not an int8 table of this network");
		free(q);
		return -1;
	}
	*qmax = q;
	return 0;
}

int dn_precision(const struct dv_host *h, const char *prec, const char *conv, const char *model, const char sum[65],
    int nlayers, const char *make_target, float **qmax)
{
	*qmax = NULL;
	if (strcmp(prec, "auto") && strcmp(prec, "int8") && strcmp(prec, "f32")) {
		h->error(h, "precision must be auto, int8 or f32, not \"%s\"", prec);
		return -1;
	}
#ifdef HAVE_ONEDNN
	int onednn = conv && !strncmp(conv, "onednn", 6);
#else
	int onednn = 0;
#endif
	if (!strcmp(prec, "f32") || (!onednn && strcmp(prec, "int8")))
		return 0;
	int t = dn_int8_table(h, model, sum, nlayers, qmax);
	if (t > 0 && !strcmp(prec, "int8")) {
		h->error(h, "precision: int8, but model_dir has no %s.int8.tsv (%s)", model, make_target);
		return -1;
	}
	return t < 0 ? -1 : 0;
}

void dn_predict(network *net, int n, int batch, float *in, size_t in_len, float *out, size_t out_len)
{
	for (int i = 0, k; i < n; i += k) {
		for (k = 1; 2 * k <= n - i && 2 * k <= batch;)
			k *= 2;
		if (dn_onednn_batch(net, k, in + (size_t)i * in_len, out + (size_t)i * out_len) == 0)
			continue;
		for (int j = i; j < i + k; j++)
			memcpy(out + (size_t)j * out_len, network_predict(net, in + (size_t)j * in_len), sizeof *out * out_len);
	}
}

size_t dn_strip_training(struct network *n)
{
	size_t freed = 0;
	for (int i = 0; i < n->n; i++) {
		struct layer *l = &n->layers[i];
		/* forward_network zero-fills delta only when it exists; the rest is
		 * written by backward/update alone: inference never reads them */
		float **bufs[] = {&l->delta, &l->weight_updates, &l->bias_updates, &l->scale_updates, &l->mean_delta,
		    &l->variance_delta, &l->x_norm};
		size_t sizes[] = {(size_t)l->outputs * l->batch, (size_t)l->nweights, (size_t)l->n, (size_t)l->n, (size_t)l->n,
		    (size_t)l->n, (size_t)l->outputs * l->batch};
		for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++)
			if (*bufs[k]) {
				free(*bufs[k]);
				*bufs[k] = NULL;
				freed += sizes[k] * sizeof(float);
			}
	}
	return freed;
}

void dn_free(struct network *net)
{
	if (!net)
		return;
	dn_onednn_release(net);
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
char *openblas_get_corename(void);

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
	int gemm_layers = 0;
	for (int i = 0; i < net->n; i++)
		gemm_layers += (net->layers[i].type == CONVOLUTIONAL || net->layers[i].type == CONNECTED) &&
		               !dn_onednn_runs(&net->layers[i]);
	if (calls)
		h->log(h, DV_LOG_INFO, "Darknet's gemm runs on OpenBLAS (single-threaded, %s kernels) calls_per_pass=%lu",
		    openblas_get_corename(), calls);
	else if (gemm_layers)
		h->log(h, DV_LOG_WARN, "Darknet's gemm is NOT routed to OpenBLAS: the naive loop is in use");
	return calls || !gemm_layers ? 1 : 0;
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

