/* dn_gemm.c — Darknet's matrix multiply, replaced. libdarknet calls gemm()
 * through its PLT, so this definition, exported from the plugin, is the one
 * its calls bind to when the plugin's dlopen group is searched (MODELS.md
 * section 1). It forwards to OpenBLAS's single-threaded sgemm: workers, not
 * BLAS threads, use the cores. The call counter lets dn_gemm_check() prove
 * the replacement took effect. */
#include "dn_common.h"
#include <cblas.h>
#include <darknet.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_ulong dn_gemm_count;

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

int dn_gemm_check(const struct dv_host *h, struct network *net)
{
	static atomic_int logged;
	openblas_set_num_threads(1);
	float *x = calloc((size_t)net->inputs, sizeof *x);
	if (!x)
		return -1;
	unsigned long before = atomic_load(&dn_gemm_count);
	network_predict(net, x);
	free(x);
	unsigned long calls = atomic_load(&dn_gemm_count) - before;
	if (!atomic_exchange(&logged, 1)) {
		if (calls)
			h->log(h, DV_LOG_INFO, "Darknet's gemm runs on OpenBLAS (single-threaded) calls_per_pass=%lu", calls);
		else
			h->log(h, DV_LOG_WARN, "Darknet's gemm is NOT routed to OpenBLAS: the naive loop is in use");
	}
	return calls ? 1 : 0;
}
