/* dn_onednn.c — Darknet's convolutions on oneDNN (Debian libdnnl), through
 * each layer's forward pointer (MODELS.md 5.4): one primitive per layer,
 * chosen by oneDNN for this CPU, with the bias and the activation (leaky,
 * relu) fused; the network keeps Darknet's plain NCHW tensors between layers
 * (reorders to and from oneDNN's blocked layouts where it picks them). The
 * layer's state hangs on its (otherwise unused) rolling_mean pointer and is
 * released by dn_onednn_release before Darknet frees the network. */
#include "config.h"
#include "dn_common.h"
#include <darknet.h>
#ifdef HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct dn_conv {
	uint32_t magic;
	dnnl_engine_t eng;
	dnnl_stream_t st;
	dnnl_primitive_t conv, rin, rout;
	dnnl_memory_t usrc, udst, src, dst, wei, bias;
	dnnl_memory_desc_t smd, dmd;  /* the layouts oneDNN chose */
	int from_prev;                /* src is the previous layer's dst: no reorder in */
	int to_next;                  /* dst feeds the next layer as is: no reorder out */
};
#define DN_CONV_MAGIC 0x444e4e4cu

static void dn_conv_free(struct dn_conv *c)
{
	if (!c)
		return;
	dnnl_primitive_t ps[] = {c->conv, c->rin, c->rout};
	for (int i = 0; i < 3; i++)
		if (ps[i])
			dnnl_primitive_destroy(ps[i]);
	if (c->src && c->src != c->usrc)
		dnnl_memory_destroy(c->src);
	if (c->dst && c->dst != c->udst)
		dnnl_memory_destroy(c->dst);
	dnnl_memory_t ms[] = {c->usrc, c->udst, c->wei, c->bias};
	for (int i = 0; i < 4; i++)
		if (ms[i])
			dnnl_memory_destroy(ms[i]);
	if (c->st)
		dnnl_stream_destroy(c->st);
	if (c->eng)
		dnnl_engine_destroy(c->eng);
	free(c);
}

static void dn_forward_onednn(layer l, network net)
{
	struct dn_conv *c = (struct dn_conv *)l.rolling_mean;
	dnnl_memory_set_data_handle(c->usrc, net.input);
	dnnl_memory_set_data_handle(c->udst, l.output);
	if (c->rin && !c->from_prev) {
		dnnl_exec_arg_t a[] = {{DNNL_ARG_FROM, c->usrc}, {DNNL_ARG_TO, c->src}};
		dnnl_primitive_execute(c->rin, c->st, 2, a);
	}
	dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, c->src}, {DNNL_ARG_WEIGHTS, c->wei}, {DNNL_ARG_BIAS, c->bias},
	    {DNNL_ARG_DST, c->dst}};
	dnnl_primitive_execute(c->conv, c->st, 4, a);
	if (c->rout && !c->to_next) {
		dnnl_exec_arg_t b[] = {{DNNL_ARG_FROM, c->dst}, {DNNL_ARG_TO, c->udst}};
		dnnl_primitive_execute(c->rout, c->st, 2, b);
	}
	dnnl_stream_wait(c->st);
}

/* A reorder from a to b (b allocated when it differs); NULL prim when the same. */
static int dn_reorder(dnnl_engine_t eng, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, dnnl_primitive_t *p)
{
	*p = NULL;
	if (dnnl_memory_desc_equal(from, to))
		return 0;
	dnnl_primitive_desc_t pd;
	if (dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, NULL) != dnnl_success)
		return -1;
	int r = dnnl_primitive_create(p, pd) == dnnl_success ? 0 : -1;
	dnnl_primitive_desc_destroy(pd);
	return r;
}

static struct dn_conv *dn_conv_make(layer *l)
{
	struct dn_conv *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->magic = DN_CONV_MAGIC;
	if (dnnl_engine_create(&c->eng, dnnl_cpu, 0) != dnnl_success ||
	    dnnl_stream_create(&c->st, c->eng, dnnl_stream_default_flags) != dnnl_success)
		goto fail;
	int g = l->groups > 1 ? l->groups : 1;
	dnnl_dims_t sd = {1, l->c, l->h, l->w}, dd = {1, l->n, l->out_h, l->out_w}, bd = {l->n};
	dnnl_dims_t wd5 = {g, l->n / g, l->c / g, l->size, l->size}, wd4 = {l->n, l->c, l->size, l->size};
	dnnl_dims_t strides = {l->stride, l->stride}, pads = {l->pad, l->pad};
	/* the right padding that makes Darknet's output size */
	dnnl_dims_t padr = {(l->out_h - 1) * l->stride + l->size - l->h - l->pad, (l->out_w - 1) * l->stride + l->size - l->w - l->pad};
	dnnl_memory_desc_t usrc_md, udst_md, uwei_md, bias_md, any_s, any_d, any_w;
	dnnl_memory_desc_init_by_tag(&usrc_md, 4, sd, dnnl_f32, dnnl_nchw);
	dnnl_memory_desc_init_by_tag(&udst_md, 4, dd, dnnl_f32, dnnl_nchw);
	if (g > 1)
		dnnl_memory_desc_init_by_tag(&uwei_md, 5, wd5, dnnl_f32, dnnl_goihw);
	else
		dnnl_memory_desc_init_by_tag(&uwei_md, 4, wd4, dnnl_f32, dnnl_oihw);
	dnnl_memory_desc_init_by_tag(&bias_md, 1, bd, dnnl_f32, dnnl_x);
	/* "any": oneDNN's blocked layouts, reordered from and to NCHW around the
	 * layer, measured faster than its plain-NCHW kernels for every net here
	 * (detect@320 13.2 vs 20.0 ms, landmarks 7.9 vs 9.9, embed 7.9 vs 11.7) */
	dnnl_memory_desc_init_by_tag(&any_s, 4, sd, dnnl_f32, dnnl_format_tag_any);
	dnnl_memory_desc_init_by_tag(&any_d, 4, dd, dnnl_f32, dnnl_format_tag_any);
	if (g > 1)
		dnnl_memory_desc_init_by_tag(&any_w, 5, wd5, dnnl_f32, dnnl_format_tag_any);
	else
		dnnl_memory_desc_init_by_tag(&any_w, 4, wd4, dnnl_f32, dnnl_format_tag_any);
	dnnl_convolution_desc_t cd;
	if (dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &any_s, &any_w, &bias_md,
	        &any_d, strides, pads, padr) != dnnl_success)
		goto fail;
	dnnl_primitive_attr_t attr;
	dnnl_post_ops_t po;
	dnnl_primitive_attr_create(&attr);
	dnnl_post_ops_create(&po);
	if (l->activation == LEAKY)
		dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.1f, 0.0f);
	else if (l->activation == RELU)
		dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
	dnnl_primitive_attr_set_post_ops(attr, po);
	dnnl_primitive_desc_t pd;
	dnnl_status_t s = dnnl_primitive_desc_create(&pd, &cd, attr, c->eng, NULL);
	dnnl_post_ops_destroy(po);
	dnnl_primitive_attr_destroy(attr);
	if (s != dnnl_success)
		goto fail;
	const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
	                         *dmd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0),
	                         *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
	c->smd = *smd;
	c->dmd = *dmd;
	s = dnnl_primitive_create(&c->conv, pd);
	/* memories: user tensors wrap Darknet's buffers at each call */
	dnnl_memory_create(&c->usrc, &usrc_md, c->eng, DNNL_MEMORY_NONE);
	dnnl_memory_create(&c->udst, &udst_md, c->eng, DNNL_MEMORY_NONE);
	if (dn_reorder(c->eng, &usrc_md, smd, &c->rin) || dn_reorder(c->eng, dmd, &udst_md, &c->rout)) {
		dnnl_primitive_desc_destroy(pd);
		goto fail;
	}
	if (c->rin)
		dnnl_memory_create(&c->src, smd, c->eng, DNNL_MEMORY_ALLOCATE);
	else
		c->src = c->usrc;
	if (c->rout)
		dnnl_memory_create(&c->dst, dmd, c->eng, DNNL_MEMORY_ALLOCATE);
	else
		c->dst = c->udst;
	dnnl_memory_create(&c->bias, &bias_md, c->eng, DNNL_MEMORY_ALLOCATE);
	void *bh;
	dnnl_memory_get_data_handle(c->bias, &bh);
	memcpy(bh, l->biases, sizeof(float) * (size_t)l->n);
	/* the weights, once, into oneDNN's layout */
	dnnl_memory_t uw;
	dnnl_memory_create(&uw, &uwei_md, c->eng, l->weights);
	dnnl_memory_create(&c->wei, wmd, c->eng, DNNL_MEMORY_ALLOCATE);
	dnnl_primitive_t rw;
	if (dn_reorder(c->eng, &uwei_md, wmd, &rw) == 0 && rw) {
		dnnl_exec_arg_t a[] = {{DNNL_ARG_FROM, uw}, {DNNL_ARG_TO, c->wei}};
		dnnl_primitive_execute(rw, c->st, 2, a);
		dnnl_stream_wait(c->st);
		dnnl_primitive_destroy(rw);
	} else {
		void *wh;
		dnnl_memory_get_data_handle(c->wei, &wh);
		memcpy(wh, l->weights, sizeof(float) * (size_t)l->nweights);
	}
	dnnl_memory_destroy(uw);
	dnnl_primitive_desc_destroy(pd);
	if (s != dnnl_success)
		goto fail;
	return c;
fail:
	dn_conv_free(c);
	return NULL;
}

int dn_onednn_convs(network *net)
{
	int done = 0;
	for (int i = 0; i < net->n; i++) {
		layer *l = &net->layers[i];
		if (l->type != CONVOLUTIONAL || l->batch_normalize || l->rolling_mean ||
		    (l->activation != LEAKY && l->activation != RELU && l->activation != LINEAR) || l->batch != 1)
			continue;
		struct dn_conv *c = dn_conv_make(l);
		if (!c)
			continue;
		l->rolling_mean = (float *)c;
		l->forward = dn_forward_onednn;
		done++;
	}
	/* Consecutive oneDNN convolutions hand their tensor over in oneDNN's own
	 * layout, with no NCHW round trip, when nothing else reads the first
	 * one's output (a route or shortcut layer, or the network's output) and
	 * the layouts agree. Darknet's l.output of such a layer is then stale. */
	char *read_elsewhere = calloc((size_t)net->n + 1, 1);
	if (!read_elsewhere)
		return done;
	for (int j = 0; j < net->n; j++) {
		layer *l = &net->layers[j];
		if (l->type == ROUTE)
			for (int k = 0; k < l->n; k++)
				if (l->input_layers[k] >= 0 && l->input_layers[k] < net->n)
					read_elsewhere[l->input_layers[k]] = 1;
		if (l->type == SHORTCUT && l->index >= 0 && l->index < net->n)
			read_elsewhere[l->index] = 1;
	}
	if (net->n > 0)
		read_elsewhere[net->n - 1] = 1;
	for (int i = 0; i + 1 < net->n; i++) {
		layer *a = &net->layers[i], *b = &net->layers[i + 1];
		if (a->forward != dn_forward_onednn || b->forward != dn_forward_onednn || read_elsewhere[i])
			continue;
		struct dn_conv *ca = (struct dn_conv *)a->rolling_mean, *cb = (struct dn_conv *)b->rolling_mean;
		if (!ca->rout || !cb->rin || !dnnl_memory_desc_equal(&ca->dmd, &cb->smd))
			continue;
		/* b reads a's oneDNN tensor itself */
		void *h;
		dnnl_memory_get_data_handle(ca->dst, &h);
		if (cb->src && cb->src != cb->usrc)
			dnnl_memory_destroy(cb->src);
		if (dnnl_memory_create(&cb->src, &cb->smd, cb->eng, h) != dnnl_success) {
			cb->src = NULL;
			break;
		}
		ca->to_next = 1;
		cb->from_prev = 1;
	}
	free(read_elsewhere);
	return done;
}

int dn_onednn_runs(const layer *l) { return l->forward == dn_forward_onednn; }

void dn_onednn_release(network *net)
{
	for (int i = 0; i < net->n; i++) {
		layer *l = &net->layers[i];
		if (l->forward == dn_forward_onednn) {
			dn_conv_free((struct dn_conv *)l->rolling_mean);
			l->rolling_mean = NULL;
			l->forward = NULL;
		}
	}
}
#else
int dn_onednn_convs(network *net)
{
	(void)net;
	return -1; /* built without oneDNN */
}

void dn_onednn_release(network *net) { (void)net; }

int dn_onednn_runs(const layer *l)
{
	(void)l;
	return 0;
}
#endif
