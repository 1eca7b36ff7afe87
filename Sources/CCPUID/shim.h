#pragma once
// The x86 CPU features the kernels care about, read with CPUID and checked against XCR0 (the
// register state the operating system saves), so a feature counts only when it can actually run:
// a hypervisor may advertise AVX-512 while the OS leaves its registers off. Zero elsewhere.
#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

typedef struct {
  int avx2, fma;
  int avx512f, avx512bw, avx512dq, avx512vl, avx512vnni, avx512bf16, avx512fp16;
  int amx_tile, amx_bf16, amx_int8;
  int amd;  // vendor "AuthenticAMD" (not a feature: some kernels choose by how its memory system behaves)
} mm_cpu_features;

static inline mm_cpu_features mm_read_cpu_features(void) {
  mm_cpu_features f = {0};
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (__get_cpuid(0, &a, &b, &c, &d)) f.amd = b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163;  // "Auth" "enti" "cAMD"
  if (!__get_cpuid_count(1, 0, &a, &b, &c, &d)) return f;
  int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, avx = (c >> 28) & 1;
  if (!osxsave || !avx) return f;
  uint32_t lo, hi;
  __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  uint64_t xcr0 = ((uint64_t)hi << 32) | lo;
  int ymm = (xcr0 & 0x6) == 0x6;            // SSE + AVX state
  int zmm = ymm && (xcr0 & 0xE0) == 0xE0;   // opmask + upper ZMM state
  int tiles = (xcr0 & 0x60000) == 0x60000;  // AMX TILECFG + TILEDATA state
  if (!ymm || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  unsigned b7 = b, c7 = c, d7 = d;
  f.fma = fma;
  f.avx2 = (b7 >> 5) & 1;
  if (zmm) {
    f.avx512f = (b7 >> 16) & 1;
    f.avx512dq = (b7 >> 17) & 1;
    f.avx512bw = (b7 >> 30) & 1;
    f.avx512vl = (b7 >> 31) & 1;
    f.avx512vnni = (c7 >> 11) & 1;
    f.avx512fp16 = (d7 >> 23) & 1;
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx512bf16 = (a >> 5) & 1;
  }
  if (tiles) {
    f.amx_bf16 = (d7 >> 22) & 1;
    f.amx_tile = (d7 >> 24) & 1;
    f.amx_int8 = (d7 >> 25) & 1;
  }
#endif
  return f;
}
