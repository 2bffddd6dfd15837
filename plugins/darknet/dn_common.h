/* dn_common.h — helpers shared by the Darknet plugins (compiled into each,
 * since plugins link no daemon symbols). */
#ifndef DN_COMMON_H
#define DN_COMMON_H
#include <dejaview/plugin.h>
#include "dv_sha256.h"
#include <stddef.h>
#include <stdint.h>

struct network;
struct layer;


/* Load NET.cfg and NET.weights from the model directory, after checking
 * the weights' size and sha256 against weights.size / weights.sha256 in the
 * same directory (Darknet exits on a missing file and silently accepts a
 * short one). width/height > 0 replace the cfg's input size. Darknet's
 * chatter on stderr is suppressed. When sum is not NULL it receives the
 * verified sha256 of the weights (64 hex digits). Returns NULL with the
 * reason given to host->error. */
struct network *dn_load(const struct dv_host *h, const char *net, int width, int height, char sum[65]);

/* Free a network completely: Darknet's free_network() leaves the shared
 * workspace and a few counters behind (18 MB for the detector at 416), which
 * would leak on every reload. */
void dn_free(struct network *net);
/* Run the network on oneDNN (dn_onednn.c): the longest run of layers from
 * the input it can do, with our own kernels (dn_kernels.c) where they win
 * when own is set (*own_layers: how many layers they run). Returns the
 * number of layers run so, -1 when built without oneDNN. qmax: in int8
 * (dn_conv_kernels). Released by dn_free. */
int dn_onednn_convs(struct network *net, int own, int *own_layers, const float *qmax);
void dn_onednn_release(struct network *net);
/* Run n (1..8) images through a network that oneDNN runs whole: in holds
 * the n input tensors one after the other, out receives the n outputs. The
 * primitives for n are built on first use and share the weights. -1 when
 * the network is not run whole by oneDNN or n is out of range. */
int dn_onednn_batch(struct network *net, int n, float *in, float *out);
#define DN_BATCH 8
/* The n input tensors in (in_len floats each) through net, outputs (out_len
 * floats each) to out: in passes of a power of two up to batch (6 faces with
 * batch 8: 4 + 2, so only batch sizes 2, 4, 8 ever get primitives) when
 * oneDNN runs the whole net, else one by one on Darknet. */
void dn_predict(struct network *net, int n, int batch, float *in, size_t in_len, float *out, size_t out_len);
/* Whether this layer runs on oneDNN (and so never calls Darknet's gemm). */
int dn_onednn_runs(const struct layer *l);
#ifdef HAVE_ONEDNN
#define DN_CONV_DEFAULT "onednn"
#else
#define DN_CONV_DEFAULT "darknet"
#endif
/* Apply the plugin's `conv` parameter to a network: onednn (oneDNN, and our
 * own kernels where they win), onednn-only, or darknet. With qmax (the int8
 * table's net->n + 1 magnitudes, dn_int8_table) the network runs in int8 on
 * oneDNN, every layer of it or an error. */
int dn_conv_kernels(const struct dv_host *h, struct network *net, const char *conv, const float *qmax);
/* The int8 table of model NAME (NAME.int8.tsv in model_dir: the largest
 * magnitude of the input and of each layer's output over the calibration
 * chips, make calibrate-int8), checked against the weights' sha256 and the
 * network's layers: 0 with *qmax (nlayers + 1 floats, malloc'd), 1 when
 * there is none, -1 when it does not fit (the reason given to h->error). */
int dn_int8_table(const struct dv_host *h, const char *model, const char sum[65], int nlayers, float **qmax);
/* A plugin's `precision` parameter (auto, int8 or f32) with its `conv`:
 * *qmax the int8 table to run with (auto: when the build has oneDNN, conv
 * is oneDNN and the table fits), or NULL for float. 0, or -1 with the reason
 * given to h->error (another precision; int8 without a table, naming
 * make_target; a table that does not fit). */
int dn_precision(const struct dv_host *h, const char *prec, const char *conv, const char *model, const char sum[65],
    int nlayers, const char *make_target, float **qmax);
/* Free the buffers only training uses (delta, *_updates, x_norm...); returns the bytes freed. */
size_t dn_strip_training(struct network *net);

/* face-api's toBatchTensor for one image, bit-exact with tfjs-cpu:
 * padToSquare (zeros bottom/right, or centred), resizeBilinear to S x S
 * (align_corners = half_pixel_centers = false, in double), then
 * (x - mean[c]) / div in float32, written planar (CHW) into out[3*S*S]. */
void dn_batch_tensor(const struct dv_image *img, int S, int center, const float mean[3], float div, float *out);
/* The same on an N x N zero canvas with the image at (ox, oy). */
void dn_canvas_tensor(const struct dv_image *img, int S, int N, int ox, int oy, const float mean[3], float div, float *out);
/* Its top-left Sw x Sh (<= S) only, planar Sw x Sh: the same values as those
 * of the S x S tensor, the rest not computed (the detector's input_fit). */
void dn_canvas_tensor_rect(const struct dv_image *img, int S, int Sw, int Sh, int N, int ox, int oy, const float mean[3],
    float div, float *out);
/* Point every depthwise convolution of net (groups == channels, no batch
 * norm) at a direct kernel with Darknet's summation order. Returns how many
 * layers were switched. */
int dn_direct_depthwise(struct network *net);

/* Run one pass on zeros and report whether Darknet's gemm went through our
 * OpenBLAS replacement (logged once per process). Returns 1, 0, or -1. */
int dn_gemm_check(const struct dv_host *h, struct network *net);
#endif
