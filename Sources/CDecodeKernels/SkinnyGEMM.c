// AVX-512 float32 product of a few rows against a weight matrix (see include/CDecodeKernels.h).
//
// Why: a batched decode step multiplies 2–8 rows (one per sequence) by every weight matrix. The
// Swift kernel (SIMD8, 4 × 2 blocks) reached about 50 GFLOP/s on one core, so 8 rows cost 3–4× one
// row's memory-bound GEMV instead of about the same. Here blocks of 4 weight rows × 4 input rows
// keep 16 accumulators of 16 lanes (8 loads per 16 FMAs), each weight row is read once per block
// of input rows, and the 16 dot products are summed with one horizontal-add tree. In the cache
// (512×512 weights, one thread): 8 rows 110 GFLOP/s, one row 33. `rows_per_pass` 1 reads one weight
// row at a time instead (one sequential stream per thread: faster on an AMD EPYC, where four
// interleaved rows held one-row decode to ~60 % of the read bandwidth); each sum is the same bit for bit.
#include "CDecodeKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline))
// The weights are prefetched this many rows ahead: the hardware prefetcher alone fell behind (whole
// minimind2-small-v step, one thread, loaded Xeon, min of 40: 8 rows 8.4–10.3 ms without, 5.5–5.8 with;
// 4 rows 4.2–5.5 against 3.6–3.7; 4 and 16 rows ahead no better).
#define PREFETCH_ROWS 8

// The 16 lanes of v summed down to 4 (lanes i, i+4, i+8, i+12 added).
AVX512 INLINE __m128 fold4(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// Rows i < mr of A against rows r < nr of B (mr, nr ≤ 4, constants after inlining): C[i][r] =
// alpha·dot + beta·C (C not read when beta is 0).
AVX512 INLINE void skinny_block(const float *a, long lda, const float *b, long ldb, float *c, long ldc, long k,
                                float alpha, float beta, const int mr, const int nr) {
  __m512 acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int r = 0; r < 4; r++) acc[i][r] = _mm512_setzero_ps();
  long e = 0;
  for (; e + 16 <= k; e += 16) {
    __m512 w[4];
    for (int r = 0; r < nr; r++) {
      w[r] = _mm512_loadu_ps(b + r * ldb + e);
      _mm_prefetch((const char *)(b + (r + PREFETCH_ROWS) * ldb + e), _MM_HINT_T0);
    }
    for (int i = 0; i < mr; i++) {
      const __m512 x = _mm512_loadu_ps(a + i * lda + e);
      for (int r = 0; r < nr; r++) acc[i][r] = _mm512_fmadd_ps(x, w[r], acc[i][r]);
    }
  }
  if (e < k) {  // the last k % 16 values, masked
    const __mmask16 mask = (__mmask16)((1u << (k - e)) - 1);
    __m512 w[4];
    for (int r = 0; r < nr; r++) w[r] = _mm512_maskz_loadu_ps(mask, b + r * ldb + e);
    for (int i = 0; i < mr; i++) {
      const __m512 x = _mm512_maskz_loadu_ps(mask, a + i * lda + e);
      for (int r = 0; r < nr; r++) acc[i][r] = _mm512_fmadd_ps(x, w[r], acc[i][r]);
    }
  }
  const __m128 va = _mm_set1_ps(alpha), vb = _mm_set1_ps(beta);
  for (int i = 0; i < mr; i++) {
    // hadd(hadd(a, b), hadd(c, d)) = (Σa, Σb, Σc, Σd); unused rows are zero.
    const __m128 s = _mm_hadd_ps(_mm_hadd_ps(fold4(acc[i][0]), fold4(acc[i][1])),
                                 _mm_hadd_ps(fold4(acc[i][2]), fold4(acc[i][3])));
    float *p = c + i * ldc;
    if (nr == 4) {
      const __m128 d = _mm_mul_ps(va, s);
      _mm_storeu_ps(p, beta == 0 ? d : _mm_fmadd_ps(vb, _mm_loadu_ps(p), d));
    } else {
      float d[4];
      _mm_storeu_ps(d, s);
      for (int r = 0; r < nr; r++) p[r] = beta == 0 ? alpha * d[r] : alpha * d[r] + beta * p[r];
    }
  }
}

#define BLOCK(M, N) case (M) * 8 + (N): skinny_block(a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, k, alpha, beta, M, N); break;

AVX512 void mm_skinny_f32_avx512(const float *a, long lda, const float *b, long ldb, float *c, long ldc,
                                 long m, long n, long k, float alpha, float beta, int rows_per_pass) {
  const int per_pass = rows_per_pass == 1 ? 1 : 4;
  for (long j = 0; j < n; j += per_pass) {
    const int nr = n - j >= per_pass ? per_pass : (int)(n - j);
    for (long i = 0; i < m; i += 4) {
      const int mr = m - i >= 4 ? 4 : (int)(m - i);
      switch (mr * 8 + nr) {
        BLOCK(1, 1) BLOCK(1, 2) BLOCK(1, 3) BLOCK(1, 4)
        BLOCK(2, 1) BLOCK(2, 2) BLOCK(2, 3) BLOCK(2, 4)
        BLOCK(3, 1) BLOCK(3, 2) BLOCK(3, 3) BLOCK(3, 4)
        BLOCK(4, 1) BLOCK(4, 2) BLOCK(4, 3) BLOCK(4, 4)
      }
    }
  }
}
#endif
