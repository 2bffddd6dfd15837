/* dn_gemm.c — libdvdarknet: Darknet's matrix multiply, replaced. libdarknet
 * calls gemm() through its PLT; the Darknet plugins link this library before
 * libdarknet, so its definition comes first in their dlopen group and the
 * calls bind here (MODELS.md section 1) — once per process, whichever plugin
 * loads first. It forwards to OpenBLAS's single-threaded sgemm: workers, not
 * BLAS threads, use the cores. The call counter lets dn_gemm_check() (in
 * each plugin) prove the replacement took effect. */
#include "dn_common.h"
#include <cblas.h>
#include <darknet.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_ulong dn_gemm_count;

__attribute__((visibility("default"))) unsigned long dn_gemm_calls(void);
unsigned long dn_gemm_calls(void) { return atomic_load(&dn_gemm_count); }

/* The signature of darknet's gemm(); C = ALPHA * op(A) op(B) + BETA * C. */
__attribute__((visibility("default"))) void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda,
    float *B, int ldb, float BETA, float *C, int ldc);
void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B, int ldb, float BETA, float *C,
    int ldc)
{
	atomic_fetch_add_explicit(&dn_gemm_count, 1, memory_order_relaxed);
	cblas_sgemm(CblasRowMajor, TA ? CblasTrans : CblasNoTrans, TB ? CblasTrans : CblasNoTrans, M, N, K, ALPHA, A, lda,
	    B, ldb, BETA, C, ldc);
}

