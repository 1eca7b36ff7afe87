// One decode token's float32 products of minimind2-small-v's language model (8 layers of q 512×512,
// k/v 128×512, o 512×512, gate/up 1408×512, down 512×1408, and the 6400×512 head: 25.8 M weights,
// 103 MB) on one thread, thread CPU time, best of 20, five rounds: OpenBLAS's sgemv (what f32 decode
// runs) against the AVX-512 C kernel of batched decode (`mm_skinny_f32_avx512`) at one row.
// Build and run (from the repository root; Debian: libopenblas-dev):
//   gcc -O2 -ISources/CDecodeKernels/include Scripts/bench_decode_gemv.c Sources/CDecodeKernels/SkinnyGEMM.c -o /tmp/bench_decode_gemv -lopenblas
//   OPENBLAS_CORETYPE=Cooperlake OPENBLAS_NUM_THREADS=1 /tmp/bench_decode_gemv
#include "CDecodeKernels.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double cpu(){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){int shapes[][2]={{512,512},{128,512},{128,512},{512,512},{1408,512},{1408,512},{512,1408}};
 float*w[64];int rows[64],cols[64],nm=0;long total=0;
 for(int l=0;l<8;l++)for(int s=0;s<7;s++){rows[nm]=shapes[s][0];cols[nm]=shapes[s][1];w[nm]=aligned_alloc(64,4L*rows[nm]*cols[nm]);for(long i=0;i<(long)rows[nm]*cols[nm];i++)w[nm][i]=(i%13)*1e-3f;total+=(long)rows[nm]*cols[nm];nm++;}
 rows[nm]=6400;cols[nm]=512;w[nm]=aligned_alloc(64,4L*6400*512);for(long i=0;i<6400L*512;i++)w[nm][i]=(i%7)*1e-3f;total+=6400L*512;nm++;
 float x[1408],y[6400];for(int i=0;i<1408;i++)x[i]=i*1e-3f;
 for(int round=0;round<5;round++){double b1=1e9,b2=1e9;for(int rep=0;rep<20;rep++){
  double t0=cpu();for(int m=0;m<nm;m++)cblas_sgemv(CblasRowMajor,CblasNoTrans,rows[m],cols[m],1,w[m],cols[m],x,1,0,y,1);double t1=cpu();
  for(int m=0;m<nm;m++)mm_skinny_f32_avx512(x,cols[m],w[m],cols[m],y,rows[m],1,rows[m],cols[m],1,0);double t2=cpu();
  if(t1-t0<b1)b1=t1-t0;if(t2-t1<b2)b2=t2-t1;}
  printf("sgemv %.3f ms (%.1f GB/s), skinny C m=1 %.3f ms (%.1f GB/s)\n",b1*1e3,total*4/b1/1e9,b2*1e3,total*4/b2/1e9);}}
