// AVX-512 pointwise kernels of frozen encoding (MiniMindTensor's `EncoderInference`; see
// include/CDecodeKernels.h).
//
// Why: the Swift kernels are built for the Makefile's `-target-cpu haswell` (8 lanes, no masks): in
// a bf16 image encoding, attention's softmax and the MLP's activation (with the bf16 rounding of its
// output) took 12 % of the time. Here 16 lanes, masked tails, e^x scaled by vscalefps and 1/(1 + e)
// by vrcp14ps with one Newton step (within 2 ulp of the division).
#include "CDecodeKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline))

// e^x with n = round(x·log2 e), r = x − n·ln 2 (ln 2 in two parts), the degree-6 polynomial of
// `VectorMath.exp`, then 2^n by vscalefps (no exponent overflow to guard). x is clamped to
// [−110, 1000] first, so −∞ gives exactly 0 and +∞ gives +∞; NaN stays NaN.
AVX512 INLINE __m512 exp16(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-110.0f), _mm512_min_ps(_mm512_set1_ps(1000.0f), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.98756915e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.39819995e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.33345190e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.16657959e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.66666655e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.00000012e-1f));
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(y, n);
}

// x·σ(z) = x / (1 + e^−z). For −z > 88, σ(z) < 2⁻¹²⁶ is taken as 0 (so x·σ is ±0, as the Swift
// kernel's 1 / (1 + ∞) gives), and e^−z is not computed beyond 88: 1 + e^−z stays finite for the
// Newton step.
AVX512 INLINE __m512 times_sigmoid16(__m512 x, __m512 z) {
  const __m512 negz = _mm512_sub_ps(_mm512_setzero_ps(), z), limit = _mm512_set1_ps(88.0f);
  const __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_min_ps(limit, negz)));
  __m512 inv = _mm512_rcp14_ps(d);
  inv = _mm512_mul_ps(inv, _mm512_fnmadd_ps(d, inv, _mm512_set1_ps(2.0f)));
  inv = _mm512_mask_mov_ps(inv, _mm512_cmp_ps_mask(negz, limit, _CMP_GT_OQ), _mm512_setzero_ps());
  return _mm512_mul_ps(x, inv);
}

// `BFloat16Bits.round`: nearest even, NaN → its quiet NaN (same bits as the Swift rounding).
AVX512 INLINE __m256i bf16_16(__m512 y) {
  const __m512i b = _mm512_castps_si512(y);
  const __m512i high = _mm512_srli_epi32(b, 16);
  const __m512i lsb = _mm512_and_si512(high, _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(b, _mm512_set1_epi32(0x7FFF)), lsb), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q);
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(high, _mm512_set1_epi32(0x40)));
  return _mm512_cvtepi32_epi16(r);
}

AVX512 INLINE __mmask16 tail_mask(long left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1); }

AVX512 void mm_encoder_activation_avx512(float *x, uint16_t *bits, long count, int kind) {
  const __m512 k = _mm512_set1_ps(kind == 0 ? 1.702f : 2 * 0.79788456f), cubic = _mm512_set1_ps(0.044715f);
  for (long i = 0; i < count; i += 16) {
    const __mmask16 m = tail_mask(count - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    __m512 z;
    if (kind == 0) {
      z = _mm512_mul_ps(k, v);
    } else {  // 2u = 2·√(2/π)·(x + 0.044715·x³), x clamped to ±30 as `geluTanhArgument` does
      const __m512 c = _mm512_max_ps(_mm512_set1_ps(-30.0f), _mm512_min_ps(_mm512_set1_ps(30.0f), v));
      z = _mm512_mul_ps(k, _mm512_fmadd_ps(_mm512_mul_ps(cubic, _mm512_mul_ps(c, c)), c, c));
    }
    const __m512 y = times_sigmoid16(v, z);
    _mm512_mask_storeu_ps(x + i, m, y);
    if (bits) _mm256_mask_storeu_epi16(bits + i, m, bf16_16(y));
  }
}

AVX512 void mm_encoder_softmax_rows_avx512(float *s, long rows, long count, long ld, float scale) {
  const __m512 sc = _mm512_set1_ps(scale), ninf = _mm512_set1_ps(-__builtin_inff());
  for (long row = 0; row < rows; row++) {
    float *p = s + row * ld;
    __m512 mx = ninf;
    for (long i = 0; i < count; i += 16) mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(ninf, tail_mask(count - i), p + i));
    const float top = _mm512_reduce_max_ps(mx) * scale;
    if (top == -__builtin_inff()) {  // nothing finite: zeros, as `softmaxRow` gives
      for (long i = 0; i < count; i++) p[i] = 0;
      continue;
    }
    const __m512 shift = _mm512_set1_ps(top);
    __m512 acc = _mm512_setzero_ps();
    for (long i = 0; i < count; i += 16) {
      const __mmask16 m = tail_mask(count - i);
      const __m512 e = exp16(_mm512_fmsub_ps(_mm512_mask_loadu_ps(ninf, m, p + i), sc, shift));
      _mm512_mask_storeu_ps(p + i, m, e);
      acc = _mm512_add_ps(acc, _mm512_maskz_mov_ps(m, e));
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(acc));
    for (long i = 0; i < count; i += 16) {
      const __mmask16 m = tail_mask(count - i);
      _mm512_mask_storeu_ps(p + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + i), inv));
    }
  }
}
#endif
