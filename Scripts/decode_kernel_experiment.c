// Why the packed decode kernels widen bf16/int8 weights to float32 instead of using AVX512-BF16's
// vdpbf16ps or AVX512-VNNI's vpdpbusd: times one decode token's matrix–vector products of
// minimind2-small-v's language model (8 layers of q, k, v, o, gate, up, down + the 6400 × 512 head,
// 25.8 M weights) on one thread, best of 50, for
//   - the shipped kernels (Sources/CDecodeKernels: float32 products, the float path's numbers),
//   - bf16 with vdpbf16ps (x rounded to bf16 first: an error the float path does not have),
//   - int8 with vpdpbusd (x quantised to int8 per block of 32 first, as llama.cpp's q8_0 does).
// The two experimental kernels ignore the packed layouts (random weights: timing only).
// x86-64 with AVX-512 BF16 and VNNI only. Docs/Performance.md, "Packed decode kernels", has the numbers.
//
//   clang -O2 -ISources/CDecodeKernels/include Sources/CDecodeKernels/DecodeKernels.c \
//         Scripts/decode_kernel_experiment.c -o /tmp/decode-kernels -lm && /tmp/decode-kernels
#include "CDecodeKernels.h"
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define T __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx512bf16")))
#define INLINE static inline __attribute__((always_inline))

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

// x as int8 per block of 32: scale max|x|/127, values round(x / scale).
static void quantize_q8(const float *x, long cols, int8_t *q, float *d) {
  for (long b = 0; b < cols / 32; b++) {
    float a = 0;
    for (int j = 0; j < 32; j++) a = fmaxf(a, fabsf(x[b * 32 + j]));
    float s = a / 127, inv = s ? 1 / s : 0;
    d[b] = s;
    for (int j = 0; j < 32; j++) q[b * 32 + j] = (int8_t)lrintf(x[b * 32 + j] * inv);
  }
}

// vpdpbusd multiplies unsigned by signed bytes: |x| times w with x's sign moved onto w.
T INLINE void int8_vnni_rows(const int8_t *w, const float *sw, long cols, const int8_t *xq, const float *sx, float *out, const int nr) {
  __m512 acc[4];
  for (int r = 0; r < nr; r++) acc[r] = _mm512_setzero_ps();
  const __m512i zero = _mm512_setzero_si512();
  for (long c = 0; c < cols; c += 64) {
    const __m512i xv = _mm512_loadu_si512(xq + c), xa = _mm512_abs_epi8(xv);
    const __mmask64 negative = _mm512_movepi8_mask(xv);
    const long b = c / 32;
    const __m512 s16 = _mm512_insertf32x8(_mm512_set1_ps(sx[b]), _mm256_set1_ps(sx[b + 1]), 1);
    for (int r = 0; r < nr; r++) {
      _mm_prefetch((const char *)(w + (r + 8) * cols + c), _MM_HINT_T0);  // as the shipped int8 kernel
      const __m512i wv = _mm512_loadu_si512(w + r * cols + c);
      const __m512i dot = _mm512_dpbusd_epi32(zero, xa, _mm512_mask_sub_epi8(wv, negative, zero, wv));
      const __m512 sw16 = _mm512_insertf32x8(_mm512_set1_ps(sw[r * (cols / 32) + b]), _mm256_set1_ps(sw[r * (cols / 32) + b + 1]), 1);
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(s16, sw16), acc[r]);
    }
  }
  for (int r = 0; r < nr; r++) out[r] = _mm512_reduce_add_ps(acc[r]);
}

T static void int8_vnni(const int8_t *w, const float *sw, const float *x, float *y, long cols, long rows, int8_t *xq, float *sx) {
  quantize_q8(x, cols, xq, sx);
  float d[4];
  long r = 0;
  for (; r + 4 <= rows; r += 4) { int8_vnni_rows(w + r * cols, sw + r * (cols / 32), cols, xq, sx, d, 4); for (int k = 0; k < 4; k++) y[r + k] = d[k]; }
  for (; r < rows; r++) { int8_vnni_rows(w + r * cols, sw + r * (cols / 32), cols, xq, sx, d, 1); y[r] = d[0]; }
}

T INLINE void bf16_dp_rows(const uint16_t *w, long cols, const __m512bh *xb, float *out, const int nr) {
  __m512 a[4], b[4];
  for (int r = 0; r < nr; r++) { a[r] = _mm512_setzero_ps(); b[r] = _mm512_setzero_ps(); }
  for (long c = 0; c + 64 <= cols; c += 64) {
    for (int r = 0; r < nr; r++) {
      a[r] = _mm512_dpbf16_ps(a[r], (__m512bh)_mm512_loadu_si512(w + r * cols + c), xb[c / 32]);
      b[r] = _mm512_dpbf16_ps(b[r], (__m512bh)_mm512_loadu_si512(w + r * cols + c + 32), xb[c / 32 + 1]);
    }
  }
  for (int r = 0; r < nr; r++) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(a[r], b[r]));
}

T static void bf16_dp(const uint16_t *w, const float *x, float *y, long cols, long rows, __m512bh *xb) {
  for (long c = 0; c < cols; c += 32) xb[c / 32] = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + c + 16), _mm512_loadu_ps(x + c));
  float d[4];
  long r = 0;
  for (; r + 4 <= rows; r += 4) { bf16_dp_rows(w + r * cols, cols, xb, d, 4); for (int k = 0; k < 4; k++) y[r + k] = d[k]; }
  for (; r < rows; r++) { bf16_dp_rows(w + r * cols, cols, xb, d, 1); y[r] = d[0]; }
}

int main(void) {
  const int shapes[][2] = {{512, 512}, {128, 512}, {128, 512}, {512, 512}, {1408, 512}, {1408, 512}, {512, 1408}};
  long total = 0;
  for (int k = 0; k < 7; k++) total += (long)shapes[k][0] * shapes[k][1];
  total = total * 8 + 6400L * 512;
  uint16_t *wb = malloc(total * 2);
  int8_t *w8 = malloc(total);
  float *s8 = malloc(total / 32 * 4), *x = malloc(1408 * 4), *y = malloc(6400 * 4), sx[64];
  int8_t xq[1408];
  __m512bh xb[64];
  srand(1);
  // Normal bf16 numbers in ±[0.5, 1) (random bit patterns would include subnormals, which are slow).
  for (long i = 0; i < total; i++) { wb[i] = 0x3F00 | (rand() & 0x80FF); w8[i] = rand() % 255 - 127; }
  for (long i = 0; i < total / 32; i++) s8[i] = 0.01f;
  for (int i = 0; i < 1408; i++) x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  const char *names[] = {"bf16, widened to f32 (shipped)", "bf16, vdpbf16ps", "int8, widened to f32 (shipped)", "int8, vpdpbusd + q8 x"};
  const double bytes[] = {2, 2, 1.125, 1.125};
  for (int kind = 0; kind < 4; kind++) {
    double best = 1e9;
    for (int rep = 0; rep < 50; rep++) {
      const double t0 = now();
      long off = 0;
      for (int layer = 0; layer <= 8; layer++) {
        for (int k = 0; k < (layer < 8 ? 7 : 1); k++) {
          const long rows = layer < 8 ? shapes[k][0] : 6400, cols = layer < 8 ? shapes[k][1] : 512;
          switch (kind) {
          case 0: mm_decode_bf16_avx512(wb + off, x, y, cols, 1, rows, 0, rows, 0, 4); break;
          case 1: bf16_dp(wb + off, x, y, cols, rows, xb); break;
          case 2: mm_decode_int8_avx512(w8 + off, s8 + off / 32, 32, x, y, cols, 1, rows, 0, rows, 0); break;
          default: int8_vnni(w8 + off, s8 + off / 32, x, y, cols, rows, xq, sx); break;
          }
          off += rows * cols;
        }
      }
      const double t = now() - t0;
      if (t < best) best = t;
    }
    printf("%-32s %.3f ms per token, %.1f GB/s of weights\n", names[kind], best * 1e3, total * bytes[kind] / best / 1e9);
  }
  return 0;
}
