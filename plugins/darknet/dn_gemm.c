/* dn_gemm.c — libdvdarknet: Darknet's matrix multiply, replaced. libdarknet
 * calls gemm() through its PLT; the Darknet plugins link this library before
 * libdarknet, so its definition comes first in their dlopen group and the
 * calls bind here (the dynamic linker binds a symbol to its first definition
 * in the lookup order) — once per process, whichever plugin
 * loads first. It forwards to OpenBLAS's single-threaded sgemm: workers, not
 * BLAS threads, use the cores. The call counter lets dn_gemm_check() (in
 * each plugin) prove the replacement took effect. */
#include "dn_common.h"
#include <cblas.h>
#include <darknet.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_ulong dn_gemm_count;
static atomic_int dn_gemm_naive;

/* Darknet's own loop, for measuring Darknet as shipped (make bench). */
void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B, int ldb, float BETA,
    float *C, int ldc);
__attribute__((visibility("default"))) void dn_gemm_set_naive(int on);
void dn_gemm_set_naive(int on) { atomic_store(&dn_gemm_naive, on); }

__attribute__((visibility("default"))) unsigned long dn_gemm_calls(void);
unsigned long dn_gemm_calls(void) { return atomic_load(&dn_gemm_count); }

/* The signature of darknet's gemm(); C = ALPHA * op(A) op(B) + BETA * C. */
__attribute__((visibility("default"))) void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda,
    float *B, int ldb, float BETA, float *C, int ldc);
void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B, int ldb, float BETA, float *C,
    int ldc)
{
	atomic_fetch_add_explicit(&dn_gemm_count, 1, memory_order_relaxed);
	if (atomic_load_explicit(&dn_gemm_naive, memory_order_relaxed)) {
		gemm_cpu(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
		return;
	}
	cblas_sgemm(CblasRowMajor, TA ? CblasTrans : CblasNoTrans, TB ? CblasTrans : CblasNoTrans, M, N, K, ALPHA, A, lda,
	    B, ldb, BETA, C, ldc);
}

