// oneDNN matmul through the SDK's own wrapper (Sources/CDNNL/shim.h), one thread, B a weight
// stored [N,K] (x·Wᵀ): B read as stored (oneDNN copies it into its blocked layout at every call)
// against B packed once (`mm_matmul_pack_b`, what `BFloat16WeightCache` keeps), float32 and bfloat16,
// at one thread's block of the model's products (2 threads: CLIP's 197 rows → 101, pp512 → 256).
// Rounds alternate plain and packed; best of the rounds, so a loaded machine still compares them.
// Build and run (Debian: libdnnl-dev):
//   gcc -O2 -I Sources/CDNNL Scripts/bench_packed_weights.c -o /tmp/bench_packed_weights -ldnnl -ldl
//   OMP_NUM_THREADS=1 /tmp/bench_packed_weights
#include "shim.h"
#include <stdint.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static double best(mm_matmul *mm, const void *a, const void *b, float *c, int reps) {
  double t0 = now();
  for (int i = 0; i < reps; i++) if (mm_matmul_run(mm, a, b, c)) { printf("run failed\n"); exit(1); }
  return (now() - t0) / reps;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  long shapes[][3] = {{101, 2304, 768}, {101, 768, 768}, {101, 3072, 768}, {101, 768, 3072},
                      {256, 512, 512}, {256, 128, 512}, {256, 1408, 512}, {256, 512, 1408}, {256, 6400, 512}};
  printf("    M     N     K | f32 plain  packed  speedup | bf16 plain  packed  speedup (GFLOP/s)\n");
  for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    long m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
    float *a = malloc(4 * m * k), *b = malloc(4 * n * k), *c = malloc(4 * m * n);
    uint16_t *a16 = malloc(2 * m * k), *b16 = malloc(2 * n * k);
    for (long i = 0; i < m * k; i++) { a[i] = (rand() % 100) / 100.f; a16[i] = 0x3f80; }
    for (long i = 0; i < n * k; i++) { b[i] = (rand() % 100) / 100.f; b16[i] = 0x3f80; }
    double gflop = 2.0 * m * n * k / 1e9, rate[4];
    for (int bf16 = 0; bf16 <= 1; bf16++) {
      mm_matmul plain = {0}, packed = {0};
      if (mm_matmul_create(&plain, m, n, k, 0, 1, k, k, n, bf16, 0, 0) || mm_matmul_create(&packed, m, n, k, 0, 1, k, k, n, bf16, 0, 1)) {
        printf("plan failed\n"); return 1;
      }
      void *pb = NULL;
      if (posix_memalign(&pb, 64, packed.b_bytes) || mm_matmul_pack_b(&packed, bf16 ? (void *)b16 : (void *)b, pb)) { printf("pack failed\n"); return 1; }
      const void *av = bf16 ? (void *)a16 : (void *)a, *bv = bf16 ? (void *)b16 : (void *)b;
      double tp = 1e9, tk = 1e9;
      int reps = gflop > 0.2 ? 5 : 20;
      for (int r = 0; r < 5; r++) {
        double t = best(&plain, av, bv, c, reps); if (t < tp) tp = t;
        t = best(&packed, av, pb, c, reps); if (t < tk) tk = t;
      }
      rate[2 * bf16] = gflop / tp; rate[2 * bf16 + 1] = gflop / tk;
      free(pb);
    }
    printf("%5ld %5ld %5ld | %8.1f %7.1f %6.2fx | %9.1f %7.1f %6.2fx\n", m, n, k, rate[0], rate[1], rate[1] / rate[0], rate[2], rate[3], rate[3] / rate[2]);
    free(a); free(b); free(c); free(a16); free(b16);
  }
  return 0;
}
