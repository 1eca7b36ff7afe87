#pragma once
// Matrix–vector kernels of the packed decode weights (MiniMindV's `PackedMatrix`) for CPUs with
// AVX-512 F/BW/DQ/VL. Each function carries its own target attribute, so this file builds with the
// baseline x86-64 flags and the caller decides at run time (`DecodeKernel`) whether to call it.
// Nothing is declared on other architectures.
//
// All three compute y[i·ldy + r] = Σ_c W[r, c]·x[i·cols + c] (plus the old y[i·ldy + r] when
// `accumulate`) for weight rows r in [r0, r1) and input rows i < m, with float32 products and sums
// (the same numbers as the portable Swift kernels up to summation order). The weights are stored in
// `PackedLayout`'s orders; row r starts at element r·cols (bf16, int8) or word r·wordsPerRow (int4).
#include <stdint.h>

#if defined(__x86_64__)
/// bfloat16 weights, groups of 16 (word j = values j and 8 + j), the last cols % 16 values in order.
/// `rows_per_pass` 4 runs four weight rows per pass sharing the loads of x, 1 one row at a time (one
/// sequential stream of weights); every row's sums are the same either way, bit for bit.
void mm_decode_bf16_avx512(const uint16_t *w, const float *x, float *y, long cols, long m, long ldy,
                           long r0, long r1, int accumulate, int rows_per_pass);

/// int8 weights in blocks of 32 (byte k of word j = value 8k + j), one scale per `group` values of a
/// row (`group` a multiple of 32 dividing `cols`, itself a multiple of 32).
void mm_decode_int8_avx512(const int8_t *w, const float *scales, long group, const float *x, float *y,
                           long cols, long m, long ldy, long r0, long r1, int accumulate);

/// int4 weights, 8 words per 64 values (nibble k of word j = value 8k + j, stored as q + 8), one
/// scale per 32 values; `cols` a multiple of 32, rows (cols + 63) / 64 · 8 words apart.
void mm_decode_int4_avx512(const uint32_t *w, const float *scales, const float *x, float *y,
                           long cols, long m, long ldy, long r0, long r1, int accumulate);

/// float32 C[i·ldc + j] = alpha·Σ_e A[i·lda + e]·B[j·ldb + e] + beta·C[i·ldc + j] for i < m, j < n
/// (C not read when beta is 0): a few rows of A against a row-major weight matrix B [n, k]
/// (MiniMindTensor's `SkinnyGEMM`, the linear layers of a batched decode step). `rows_per_pass`:
/// weight rows read together, 1 or 4 (any other value means 4); the sums do not depend on it.
void mm_skinny_f32_avx512(const float *a, long lda, const float *b, long ldb, float *c, long ldc,
                          long m, long n, long k, float alpha, float beta, int rows_per_pass);

// Pointwise kernels of frozen encoding (MiniMindTensor's `EncoderInference`, EncoderKernels.c).

/// In place x[i] = x[i]·σ(z(x[i])) for i < count: kind 0 quick-GELU (z = 1.702·x), 1 tanh-GELU
/// (z = 2·√(2/π)·(x + 0.044715·x³), x clamped to ±30 in z). With `bits`, also bits[i] = the
/// result rounded to bfloat16 (nearest even, `BFloat16Bits.round`'s bits).
void mm_encoder_activation_avx512(float *x, uint16_t *bits, long count, int kind);

/// Softmax in place of `rows` rows of `count` scores, `ld` apart, each scaled by `scale` (> 0)
/// inside the exp; a row with no finite score becomes zeros.
void mm_encoder_softmax_rows_avx512(float *s, long rows, long count, long ld, float scale);
#endif
