// AVX-512 kernels of the packed decode weights (see include/CDecodeKernels.h).
//
// Why C: a decode step is a few hundred short matrix–vector products over weights that sit in the
// L2/L3 caches. The Swift SIMD8 kernels run one weight row at a time with one or two dependent FMA
// chains, so they wait on FMA latency; here four weight rows share every load of x, each row has its
// own accumulators (8 independent chains), and the lanes are 16 wide. Swift cannot ask for AVX-512
// per function, C can (`target` attributes), which keeps the rest of the package portable.
#include "CDecodeKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))
#define INLINE static inline __attribute__((always_inline))
// Weight rows per pass: x's loads and permutes are shared by them; 4 × 2 accumulators hide FMA latency.
// (bf16 takes its rows per pass as an argument, 1 or ROWS: one sequential stream of weights per thread
// ran faster on an AMD EPYC; `DecodeKernel.weightRowsPerPass` chooses.)
#define ROWS 4
// The kernels prefetch the weights this many rows ahead: the hardware prefetcher alone fell behind
// (one thread, one token of minimind2-small-v on a Xeon: int8 1.28 ms with, 1.66 ms without; bf16
// gained nothing there, but on an AMD EPYC (Zen 4) with half the Xeon's read bandwidth two
// threads of bf16 ran 1.2-1.6x faster with it; Docs/Performance.md, "On an AMD EPYC").
#define PREFETCH_ROWS 8

static inline float bf16_to_float(uint16_t b) {
  union { uint32_t u; float f; } v = { (uint32_t)b << 16 };
  return v.f;
}

INLINE void store(float *y, long i, long ldy, long r, float d, int accumulate) {
  float *p = y + i * ldy + r;
  *p = accumulate ? *p + d : d;
}

// MARK: bf16

// `nr` rows (ROWS or 1) of bf16 weights against one input row x; sums into out[0..nr).
AVX512 INLINE void bf16_rows(const uint16_t *w, long cols, const float *x, float *out, const int nr) {
  __m512 lo[ROWS], hi[ROWS];
  for (int r = 0; r < nr; r++) { lo[r] = _mm512_setzero_ps(); hi[r] = _mm512_setzero_ps(); }
  const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
  long c = 0;
  // Two groups of 16 per 64-byte load: the low halves of its words are values 0-7 of each group,
  // the high halves values 8-15, so x is gathered as (0-7, 16-23) and (8-15, 24-31).
  for (; c + 32 <= cols; c += 32) {
    const __m512 xa = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(x + c)), _mm256_loadu_ps(x + c + 16), 1);
    const __m512 xb = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(x + c + 8)), _mm256_loadu_ps(x + c + 24), 1);
    for (int r = 0; r < nr; r++) {
      _mm_prefetch((const char *)(w + (r + PREFETCH_ROWS) * cols + c), _MM_HINT_T0);
      const __m512i v = _mm512_loadu_si512((const void *)(w + r * cols + c));
      lo[r] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), xa, lo[r]);
      hi[r] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v, high)), xb, hi[r]);
    }
  }
  if (c + 16 <= cols) {  // one more group of 16, 8 lanes wide
    const __m256 xa = _mm256_loadu_ps(x + c), xb = _mm256_loadu_ps(x + c + 8);
    const __m256i high8 = _mm256_set1_epi32((int)0xFFFF0000u);
    for (int r = 0; r < nr; r++) {
      const __m256i v = _mm256_loadu_si256((const __m256i *)(w + r * cols + c));
      __m256 s = _mm256_mul_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v, 16)), xa);
      s = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v, high8)), xb, s);
      lo[r] = _mm512_add_ps(lo[r], _mm512_zextps256_ps512(s));
    }
    c += 16;
  }
  for (int r = 0; r < nr; r++) {
    float s = _mm512_reduce_add_ps(_mm512_add_ps(lo[r], hi[r]));
    for (long t = c; t < cols; t++) s += bf16_to_float(w[r * cols + t]) * x[t];  // the tail, in order
    out[r] = s;
  }
}

AVX512 void mm_decode_bf16_avx512(const uint16_t *w, const float *x, float *y, long cols, long m, long ldy,
                                  long r0, long r1, int accumulate, int rows_per_pass) {
  float d[ROWS];
  long r = r0;
  for (; rows_per_pass >= ROWS && r + ROWS <= r1; r += ROWS) {
    for (long i = 0; i < m; i++) {
      bf16_rows(w + r * cols, cols, x + i * cols, d, ROWS);
      for (int k = 0; k < ROWS; k++) store(y, i, ldy, r + k, d[k], accumulate);
    }
  }
  for (; r < r1; r++) {
    for (long i = 0; i < m; i++) {
      bf16_rows(w + r * cols, cols, x + i * cols, d, 1);
      store(y, i, ldy, r, d[0], accumulate);
    }
  }
}

// MARK: int8

// `nr` rows of int8 blocks against one input row. Byte t of a block's first 16 is value
// 8·(t % 4) + t / 4 (its second 16: that + 4), so x is permuted to match once per block for all rows.
AVX512 INLINE void int8_rows(const int8_t *w, const float *scales, long scalesPerRow, long blocksPerScale,
                             long cols, const float *x, float *out, const int nr) {
  const __m512i idx0 = _mm512_setr_epi32(0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27);
  const __m512i idx1 = _mm512_add_epi32(idx0, _mm512_set1_epi32(4));
  __m512 acc[ROWS];
  for (int r = 0; r < nr; r++) acc[r] = _mm512_setzero_ps();
  long c = 0;
  for (long g = 0; g < scalesPerRow; g++) {
    __m512 s[ROWS];
    for (int r = 0; r < nr; r++) s[r] = _mm512_setzero_ps();
    for (long b = 0; b < blocksPerScale; b++, c += 32) {
      const __m512 xl = _mm512_loadu_ps(x + c), xh = _mm512_loadu_ps(x + c + 16);
      const __m512 x0 = _mm512_permutex2var_ps(xl, idx0, xh), x1 = _mm512_permutex2var_ps(xl, idx1, xh);
      for (int r = 0; r < nr; r++) {
        const int8_t *p = w + r * cols + c;
        _mm_prefetch((const char *)(p + PREFETCH_ROWS * cols), _MM_HINT_T0);
        const __m512 v0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
        const __m512 v1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 16))));
        s[r] = _mm512_fmadd_ps(v0, x0, s[r]);
        s[r] = _mm512_fmadd_ps(v1, x1, s[r]);
      }
    }
    for (int r = 0; r < nr; r++) acc[r] = _mm512_fmadd_ps(s[r], _mm512_set1_ps(scales[r * scalesPerRow + g]), acc[r]);
  }
  for (int r = 0; r < nr; r++) out[r] = _mm512_reduce_add_ps(acc[r]);
}

AVX512 void mm_decode_int8_avx512(const int8_t *w, const float *scales, long group, const float *x, float *y,
                                  long cols, long m, long ldy, long r0, long r1, int accumulate) {
  const long scalesPerRow = cols / group, blocksPerScale = group / 32;
  float d[ROWS];
  long r = r0;
  for (; r + ROWS <= r1; r += ROWS) {
    for (long i = 0; i < m; i++) {
      int8_rows(w + r * cols, scales + r * scalesPerRow, scalesPerRow, blocksPerScale, cols, x + i * cols, d, ROWS);
      for (int k = 0; k < ROWS; k++) store(y, i, ldy, r + k, d[k], accumulate);
    }
  }
  for (; r < r1; r++) {
    for (long i = 0; i < m; i++) {
      int8_rows(w + r * cols, scales + r * scalesPerRow, scalesPerRow, blocksPerScale, cols, x + i * cols, d, 1);
      store(y, i, ldy, r, d[0], accumulate);
    }
  }
}

// MARK: int4

// Nibbles `shift` and `shift + 4` of the 8 words (lanes 0-7 and 8-15) as the floats q = nibble − 8:
// OR the nibble into the mantissa of 2²³ and subtract 2²³ + 8 (exact).
AVX512 INLINE __m512 int4_values(__m512i words, __m512i shift) {
  const __m512i v = _mm512_srlv_epi32(words, shift);
  // (v & 0xF) | 0x4B000000 in one instruction (truth table A & B | C).
  const __m512i f = _mm512_ternarylogic_epi32(v, _mm512_set1_epi32(0xF), _mm512_set1_epi32(0x4B000000), 0xEA);
  return _mm512_sub_ps(_mm512_castsi512_ps(f), _mm512_set1_ps(8388616.0f));
}

// `nr` rows of int4 pairs of groups against one input row: the 8 words of a pair are broadcast to
// both halves of a register, and shifting the halves by s and s + 4 yields 16 consecutive values.
AVX512 INLINE void int4_rows(const uint32_t *w, long wordsPerRow, const float *scales, long cols,
                             const float *x, float *out, const int nr) {
  const long groups = cols / 32;
  const __m512i s0 = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4);
  const __m512i s1 = _mm512_add_epi32(s0, _mm512_set1_epi32(8));
  const __m512i s2 = _mm512_add_epi32(s0, _mm512_set1_epi32(16));
  const __m512i s3 = _mm512_add_epi32(s0, _mm512_set1_epi32(24));
  __m512 acc[ROWS];
  for (int r = 0; r < nr; r++) acc[r] = _mm512_setzero_ps();
  for (long g = 0; g < groups; g += 2) {
    const long c = g * 32;
    const int second = g + 1 < groups;  // a row of an odd number of groups ends in a half-used pair
    const __m512 x0 = _mm512_loadu_ps(x + c), x1 = _mm512_loadu_ps(x + c + 16);
    __m512 x2 = _mm512_setzero_ps(), x3 = _mm512_setzero_ps();
    if (second) { x2 = _mm512_loadu_ps(x + c + 32); x3 = _mm512_loadu_ps(x + c + 48); }
    for (int r = 0; r < nr; r++) {
      const uint32_t *p = w + r * wordsPerRow + g / 2 * 8;
      _mm_prefetch((const char *)(p + PREFETCH_ROWS * wordsPerRow), _MM_HINT_T0);
      const __m512i words = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
      __m512 t = _mm512_mul_ps(int4_values(words, s0), x0);
      t = _mm512_fmadd_ps(int4_values(words, s1), x1, t);
      acc[r] = _mm512_fmadd_ps(t, _mm512_set1_ps(scales[r * groups + g]), acc[r]);
      if (second) {
        __m512 u = _mm512_mul_ps(int4_values(words, s2), x2);
        u = _mm512_fmadd_ps(int4_values(words, s3), x3, u);
        acc[r] = _mm512_fmadd_ps(u, _mm512_set1_ps(scales[r * groups + g + 1]), acc[r]);
      }
    }
  }
  for (int r = 0; r < nr; r++) out[r] = _mm512_reduce_add_ps(acc[r]);
}

AVX512 void mm_decode_int4_avx512(const uint32_t *w, const float *scales, const float *x, float *y,
                                  long cols, long m, long ldy, long r0, long r1, int accumulate) {
  const long wordsPerRow = (cols + 63) / 64 * 8, groups = cols / 32;
  float d[ROWS];
  long r = r0;
  for (; r + ROWS <= r1; r += ROWS) {
    for (long i = 0; i < m; i++) {
      int4_rows(w + r * wordsPerRow, wordsPerRow, scales + r * groups, cols, x + i * cols, d, ROWS);
      for (int k = 0; k < ROWS; k++) store(y, i, ldy, r + k, d[k], accumulate);
    }
  }
  for (; r < r1; r++) {
    for (long i = 0; i < m; i++) {
      int4_rows(w + r * wordsPerRow, wordsPerRow, scales + r * groups, cols, x + i * cols, d, 1);
      store(y, i, ldy, r, d[0], accumulate);
    }
  }
}
#endif
