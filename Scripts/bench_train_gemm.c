// One thread's blocks of the float32 SFT step 4 × 640 of minimind2-small-v (2 threads: 1,280 rows):
// the forward x·Wᵀ (tb1, W stored [N,K]) and the input gradient dY·W (tb0, W read as [K,N]), on
// OpenBLAS (whole block, and 256-row sub-blocks), oneDNN f32 with W as stored ("plain") and with W
// packed once into oneDNN's layout ("packed", what a per-step f32 weight pack would give), and the
// packed plan run in row sub-blocks of 160–640 rows (B panel kept in cache). Thread CPU time, best of
// 7 rounds, so a loaded machine still compares them (Docs/Performance.md, "Training step: fewer
// passes over memory"). Build and run (Debian: libopenblas-dev, libdnnl-dev):
//   gcc -O2 -I Sources/CDNNL Scripts/bench_train_gemm.c -o /tmp/bench_train_gemm -ldnnl -ldl -lopenblas
//   OPENBLAS_CORETYPE=Cooperlake OMP_NUM_THREADS=1 /tmp/bench_train_gemm
#include "shim.h"
#include <cblas.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  openblas_set_num_threads(1);
  printf("core %s\n", openblas_get_corename());
  // m n k transB (A never transposed): forward x·Wᵀ (tb=1, B=[N,K]) and backward dY·W (tb=0, B=[K,N])
  long shapes[][4] = {{1280,512,512,1},{1280,128,512,1},{1280,1408,512,1},{1280,512,1408,1},{1280,6400,512,1},
                      {1280,512,512,0},{1280,512,128,0},{1280,512,1408,0},{1280,1408,512,0},{1280,512,6400,0}};
  int subs[] = {160, 256, 320, 640};
  for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    long m = shapes[s][0], n = shapes[s][1], k = shapes[s][2]; int tb = (int)shapes[s][3];
    long ldb = tb ? k : n;
    float *a = malloc(4 * m * k), *b = malloc(4 * n * k), *c = malloc(4 * m * n);
    for (long i = 0; i < m * k; i++) a[i] = (rand() % 100) / 100.f;
    for (long i = 0; i < n * k; i++) b[i] = (rand() % 100) / 100.f;
    double fl = 2.0 * m * n * k;
    double tob = 1e9, tplain = 1e9, tpk = 1e9, tsub[4] = {1e9,1e9,1e9,1e9}, tobsub = 1e9;
    mm_matmul plain = {0}, packed = {0}, subp[4];
    if (mm_matmul_create(&plain, m, n, k, 0, tb, k, ldb, n, 0, 0, 0) || mm_matmul_create(&packed, m, n, k, 0, tb, k, ldb, n, 0, 0, 1)) { printf("plan\n"); return 1; }
    void *pb; posix_memalign(&pb, 64, packed.b_bytes); mm_matmul_pack_b(&packed, b, pb);
    for (int j = 0; j < 4; j++) { memset(&subp[j], 0, sizeof subp[j]); if (mm_matmul_create(&subp[j], subs[j], n, k, 0, tb, k, ldb, n, 0, 0, 1)) { printf("plan sub\n"); return 1; }
      if (!mm_matmul_same_b(&subp[j], &packed)) printf("  (sub %d: other layout)\n", subs[j]); }
    int reps = 3;
    for (int r = 0; r < 7; r++) {
      double t0 = now(); for (int i = 0; i < reps; i++) cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1, a, k, b, ldb, 0, c, n);
      double t = (now() - t0) / reps; if (t < tob) tob = t;
      t0 = now(); for (int i = 0; i < reps; i++) for (long r0 = 0; r0 < m; r0 += 256) cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, 256, n, k, 1, a + r0 * k, k, b, ldb, 0, c + r0 * n, n);
      t = (now() - t0) / reps; if (t < tobsub) tobsub = t;
      t0 = now(); for (int i = 0; i < reps; i++) mm_matmul_run(&plain, a, b, c);
      t = (now() - t0) / reps; if (t < tplain) tplain = t;
      t0 = now(); for (int i = 0; i < reps; i++) mm_matmul_run(&packed, a, pb, c);
      t = (now() - t0) / reps; if (t < tpk) tpk = t;
      for (int j = 0; j < 4; j++) {
        void *bb = mm_matmul_same_b(&subp[j], &packed) ? pb : NULL; if (!bb) continue;
        t0 = now(); for (int i = 0; i < reps; i++) for (long r0 = 0; r0 < m; r0 += subs[j]) mm_matmul_run(&subp[j], a + r0 * k, bb, c + r0 * n);
        t = (now() - t0) / reps; if (t < tsub[j]) tsub[j] = t;
      }
    }
    printf("%5ld %5ld %5ld tb%d | OB %6.1f OBsub256 %6.1f | dnnl plain %6.1f packed %6.1f | sub160 %6.1f sub256 %6.1f sub320 %6.1f sub640 %6.1f  [%s]\n",
           m, n, k, tb, fl/tob/1e9, fl/tobsub/1e9, fl/tplain/1e9, fl/tpk/1e9, fl/tsub[0]/1e9, fl/tsub[1]/1e9, fl/tsub[2]/1e9, fl/tsub[3]/1e9, packed.implementation);
    free(a); free(b); free(c); free(pb);
  }
}
