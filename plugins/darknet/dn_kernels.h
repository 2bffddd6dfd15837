/* dn_kernels.h — our own vectorised kernels for layer shapes where they beat
 * oneDNN (dn_kernels.c); dn_onednn.c chooses them per layer. */
#ifndef DN_KERNELS_H
#define DN_KERNELS_H

/* 3x3 'valid' convolution 3 -> 16 channels (bias, then activation: 0
 * linear, 1 relu, 2 leaky 0.1) followed by a 2x2/2 max pool, in one pass.
 * NULL when the CPU lacks AVX-512 or the shape does not fit (input h x w with
 * h - 2 and w - 2 even). weights in Darknet's [o][ci][ky][kx] order. */
struct dn_c0p;
struct dn_c0p *dn_c0p_make(const float *weights, const float *bias, int h, int w, int act);
/* in: planar 3 x h x w; out: 16 x (h-2)/2 x (w-2)/2, channels last (nhwc,
 * which for 16 channels is also oneDNN's nChw16c) */
void dn_c0p_run(const struct dn_c0p *k, const float *in, float *out);
void dn_c0p_free(struct dn_c0p *k);

/* 1x1 convolution cin -> cout (cout a multiple of 32; bias, activation as
 * above) followed by a 2x2/2 max pool (Darknet's, the window clipped at the
 * right and bottom edges), batch images, channels last in (h x w x cin) and
 * out (ceil(h/2) x ceil(w/2) x cout). NULL without AVX-512 or on other shapes. */
struct dn_c1p;
struct dn_c1p *dn_c1p_make(const float *weights, const float *bias, int batch, int h, int w, int cin, int cout, int act);
void dn_c1p_run(const struct dn_c1p *k, const float *in, float *out);
void dn_c1p_free(struct dn_c1p *k);
#endif
