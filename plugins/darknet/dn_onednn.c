/* dn_onednn.c — a Darknet network run on oneDNN (Debian libdnnl), through
 * the layers' forward pointers (each Darknet layer calls l.forward(l, net)). Darknet still parses the cfg,
 * loads the weights and holds the graph; from it we build one oneDNN
 * primitive per layer for the longest run of layers from the input that
 * oneDNN can do — convolution (bias and leaky/relu fused), max and average
 * pooling, shortcut (a binary add with the activation fused), route (an
 * alias, or a concat), connected (inner product) — and the tensors stay in
 * the blocked layouts oneDNN picks for this CPU from one layer to the next:
 * no NCHW round trip, no Darknet loop in between. Measured first (per layer,
 * detect@320 and the 68-point net): Darknet's maxpool and shortcut loops and
 * the NCHW reorders around each oneDNN convolution cost more than the
 * convolutions. Where our own kernels win (dn_kernels.c: a convolution and
 * the 2x2 max pool after it, fused) they take those layers' place.
 *
 * The first layer's forward runs the whole run and writes the last layer's
 * output into its Darknet buffer; the other layers' forwards do nothing, and
 * their Darknet buffers are freed. Layer outputs share buffers by lifetime.
 * Layers after the run (none in our three nets) stay on Darknet. The state
 * of each network's run is kept in a side table of ours, found by the
 * network's layers array (Darknet hands a layer's forward the network by
 * value), and released by dn_onednn_release before Darknet frees the
 * network; nets for batches of 2-8 images (dn_onednn_batch) hang on it and
 * share its weights.
 * Sums are taken in oneDNN's order, not Darknet's: the golden tests'
 * tolerances hold. */
#include "config.h"
#include "dn_common.h"
#include "dn_kernels.h"
#include <darknet.h>
#ifdef HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dn_step {
	dnnl_primitive_t p; /* or NULL: one of our kernels (dn_kernels.c) */
	int nargs;
	dnnl_exec_arg_t args[4];
	struct dn_c0p *c0p; /* on the network's input, into out */
	struct dn_c1p *c1p; /* on in, into out */
	const float *in;
	float *out;
};

#define DN_BATCH_MAX 8

struct dn_net {
	uint32_t magic;
	int end;              /* layers [0, end) run here */
	int B;                /* images per pass */
	dnnl_engine_t eng;
	dnnl_stream_t st;
	dnnl_memory_t in, out; /* wrap net.input and layers[end-1].output at each call */
	dnnl_memory_t *mem;   /* per layer: its output (owned, or an alias for a route) */
	dnnl_memory_desc_t *md;
	dnnl_memory_t *own;   /* every memory we allocated (outputs, reordered inputs, weights, biases) */
	int nown, capown;
	struct dn_step *steps;
	int nsteps, capsteps;
	int mine;             /* layers run by our kernels */
	dnnl_memory_t *wmem, *bmem; /* per layer: its weights and bias in oneDNN's layout */
	dnnl_memory_desc_t *wmd;
	const struct dn_net *share; /* the batch-1 net whose weights this one reuses */
	/* int8 (dn_onednn_convs with qmax): each layer's output is u8 (after a
	 * relu) or s8 (linear), a real value being qs[i] times the integer, qs
	 * from the largest magnitude a calibration saw (qmax); f32 from the
	 * global average pool on. qin: the input's scale (s8). */
	int q;
	float *qmax;          /* end + 1: the input's, then each layer's */
	float qin, *qs;
	dnnl_data_type_t *qdt;
	/* layer outputs share buffers: a buffer is reused once the last layer
	 * reading its content has run (last[]), which keeps the working set, and
	 * so the caches, small */
	int *last;
	struct dn_buf { void *p; size_t size; int owner; } *bufs;
	int nbufs;
	struct dn_net *batched[DN_BATCH_MAX + 1]; /* on the batch-1 net: built when first used */
};
#define DN_NET_MAGIC 0x444e4e54u

static void dn_net_free(struct dn_net *d)
{
	if (!d)
		return;
	for (int i = 0; i < d->nsteps; i++) {
		if (d->steps[i].p)
			dnnl_primitive_destroy(d->steps[i].p);
		dn_c0p_free(d->steps[i].c0p);
		dn_c1p_free(d->steps[i].c1p);
	}
	for (int i = 0; i < d->nown; i++)
		dnnl_memory_destroy(d->own[i]);
	if (d->in)
		dnnl_memory_destroy(d->in);
	if (d->out)
		dnnl_memory_destroy(d->out);
	if (d->st)
		dnnl_stream_destroy(d->st);
	if (d->eng)
		dnnl_engine_destroy(d->eng);
	for (int b = 0; b <= DN_BATCH_MAX; b++)
		dn_net_free(d->batched[b]);
	free(d->steps);
	free(d->own);
	free(d->mem);
	free(d->md);
	free(d->wmem);
	free(d->bmem);
	free(d->wmd);
	free(d->qmax);
	free(d->qs);
	free(d->qdt);
	for (int b = 0; b < d->nbufs; b++)
		free(d->bufs[b].p);
	free(d->bufs);
	free(d->last);
	free(d);
}

/* One pass: d->B inputs (NCHW, one after the other) to d->B outputs. */
static void dn_exec(struct dn_net *d, float *in, float *out)
{
	dnnl_memory_set_data_handle(d->in, in);
	dnnl_memory_set_data_handle(d->out, out);
	for (int i = 0; i < d->nsteps; i++) {
		const struct dn_step *st = &d->steps[i];
		if (st->p)
			dnnl_primitive_execute(st->p, d->st, st->nargs, st->args);
		else if (st->c0p)
			dn_c0p_run(st->c0p, in, st->out);
		else
			dn_c1p_run(st->c1p, st->in, st->out);
	}
	dnnl_stream_wait(d->st);
}

/* ---- the side table: network (its layers array) -> its run */

static pthread_mutex_t dn_runs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dn_run_entry {
	const layer *layers;
	struct dn_net *d;
} *dn_runs;
static int dn_runs_n, dn_runs_cap;

/* Keep d as net's run; -1 when out of memory. */
static int dn_runs_put(const layer *layers, struct dn_net *d)
{
	int rc = 0;
	pthread_mutex_lock(&dn_runs_mu);
	if (dn_runs_n == dn_runs_cap) {
		int cap = dn_runs_cap ? dn_runs_cap * 2 : 16;
		struct dn_run_entry *e = realloc(dn_runs, sizeof *e * (size_t)cap);
		if (e) {
			dn_runs = e;
			dn_runs_cap = cap;
		}
	}
	if (dn_runs_n < dn_runs_cap)
		dn_runs[dn_runs_n++] = (struct dn_run_entry){layers, d};
	else
		rc = -1;
	pthread_mutex_unlock(&dn_runs_mu);
	return rc;
}

/* net's run, or NULL; take = remove it from the table */
static struct dn_net *dn_runs_get(const layer *layers, int take)
{
	struct dn_net *d = NULL;
	pthread_mutex_lock(&dn_runs_mu);
	for (int i = 0; i < dn_runs_n; i++)
		if (dn_runs[i].layers == layers) {
			d = dn_runs[i].d;
			if (take)
				dn_runs[i] = dn_runs[--dn_runs_n];
			break;
		}
	pthread_mutex_unlock(&dn_runs_mu);
	return d;
}

static void dn_forward_net(layer l, network net)
{
	(void)l;
	struct dn_net *d = dn_runs_get(net.layers, 0);
	if (!d) { /* cannot happen: the forward is set only with the entry */
		fprintf(stderr, "dn_onednn: a network ran without its oneDNN state\n");
		abort();
	}
	dn_exec(d, net.input, net.layers[d->end - 1].output);
}

/* the layers the first one's forward has already run */
static void dn_forward_done(layer l, network net)
{
	(void)l;
	(void)net;
}

/* A memory of layout md on buf (or allocated: DNNL_MEMORY_ALLOCATE), owned by d. */
static dnnl_memory_t dn_mem(struct dn_net *d, const dnnl_memory_desc_t *md, void *buf)
{
	if (d->nown == d->capown) {
		int cap = d->capown ? 2 * d->capown : 64;
		dnnl_memory_t *o = realloc(d->own, sizeof *o * (size_t)cap);
		if (!o)
			return NULL;
		d->own = o;
		d->capown = cap;
	}
	dnnl_memory_t m;
	if (dnnl_memory_create(&m, md, d->eng, buf) != dnnl_success)
		return NULL;
	d->own[d->nown++] = m;
	return m;
}

static dnnl_memory_t dn_alloc(struct dn_net *d, const dnnl_memory_desc_t *md)
{
	return dn_mem(d, md, DNNL_MEMORY_ALLOCATE);
}

/* Layer i's output, written at step `step` (i, or the first layer of a fused
 * pair): on the smallest free buffer that fits, else a new one. */
static dnnl_memory_t dn_out(struct dn_net *d, int i, int step, const dnnl_memory_desc_t *md)
{
	size_t need = dnnl_memory_desc_get_size(md);
	int best = -1;
	for (int b = 0; b < d->nbufs; b++)
		if (d->last[d->bufs[b].owner] < step && d->bufs[b].size >= need && (best < 0 || d->bufs[b].size < d->bufs[best].size))
			best = b;
	if (best < 0) {
		struct dn_buf *nb = realloc(d->bufs, sizeof *nb * (size_t)(d->nbufs + 1));
		if (!nb)
			return NULL;
		d->bufs = nb;
		void *p = aligned_alloc(64, (need + 63) / 64 * 64);
		if (!p)
			return NULL;
		memset(p, 0, need); /* oneDNN's blocked layouts keep their padding zero */
		d->bufs[d->nbufs] = (struct dn_buf){p, need, i};
		best = d->nbufs++;
	}
	d->bufs[best].owner = i;
	return dn_mem(d, md, d->bufs[best].p);
}

/* last[j]: the last step that reads layer j's output (the output reorder
 * counts as step end); a route of one layer shares its source's buffer. */
static void dn_lifetimes(const network *net, int end, int *last)
{
	int *root = calloc((size_t)end, sizeof *root);
	if (!root) { /* never reuse */
		for (int j = 0; j < end; j++)
			last[j] = end;
		return;
	}
	for (int j = 0; j < end; j++) {
		last[j] = -1;
		root[j] = j;
	}
	for (int k = 0; k < end; k++) {
		const layer *l = &net->layers[k];
		int reads[4], nr = 0;
		if (l->type == ROUTE) {
			for (int q = 0; q < l->n && q < 3; q++)
				reads[nr++] = l->input_layers[q];
			if (l->n == 1)
				root[k] = root[l->input_layers[0]];
		} else {
			if (k > 0)
				reads[nr++] = k - 1;
			if (l->type == SHORTCUT)
				reads[nr++] = l->index;
		}
		for (int q = 0; q < nr; q++)
			if (reads[q] >= 0 && reads[q] < k && last[root[reads[q]]] < k)
				last[root[reads[q]]] = k;
	}
	last[root[end - 1]] = end;
	for (int j = 0; j < end; j++)
		last[j] = last[root[j]];
	free(root);
}

/* A new zeroed step at the end, or NULL. */
static struct dn_step *dn_new_step(struct dn_net *d)
{
	if (d->nsteps == d->capsteps) {
		int cap = d->capsteps ? 2 * d->capsteps : 64;
		struct dn_step *n = realloc(d->steps, sizeof *n * (size_t)cap);
		if (!n)
			return NULL;
		d->steps = n;
		d->capsteps = cap;
	}
	struct dn_step *st = &d->steps[d->nsteps++];
	memset(st, 0, sizeof *st);
	return st;
}

/* Append a step running the primitive made from pd (pd is destroyed). */
static int dn_step(struct dn_net *d, dnnl_primitive_desc_t pd, int nargs, const dnnl_exec_arg_t *args)
{
	dnnl_primitive_t p;
	dnnl_status_t s = dnnl_primitive_create(&p, pd);
	dnnl_primitive_desc_destroy(pd);
	if (s != dnnl_success)
		return -1;
	struct dn_step *st = dn_new_step(d);
	if (!st) {
		dnnl_primitive_destroy(p);
		return -1;
	}
	st->p = p;
	st->nargs = nargs;
	memcpy(st->args, args, sizeof *args * (size_t)nargs);
	return 0;
}

/* md with its elements of type dt (the same layout, no extra) */
static dnnl_memory_desc_t dn_retype(const dnnl_memory_desc_t *md, dnnl_data_type_t dt)
{
	dnnl_memory_desc_t r = *md;
	r.data_type = dt;
	memset(&r.extra, 0, sizeof r.extra);
	return r;
}

/* A reorder's attributes: dst = scale x src (mask 0), or per index of the
 * dims in mask (count scales); NULL when none is needed. */
static dnnl_primitive_attr_t dn_scale_attr(dnnl_dim_t count, int mask, const float *scales)
{
	dnnl_primitive_attr_t attr = NULL;
	if (count == 1 && mask == 0 && scales[0] == 1.0f)
		return NULL;
	if (dnnl_primitive_attr_create(&attr) != dnnl_success)
		return NULL;
	dnnl_primitive_attr_set_output_scales(attr, count, mask, scales);
	return attr;
}

/* src in layout and type `want`, its values times scale: src itself, or a
 * step reordering it into a new memory. */
static dnnl_memory_t dn_as_scaled(struct dn_net *d, dnnl_memory_t src, const dnnl_memory_desc_t *have,
    const dnnl_memory_desc_t *want, float scale)
{
	if (scale == 1.0f && dnnl_memory_desc_equal(have, want))
		return src;
	dnnl_memory_t to = dn_alloc(d, want);
	dnnl_primitive_attr_t attr = dn_scale_attr(1, 0, &scale);
	dnnl_primitive_desc_t pd;
	dnnl_status_t s = to ? dnnl_reorder_primitive_desc_create(&pd, have, d->eng, want, d->eng, attr) : dnnl_out_of_memory;
	if (attr)
		dnnl_primitive_attr_destroy(attr);
	if (s != dnnl_success)
		return NULL;
	dnnl_exec_arg_t a[] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, to}};
	return dn_step(d, pd, 2, a) ? NULL : to;
}

/* src in layout `want`: src itself, or a step reordering it into a new memory. */
static dnnl_memory_t dn_as(struct dn_net *d, dnnl_memory_t src, const dnnl_memory_desc_t *have, const dnnl_memory_desc_t *want)
{
	return dn_as_scaled(d, src, have, want, 1.0f);
}

/* Run a reorder now (weights, once). */
static int dn_reorder_now(struct dn_net *d, dnnl_memory_t from, const dnnl_memory_desc_t *fmd, dnnl_memory_t to,
    const dnnl_memory_desc_t *tmd, const_dnnl_primitive_attr_t attr)
{
	dnnl_primitive_desc_t pd;
	dnnl_primitive_t p;
	if (dnnl_reorder_primitive_desc_create(&pd, fmd, d->eng, tmd, d->eng, attr) != dnnl_success)
		return -1;
	dnnl_status_t s = dnnl_primitive_create(&p, pd);
	dnnl_primitive_desc_destroy(pd);
	if (s != dnnl_success)
		return -1;
	dnnl_exec_arg_t a[] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
	s = dnnl_primitive_execute(p, d->st, 2, a);
	dnnl_stream_wait(d->st);
	dnnl_primitive_destroy(p);
	return s == dnnl_success ? 0 : -1;
}

/* Darknet's activations oneDNN fuses: leaky is relu with slope 0.1. */
static int dn_act_ok(ACTIVATION a) { return a == LINEAR || a == RELU || a == LEAKY; }

static dnnl_primitive_attr_t dn_act_attr(ACTIVATION a)
{
	dnnl_primitive_attr_t attr;
	dnnl_post_ops_t po;
	if (dnnl_primitive_attr_create(&attr) != dnnl_success)
		return NULL;
	if (a != LINEAR && dnnl_post_ops_create(&po) == dnnl_success) {
		dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, a == LEAKY ? 0.1f : 0.0f, 0.0f);
		dnnl_primitive_attr_set_post_ops(attr, po);
		dnnl_post_ops_destroy(po);
	}
	return attr;
}

/* Layer i's weights (Darknet's, laid out as uwmd) in oneDNN's layout wmd,
 * and its bias: those of the batch-1 net when it has them in this layout,
 * else reordered once into memories of ours. int8: wq (count, mask) scales
 * the weights into wmd's integers, and b is the bias already scaled. */
static int dn_weights(struct dn_net *d, int i, const dnnl_memory_desc_t *uwmd, float *w, const dnnl_memory_desc_t *wmd,
    const dnnl_memory_desc_t *bmd, const float *b, dnnl_dim_t wq_count, int wq_mask, const float *wq)
{
	const struct dn_net *sh = d->share;
	if (sh && sh->wmem[i] && dnnl_memory_desc_equal(&sh->wmd[i], wmd)) {
		d->wmem[i] = sh->wmem[i];
		d->bmem[i] = sh->bmem[i];
		d->wmd[i] = *wmd;
		return 0;
	}
	dnnl_memory_t wei = dn_alloc(d, wmd), bm = dn_alloc(d, bmd), uw = NULL;
	if (!wei || !bm || dnnl_memory_create(&uw, uwmd, d->eng, w) != dnnl_success)
		return -1;
	dnnl_primitive_attr_t attr = wq ? dn_scale_attr(wq_count, wq_mask, wq) : NULL;
	int bad = dn_reorder_now(d, uw, uwmd, wei, wmd, attr) != 0;
	if (attr)
		dnnl_primitive_attr_destroy(attr);
	dnnl_memory_destroy(uw);
	void *bh;
	if (bad || dnnl_memory_get_data_handle(bm, &bh) != dnnl_success)
		return -1;
	memcpy(bh, b, dnnl_memory_desc_get_size(bmd));
	d->wmem[i] = wei;
	d->bmem[i] = bm;
	d->wmd[i] = *wmd;
	return 0;
}

/* int8 weights: the scales that make each output's weights integers, the
 * bias in the accumulator's units, the scale src is brought to the source
 * type by (the network's input: 1 / qin) */
struct dn_wq {
	dnnl_dim_t count;
	int mask;
	const float *wq, *bias;
	float in_scale;
};

/* The primitive for op (a convolution or inner product descriptor) with
 * attr (l's activation fused, and int8's output scales; destroyed here), as
 * layer i: its output buffer, src reordered into the layout it wants, l's
 * weights (laid out as uwmd) and bias (bmd) in its layouts, and the step
 * that runs it. */
static int dn_weighted(struct dn_net *d, const layer *l, int i, const void *op, const dnnl_memory_desc_t *uwmd,
    const dnnl_memory_desc_t *bmd, dnnl_memory_t src, const dnnl_memory_desc_t *smd, dnnl_primitive_attr_t attr,
    const struct dn_wq *q)
{
	dnnl_primitive_desc_t pd;
	dnnl_status_t s = attr ? dnnl_primitive_desc_create(&pd, op, attr, d->eng, NULL) : dnnl_out_of_memory;
	if (attr)
		dnnl_primitive_attr_destroy(attr);
	if (s != dnnl_success)
		return -1;
	const dnnl_memory_desc_t *psrc = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
	                         *pdst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0),
	                         *pwei = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
	d->md[i] = *pdst;
	d->mem[i] = dn_out(d, i, i, pdst);
	dnnl_memory_t in = d->mem[i] ? dn_as_scaled(d, src, smd, psrc, q ? q->in_scale : 1.0f) : NULL;
	if (!in || dn_weights(d, i, uwmd, l->weights, pwei, bmd, q ? q->bias : l->biases, q ? q->count : 0, q ? q->mask : 0,
	               q ? q->wq : NULL)) {
		dnnl_primitive_desc_destroy(pd);
		return -1;
	}
	dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, in}, {DNNL_ARG_WEIGHTS, d->wmem[i]}, {DNNL_ARG_BIAS, d->bmem[i]},
	    {DNNL_ARG_DST, d->mem[i]}};
	return dn_step(d, pd, 4, a);
}

static int dn_conv(struct dn_net *d, const layer *l, dnnl_memory_t src, const dnnl_memory_desc_t *smd, int i)
{
	int g = l->groups > 1 ? l->groups : 1;
	dnnl_dims_t sd = {d->B, l->c, l->h, l->w}, dd = {d->B, l->n, l->out_h, l->out_w}, bd = {l->n};
	dnnl_dims_t wd5 = {g, l->n / g, l->c / g, l->size, l->size}, wd4 = {l->n, l->c, l->size, l->size};
	dnnl_dims_t strides = {l->stride, l->stride}, pads = {l->pad, l->pad};
	/* the right padding that makes Darknet's output size */
	dnnl_dims_t padr = {(l->out_h - 1) * l->stride + l->size - l->h - l->pad,
	    (l->out_w - 1) * l->stride + l->size - l->w - l->pad};
	/* int8: s8 weights, each output's scaled by its largest magnitude; the
	 * source as it is (u8 after a relu, s8 for the network's input), the
	 * output u8 after a relu, else s8 */
	dnnl_data_type_t sdt = dnnl_f32, wdt = dnnl_f32, odt = dnnl_f32;
	float *wq = NULL, *os = NULL, *bq = NULL, sa = 1, oa = 1;
	if (d->q) {
		sdt = i ? d->qdt[i - 1] : dnnl_s8;
		sa = i ? d->qs[i - 1] : d->qin;
		wdt = dnnl_s8;
		odt = l->activation == RELU ? dnnl_u8 : dnnl_s8;
		oa = d->qmax[i + 1] / (odt == dnnl_u8 ? 255.0f : 127.0f);
		if (!(oa > 0))
			oa = 1e-6f;
		wq = malloc(sizeof *wq * (size_t)l->n);
		os = malloc(sizeof *os * (size_t)l->n);
		bq = malloc(sizeof *bq * (size_t)l->n);
		if (!wq || !os || !bq) {
			free(wq), free(os), free(bq);
			return -1;
		}
		int per = l->nweights / l->n;
		for (int o = 0; o < l->n; o++) {
			float m = 0;
			for (int k = 0; k < per; k++) {
				float v = fabsf(l->weights[(size_t)o * per + k]);
				m = v > m ? v : m;
			}
			float ws = m > 0 ? m / 127.0f : 1.0f;
			wq[o] = 1.0f / ws;
			os[o] = sa * ws / oa;
			bq[o] = l->biases[o] / (sa * ws);
		}
		d->qdt[i] = odt;
		d->qs[i] = oa;
	}
	dnnl_memory_desc_t uwei, bias, any_s, any_d, any_w;
	if (g > 1) {
		dnnl_memory_desc_init_by_tag(&uwei, 5, wd5, dnnl_f32, dnnl_goihw);
		dnnl_memory_desc_init_by_tag(&any_w, 5, wd5, wdt, dnnl_format_tag_any);
	} else {
		dnnl_memory_desc_init_by_tag(&uwei, 4, wd4, dnnl_f32, dnnl_oihw);
		dnnl_memory_desc_init_by_tag(&any_w, 4, wd4, wdt, dnnl_format_tag_any);
	}
	dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x);
	dnnl_memory_desc_init_by_tag(&any_s, 4, sd, sdt, dnnl_format_tag_any);
	dnnl_memory_desc_init_by_tag(&any_d, 4, dd, odt, dnnl_format_tag_any);
	dnnl_convolution_desc_t cd;
	int r = -1;
	if (dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &any_s, &any_w, &bias,
	        &any_d, strides, pads, padr) == dnnl_success) {
		dnnl_primitive_attr_t attr = dn_act_attr(l->activation);
		if (attr && os)
			dnnl_primitive_attr_set_output_scales(attr, l->n, 1 << 1, os);
		struct dn_wq q = {l->n, g > 1 ? 3 : 1, wq, bq, i ? 1.0f : 1.0f / d->qin};
		r = dn_weighted(d, l, i, &cd, &uwei, &bias, src, smd, attr, d->q ? &q : NULL);
	}
	free(wq), free(os), free(bq);
	return r;
}

/* Layer i's output in the layout pd's primitive writes; NULL (pd destroyed)
 * when out of memory. */
static dnnl_memory_t dn_pd_out(struct dn_net *d, int i, dnnl_primitive_desc_t pd)
{
	d->md[i] = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
	d->mem[i] = dn_out(d, i, i, &d->md[i]);
	if (!d->mem[i])
		dnnl_primitive_desc_destroy(pd);
	return d->mem[i];
}

/* maxpool (Darknet: offset -pad/2, out = (h + pad - size) / stride + 1,
 * the outside never wins) or the global average pool */
static int dn_pool(struct dn_net *d, const layer *l, dnnl_memory_t src, const dnnl_memory_desc_t *smd, int i)
{
	int avg = l->type == AVGPOOL;
	int k = avg ? 0 : l->size, s = avg ? 1 : l->stride, pl = avg ? 0 : l->pad / 2;
	dnnl_dims_t kernel = {avg ? l->h : k, avg ? l->w : k}, strides = {s, s}, padl = {pl, pl},
	            padr = {avg ? 0 : (l->out_h - 1) * s + k - l->h - pl, avg ? 0 : (l->out_w - 1) * s + k - l->w - pl};
	dnnl_dims_t dd = {d->B, l->out_c, l->out_h, l->out_w};
	dnnl_memory_desc_t any_d;
	dnnl_memory_desc_init_by_tag(&any_d, 4, dd, smd->data_type, dnnl_format_tag_any);
	if (d->q) { /* the max of integers is the integer of the max: the source's type and scale */
		d->qdt[i] = smd->data_type;
		d->qs[i] = i && smd->data_type != dnnl_f32 ? d->qs[i - 1] : 1.0f;
	}
	dnnl_pooling_desc_t pdsc;
	if (dnnl_pooling_forward_desc_init(&pdsc, dnnl_forward_inference, avg ? dnnl_pooling_avg_exclude_padding : dnnl_pooling_max,
	        smd, &any_d, strides, kernel, padl, padr) != dnnl_success)
		return -1;
	dnnl_primitive_desc_t pd;
	if (dnnl_primitive_desc_create(&pd, &pdsc, NULL, d->eng, NULL) != dnnl_success)
		return -1;
	if (!dn_pd_out(d, i, pd))
		return -1;
	dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, d->mem[i]}};
	return dn_step(d, pd, 2, a);
}

/* shortcut: activation(input + layers[index].output), in the input's layout.
 * A smaller layers[index] (the dlib ResNet's downsampling blocks: 3x3 added
 * to 4x4) is added at the top left, the rest of it counting as zeros, as
 * Darknet's shortcut_cpu does when the sizes differ by less than 2x (or
 * layers[index] is 1x1: its one value lands at the top left whatever the
 * spacing Darknet gives larger ones). */
static int dn_shortcut(struct dn_net *d, const layer *l, dnnl_memory_t src, const dnnl_memory_desc_t *smd, int i)
{
	dnnl_memory_t add;
	/* int8: the added layer keeps its type and scale in the input's layout;
	 * the sum, scaled into the output's units, is u8 after a relu, else s8 */
	dnnl_data_type_t adt = d->q ? d->qdt[l->index] : dnnl_f32;
	dnnl_memory_desc_t amd = dn_retype(smd, adt), omd = *smd;
	float sc[2] = {1, 1};
	if (d->q) {
		dnnl_data_type_t odt = l->activation == RELU ? dnnl_u8 : dnnl_s8;
		float oa = d->qmax[i + 1] / (odt == dnnl_u8 ? 255.0f : 127.0f);
		if (!(oa > 0))
			oa = 1e-6f;
		sc[0] = d->qs[i - 1] / oa;
		sc[1] = d->qs[l->index] / oa;
		omd = dn_retype(smd, odt);
		d->qdt[i] = odt;
		d->qs[i] = oa;
	}
	if (l->w == l->out_w && l->h == l->out_h && l->c == l->out_c) {
		add = dn_as(d, d->mem[l->index], &d->md[l->index], &amd);
	} else {
		dnnl_memory_desc_t sub;
		dnnl_dims_t sdims = {d->B, l->c, l->h, l->w}, offs = {0, 0, 0, 0};
		add = dn_alloc(d, &amd);
		void *zh = NULL;
		if (!add || dnnl_memory_get_data_handle(add, &zh) != dnnl_success ||
		    dnnl_memory_desc_init_submemory(&sub, &amd, sdims, offs) != dnnl_success)
			return -1;
		memset(zh, 0, dnnl_memory_desc_get_size(&amd));
		dnnl_memory_t part = dn_mem(d, &sub, zh);
		dnnl_primitive_desc_t pd;
		if (!part || dnnl_reorder_primitive_desc_create(&pd, &d->md[l->index], d->eng, &sub, d->eng, NULL) != dnnl_success)
			return -1;
		dnnl_exec_arg_t a[] = {{DNNL_ARG_FROM, d->mem[l->index]}, {DNNL_ARG_TO, part}};
		if (dn_step(d, pd, 2, a))
			return -1;
	}
	if (!add)
		return -1;
	dnnl_binary_desc_t bd;
	if (dnnl_binary_desc_init(&bd, dnnl_binary_add, smd, &amd, &omd) != dnnl_success)
		return -1;
	dnnl_primitive_attr_t attr = dn_act_attr(l->activation);
	if (!attr)
		return -1;
	if (d->q) {
		dnnl_primitive_attr_set_scales(attr, DNNL_ARG_SRC_0, 1, 0, &sc[0]);
		dnnl_primitive_attr_set_scales(attr, DNNL_ARG_SRC_1, 1, 0, &sc[1]);
	}
	dnnl_primitive_desc_t pd;
	dnnl_status_t s = dnnl_primitive_desc_create(&pd, &bd, attr, d->eng, NULL);
	dnnl_primitive_attr_destroy(attr);
	if (s != dnnl_success)
		return -1;
	d->md[i] = omd;
	d->mem[i] = dn_out(d, i, i, &omd);
	if (!d->mem[i]) {
		dnnl_primitive_desc_destroy(pd);
		return -1;
	}
	dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC_0, src}, {DNNL_ARG_SRC_1, add}, {DNNL_ARG_DST, d->mem[i]}};
	return dn_step(d, pd, 3, a);
}

/* route: one layer is an alias of it; several are concatenated on channels */
static int dn_route(struct dn_net *d, const layer *l, int i)
{
	if (l->n == 1) {
		d->mem[i] = d->mem[l->input_layers[0]];
		d->md[i] = d->md[l->input_layers[0]];
		if (d->q) {
			d->qdt[i] = d->qdt[l->input_layers[0]];
			d->qs[i] = d->qs[l->input_layers[0]];
		}
		return 0;
	}
	if (d->q) /* int8 concatenation is not done: every source would need one scale */
		return -1;
	dnnl_memory_desc_t srcs[16];
	dnnl_exec_arg_t a[17];
	for (int k = 0; k < l->n; k++) {
		srcs[k] = d->md[l->input_layers[k]];
		a[k] = (dnnl_exec_arg_t){DNNL_ARG_MULTIPLE_SRC + k, d->mem[l->input_layers[k]]};
	}
	dnnl_primitive_desc_t pd;
	if (dnnl_concat_primitive_desc_create(&pd, NULL, l->n, 1, srcs, NULL, d->eng) != dnnl_success)
		return -1;
	if (!dn_pd_out(d, i, pd))
		return -1;
	a[l->n] = (dnnl_exec_arg_t){DNNL_ARG_DST, d->mem[i]};
	/* a step holds 4 arguments: concats of up to 3 layers */
	return l->n + 1 <= 4 ? dn_step(d, pd, l->n + 1, a) : (dnnl_primitive_desc_destroy(pd), -1);
}

/* connected: Darknet's weights are [outputs][inputs], the inputs in NCHW
 * order, which is oihw over the input's dims */
static int dn_ip(struct dn_net *d, const layer *l, dnnl_memory_t src, const dnnl_memory_desc_t *smd, int i)
{
	int ic = (int)smd->dims[1], ih = smd->ndims == 4 ? (int)smd->dims[2] : 1, iw = smd->ndims == 4 ? (int)smd->dims[3] : 1;
	if (ic * ih * iw != l->inputs)
		return -1;
	dnnl_dims_t sd4 = {d->B, ic, ih, iw}, wd4 = {l->outputs, ic, ih, iw}, wd2 = {l->outputs, l->inputs},
	            dd = {d->B, l->outputs}, bd = {l->outputs};
	dnnl_memory_desc_t uwei, bias, any_s, any_d, any_w;
	int four = smd->ndims == 4;
	dnnl_memory_desc_init_by_tag(&uwei, four ? 4 : 2, four ? wd4 : wd2, dnnl_f32, four ? dnnl_oihw : dnnl_oi);
	dnnl_memory_desc_init_by_tag(&any_w, four ? 4 : 2, four ? wd4 : wd2, dnnl_f32, dnnl_format_tag_any);
	dnnl_memory_desc_init_by_tag(&any_s, four ? 4 : 2, four ? sd4 : dd, dnnl_f32, dnnl_format_tag_any);
	if (!four)
		any_s.dims[1] = l->inputs;
	dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x);
	dnnl_memory_desc_init_by_tag(&any_d, 2, dd, dnnl_f32, dnnl_format_tag_any);
	dnnl_inner_product_desc_t ipd;
	if (dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_inference, &any_s, &any_w, &bias, &any_d) != dnnl_success)
		return -1;
	return dn_weighted(d, l, i, &ipd, &uwei, &bias, src, smd, dn_act_attr(l->activation), NULL);
}

/* Our kernels' activation codes (dn_kernels.h) */
static int dn_act_code(ACTIVATION a) { return a == LEAKY ? 2 : a == RELU; }

/* The step for layers i and i+1 (a convolution and the 2x2 max pool after
 * it) run by one of our kernels at step i: layer i+1's output, channels last
 * with dims dd; the step reads layer i-1's output (the network's input for
 * i = 0, given at each run). NULL on failure; the caller sets the kernel. */
static struct dn_step *dn_own_step(struct dn_net *d, int i, const dnnl_dims_t dd)
{
	dnnl_memory_desc_init_by_tag(&d->md[i + 1], 4, dd, dnnl_f32, dnnl_nhwc);
	d->mem[i + 1] = dn_out(d, i + 1, i, &d->md[i + 1]);
	struct dn_step *st = d->mem[i + 1] ? dn_new_step(d) : NULL;
	void *in = NULL, *out = NULL;
	if (!st || (i > 0 && dnnl_memory_get_data_handle(d->mem[i - 1], &in) != dnnl_success) ||
	    dnnl_memory_get_data_handle(d->mem[i + 1], &out) != dnnl_success)
		return NULL;
	st->in = in;
	st->out = out;
	d->mine += 2;
	return st;
}

/* Layers 0 and 1 as one kernel of ours (dn_c0p): a 3x3 valid convolution
 * from the 3-channel input to 16 channels, then a 2x2/2 max pool without
 * padding that nothing else reads the convolution's output of. 2 when done,
 * 0 when this network or CPU does not fit, -1 on failure. */
static int dn_try_c0p(struct dn_net *d, const network *net, const char *read_elsewhere)
{
	const layer *c = &net->layers[0], *p = &net->layers[1];
	if (net->n < 2 || read_elsewhere[0] || c->type != CONVOLUTIONAL || p->type != MAXPOOL || c->c != 3 || c->n != 16 ||
	    c->size != 3 || c->stride != 1 || c->pad != 0 || c->groups > 1 || c->batch_normalize ||
	    !dn_act_ok(c->activation) || c->batch != 1 || p->size != 2 || p->stride != 2 || p->pad / 2 != 0 ||
	    p->out_h * 2 != c->out_h || p->out_w * 2 != c->out_w)
		return 0;
	struct dn_c0p *k = dn_c0p_make(c->weights, c->biases, c->h, c->w, dn_act_code(c->activation));
	if (!k)
		return 0;
	/* 16 channels: nChw16c and nhwc are the same bytes; nhwc is what oneDNN
	 * picks for the depthwise layer that follows in the detector */
	dnnl_dims_t dd = {1, 16, p->out_h, p->out_w};
	struct dn_step *st = dn_own_step(d, 0, dd);
	if (!st) {
		dn_c0p_free(k);
		return -1;
	}
	st->c0p = k;
	return 2;
}

/* Layers i and i+1 as one kernel of ours (dn_c1p): a 1x1 convolution whose
 * input is channels last (nhwc) and whose output nothing else reads, then a
 * 2x2/2 max pool. 2 when done, 0 when they do not fit, -1 on failure. */
static int dn_try_c1p(struct dn_net *d, const network *net, int i, const char *read_elsewhere)
{
	const layer *c = &net->layers[i], *p = &net->layers[i + 1];
	if (i < 1 || !d->mem[i - 1] || read_elsewhere[i] || c->type != CONVOLUTIONAL || p->type != MAXPOOL || c->size != 1 ||
	    c->stride != 1 || c->pad != 0 || c->groups > 1 || c->batch_normalize || !dn_act_ok(c->activation) ||
	    c->n % 32 || p->size != 2 || p->stride != 2 || p->pad / 2 != 0 || p->out_c != c->n ||
	    p->out_h != (c->out_h + 1) / 2 || p->out_w != (c->out_w + 1) / 2)
		return 0;
	dnnl_dims_t sd = {d->B, c->c, c->h, c->w}, dd = {d->B, c->n, p->out_h, p->out_w};
	dnnl_memory_desc_t nhwc;
	dnnl_memory_desc_init_by_tag(&nhwc, 4, sd, dnnl_f32, dnnl_nhwc);
	if (!dnnl_memory_desc_equal(&nhwc, &d->md[i - 1]))
		return 0;
	struct dn_c1p *k = dn_c1p_make(c->weights, c->biases, d->B, c->h, c->w, c->c, c->n, dn_act_code(c->activation));
	if (!k)
		return 0;
	struct dn_step *st = dn_own_step(d, i, dd);
	if (!st) {
		dn_c1p_free(k);
		return -1;
	}
	st->c1p = k;
	return 2;
}

/* Whether oneDNN runs this layer as Darknet would. */
static int dn_supported(const network *net, int i)
{
	const layer *l = &net->layers[i];
	switch (l->type) {
	case CONVOLUTIONAL:
		return !l->batch_normalize && dn_act_ok(l->activation) && (l->groups <= 1 || l->c % l->groups == 0);
	case MAXPOOL:
		return l->out_c == l->c;
	case AVGPOOL:
		return 1;
	case SHORTCUT:
		/* l->w, h, c: layers[index]'s size; out_*: the input's */
		return l->index >= 0 && l->index < i && l->alpha == 1 && l->beta == 1 && dn_act_ok(l->activation) &&
		       l->w <= l->out_w && l->h <= l->out_h && l->c <= l->out_c && (l->out_w < 2 * l->w || l->w == 1) &&
		       (l->out_h < 2 * l->h || l->h == 1);
	case ROUTE:
		if (l->n < 1 || l->n > 3)
			return 0;
		for (int k = 0; k < l->n; k++)
			if (l->input_layers[k] < 0 || l->input_layers[k] >= i)
				return 0;
		return 1;
	case CONNECTED:
		/* the heads: only connected layers after it (its output is flat) */
		for (int k = i + 1; k < net->n; k++)
			if (net->layers[k].type != CONNECTED)
				return 0;
		return !l->batch_normalize && dn_act_ok(l->activation);
	default:
		return 0;
	}
}

/* The layers [0, end) as one oneDNN pass over B images; weights shared with
 * `share` where the layouts agree; our kernels where they fit when own. */
static struct dn_net *dn_build(const network *net, int end, int B, int own, const struct dn_net *share, const float *qmax)
{
	char *read_elsewhere = NULL; /* layers whose output a route, a shortcut or the caller reads */
	struct dn_net *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->magic = DN_NET_MAGIC;
	d->end = end;
	d->B = B;
	d->share = share;
	d->mem = calloc((size_t)end, sizeof *d->mem);
	d->md = calloc((size_t)end, sizeof *d->md);
	d->wmem = calloc((size_t)end, sizeof *d->wmem);
	d->bmem = calloc((size_t)end, sizeof *d->bmem);
	d->wmd = calloc((size_t)end, sizeof *d->wmd);
	d->last = calloc((size_t)end, sizeof *d->last);
	if (d->last)
		dn_lifetimes(net, end, d->last);
	if (qmax) {
		d->q = 1;
		own = 0; /* our kernels are float */
		d->qmax = malloc(sizeof *d->qmax * (size_t)(end + 1));
		d->qs = calloc((size_t)end, sizeof *d->qs);
		d->qdt = calloc((size_t)end, sizeof *d->qdt);
		if (!d->qmax || !d->qs || !d->qdt)
			goto fail;
		memcpy(d->qmax, qmax, sizeof *d->qmax * (size_t)(end + 1));
		d->qin = qmax[0] > 0 ? qmax[0] / 127.0f : 1.0f;
	}
	if (!d->mem || !d->md || !d->wmem || !d->bmem || !d->wmd || !d->last || dnnl_engine_create(&d->eng, dnnl_cpu, 0) != dnnl_success ||
	    dnnl_stream_create(&d->st, d->eng, dnnl_stream_default_flags) != dnnl_success)
		goto fail;
	const layer *l0 = &net->layers[0], *le = &net->layers[end - 1];
	dnnl_dims_t idims = {B, l0->c, l0->h, l0->w}, odims = {B, le->out_c, le->out_h, le->out_w}, fdims = {B, le->outputs};
	dnnl_memory_desc_t imd, omd;
	dnnl_memory_desc_init_by_tag(&imd, 4, idims, dnnl_f32, dnnl_nchw);
	/* Darknet's layout out: NCHW, or flat after a connected layer */
	if (le->type == CONNECTED)
		dnnl_memory_desc_init_by_tag(&omd, 2, fdims, dnnl_f32, dnnl_nc);
	else
		dnnl_memory_desc_init_by_tag(&omd, 4, odims, dnnl_f32, dnnl_nchw);
	if (dnnl_memory_create(&d->in, &imd, d->eng, DNNL_MEMORY_NONE) != dnnl_success ||
	    dnnl_memory_create(&d->out, &omd, d->eng, DNNL_MEMORY_NONE) != dnnl_success)
		goto fail;
	int first = 0;
	if (own) {
		read_elsewhere = calloc((size_t)net->n, 1);
		if (!read_elsewhere)
			goto fail;
		for (int j = 0; j < net->n; j++) {
			const layer *l = &net->layers[j];
			if (l->type == ROUTE)
				for (int k = 0; k < l->n; k++)
					if (l->input_layers[k] >= 0 && l->input_layers[k] < net->n)
						read_elsewhere[l->input_layers[k]] = 1;
			if (l->type == SHORTCUT && l->index >= 0 && l->index < net->n)
				read_elsewhere[l->index] = 1;
		}
		read_elsewhere[end - 1] = 1;
		first = end >= 2 && B == 1 ? dn_try_c0p(d, net, read_elsewhere) : 0;
		if (first < 0)
			goto fail;
	}
	for (int i = first; i < end; i++) {
		const layer *l = &net->layers[i];
		if (read_elsewhere && i + 1 < end) {
			int r = dn_try_c1p(d, net, i, read_elsewhere);
			if (r < 0)
				goto fail;
			if (r == 2) {
				i++;
				continue;
			}
		}
		dnnl_memory_t src = i ? d->mem[i - 1] : d->in;
		const dnnl_memory_desc_t *smd = i ? &d->md[i - 1] : &imd;
		dnnl_memory_desc_t fmd;
		if (d->q) {
			d->qdt[i] = dnnl_f32;
			d->qs[i] = 1.0f;
			/* int8 ends before the global average pool and the heads */
			if (i && (l->type == AVGPOOL || l->type == CONNECTED) && d->qdt[i - 1] != dnnl_f32) {
				fmd = dn_retype(smd, dnnl_f32);
				src = dn_as_scaled(d, src, smd, &fmd, d->qs[i - 1]);
				smd = &fmd;
				if (!src)
					goto fail;
			}
		}
		int r = -1;
		switch (l->type) {
		case CONVOLUTIONAL: r = dn_conv(d, l, src, smd, i); break;
		case MAXPOOL:
		case AVGPOOL: r = dn_pool(d, l, src, smd, i); break;
		case SHORTCUT: r = dn_shortcut(d, l, src, smd, i); break;
		case ROUTE: r = dn_route(d, l, i); break;
		case CONNECTED: r = dn_ip(d, l, src, smd, i); break;
		default: break;
		}
		if (r)
			goto fail;
	}
	free(read_elsewhere);
	read_elsewhere = NULL;
	/* the last output, into Darknet's buffer */
	{
		dnnl_primitive_desc_t pd;
		float sc = d->q && d->qdt[end - 1] != dnnl_f32 ? d->qs[end - 1] : 1.0f;
		dnnl_primitive_attr_t attr = dn_scale_attr(1, 0, &sc);
		dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, &d->md[end - 1], d->eng, &omd, d->eng, attr);
		if (attr)
			dnnl_primitive_attr_destroy(attr);
		if (s != dnnl_success)
			goto fail;
		dnnl_exec_arg_t a[] = {{DNNL_ARG_FROM, d->mem[end - 1]}, {DNNL_ARG_TO, d->out}};
		if (dn_step(d, pd, 2, a))
			goto fail;
	}
	return d;
fail:
	free(read_elsewhere);
	dn_net_free(d);
	return NULL;
}

int dn_onednn_convs(network *net, int own, int *own_layers, const float *qmax)
{
	if (own_layers)
		*own_layers = 0;
	if (net->n < 1 || net->layers[0].type != CONVOLUTIONAL || dn_runs_get(net->layers, 0) ||
	    net->layers[0].batch != 1)
		return 0;
	int end = 0;
	while (end < net->n && dn_supported(net, end))
		end++;
	/* the layers Darknet runs after the run read only its last output */
	for (int again = 1; again && end > 0;) {
		again = 0;
		for (int j = end; j < net->n; j++) {
			const layer *l = &net->layers[j];
			int lo = end;
			if (l->type == ROUTE)
				for (int k = 0; k < l->n; k++)
					if (l->input_layers[k] < lo - 1)
						lo = l->input_layers[k] + 1;
			if (l->type == SHORTCUT && l->index < lo - 1)
				lo = l->index + 1;
			if (lo < end) {
				end = lo;
				again = 1;
			}
		}
	}
	struct dn_net *d = end >= 1 ? dn_build(net, end, 1, own, NULL, qmax) : NULL;
	if (!d)
		return 0;
	if (dn_runs_put(net->layers, d) != 0) {
		dn_net_free(d);
		return 0;
	}
	net->layers[0].forward = dn_forward_net;
	for (int i = 1; i < end; i++)
		net->layers[i].forward = dn_forward_done;
	/* the buffers Darknet would have written in between are never read */
	for (int i = 0; i < end - 1; i++) {
		free(net->layers[i].output);
		net->layers[i].output = NULL;
	}
	if (own_layers)
		*own_layers = d->mine;
	return end;
}

int dn_onednn_batch(network *net, int n, float *in, float *out)
{
	if (net->n < 1 || net->layers[0].forward != dn_forward_net || n < 1 || n > DN_BATCH_MAX)
		return -1;
	struct dn_net *d = dn_runs_get(net->layers, 0);
	if (!d || d->end != net->n)
		return -1; /* Darknet would have to run the rest */
	if (n > 1 && !d->batched[n])
		d->batched[n] = dn_build(net, d->end, n, 0, d, d->qmax);
	if (n > 1 && !d->batched[n])
		return -1;
	dn_exec(n > 1 ? d->batched[n] : d, in, out);
	return 0;
}

int dn_onednn_runs(const layer *l) { return l->forward == dn_forward_net || l->forward == dn_forward_done; }

void dn_onednn_release(network *net)
{
	if (net->n > 0 && net->layers[0].forward == dn_forward_net) {
		struct dn_net *d = dn_runs_get(net->layers, 1);
		for (int i = 0; d && i < d->end; i++)
			net->layers[i].forward = NULL;
		dn_net_free(d);
	}
}
#else
int dn_onednn_convs(network *net, int own, int *own_layers, const float *qmax)
{
	if (own_layers)
		*own_layers = 0;
	(void)net, (void)own, (void)qmax;
	return -1; /* built without oneDNN */
}

void dn_onednn_release(network *net) { (void)net; }

int dn_onednn_batch(network *net, int n, float *in, float *out)
{
	(void)net, (void)n, (void)in, (void)out;
	return -1;
}

int dn_onednn_runs(const layer *l)
{
	(void)l;
	return 0;
}
#endif
