// One-thread GEMM backends at the model's shapes, in one process: OpenBLAS sgemm, oneDNN matmul
// float32, and oneDNN matmul bfloat16 inputs / float32 output (inputs converted beforehand). Best of
// three rounds per shape; the justification of GEMMRoute's rule (Docs/Performance.md, "GEMM backends").
// Build and run (Debian: libopenblas-dev, libdnnl-dev):
//   gcc -O2 Scripts/bench_gemm_backends.c -o /tmp/bench_gemm_backends -ldnnl -lopenblas
//   OPENBLAS_CORETYPE=Cooperlake OMP_NUM_THREADS=1 /tmp/bench_gemm_backends
// Shapes: prefill 512 tokens (hidden 512, FFN 1408, kv 128), CLIP ViT-B/16 (197 tokens, 768/2304/3072),
// an SFT step 4×640 split over 2 threads (1280 rows) and its weight gradients (transposed A).
#include <oneapi/dnnl/dnnl.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static dnnl_engine_t eng; static dnnl_stream_t st;
typedef struct { dnnl_primitive_t p; dnnl_memory_t a,b,c; } mm;
static mm make(int M,int N,int K,int ta,int tb,dnnl_data_type_t dt, void*A, void*B, float*C){
  mm r; dnnl_memory_desc_t a,b,c;
  dnnl_dims_t ad={M,K}, as={ta?1:K, ta?M:1}, bd={K,N}, bs={tb?1:N, tb?K:1}, cd={M,N}, cs={N,1};
  dnnl_memory_desc_init_by_strides(&a,2,ad,dt,as); dnnl_memory_desc_init_by_strides(&b,2,bd,dt,bs);
  dnnl_memory_desc_init_by_strides(&c,2,cd,dnnl_f32,cs);
  dnnl_matmul_desc_t md; dnnl_matmul_desc_init(&md,&a,&b,NULL,&c);
  dnnl_primitive_desc_t pd; if (dnnl_primitive_desc_create(&pd,&md,NULL,eng,NULL)) { printf("pd fail\n"); exit(1);} 
  dnnl_primitive_create(&r.p,pd);
  dnnl_memory_create(&r.a,&a,eng,A); dnnl_memory_create(&r.b,&b,eng,B); dnnl_memory_create(&r.c,&c,eng,C); return r;
}
static void exec(mm*r){ dnnl_exec_arg_t args[3]={{DNNL_ARG_SRC,r->a},{DNNL_ARG_WEIGHTS,r->b},{DNNL_ARG_DST,r->c}}; dnnl_primitive_execute(r->p,st,3,args);}
int main(int argc,char**argv){
  dnnl_engine_create(&eng,dnnl_cpu,0); dnnl_stream_create(&st,eng,dnnl_stream_default_flags);
  openblas_set_num_threads(1);
  printf("core %s\n", openblas_get_corename()); setvbuf(stdout, NULL, _IOLBF, 0);
  int shapes[][5]={{512,512,512,0,1},{512,128,512,0,1},{512,1408,512,0,1},{512,512,1408,0,1},{256,1408,512,0,1},{512,704,512,0,1},
                   {197,2304,768,0,1},{197,3072,768,0,1},{197,768,3072,0,1},{99,3072,768,0,1},
                   {1280,1408,512,0,1},{1280,6400,512,0,1},{1280,512,1408,0,0},{512,1408,2560,1,0},{1408,512,2560,1,0},{16,512,512,0,1},{64,1408,512,0,1}};
  int ns=sizeof(shapes)/sizeof(shapes[0]);
  for(int s=0;s<ns;s++){
    int M=shapes[s][0],N=shapes[s][1],K=shapes[s][2],ta=shapes[s][3],tb=shapes[s][4];
    float*A=malloc(4L*M*K),*B=malloc(4L*K*N),*C=malloc(4L*M*N); uint16_t*Ab=malloc(2L*M*K),*Bb=malloc(2L*K*N);
    for(long i=0;i<(long)M*K;i++){A[i]=(rand()%100)/100.f; Ab[i]=0x3f80;} for(long i=0;i<(long)K*N;i++){B[i]=(rand()%100)/100.f;Bb[i]=0x3f80;}
    mm f=make(M,N,K,ta,tb,dnnl_f32,A,B,C), h=make(M,N,K,ta,tb,dnnl_bf16,Ab,Bb,C);
    double tb_=1e9,tf=1e9,th=1e9; double fl=2.0*M*N*K;
    int reps = fl > 1e9 ? 5 : 20;
    for(int r=0;r<3;r++){
      double t0=now(); for(int i=0;i<reps;i++) cblas_sgemm(CblasRowMajor,ta?CblasTrans:CblasNoTrans,tb?CblasTrans:CblasNoTrans,M,N,K,1,A,ta?M:K,B,tb?K:N,0,C,N); double t=(now()-t0)/reps; if(t<tb_)tb_=t;
      t0=now(); for(int i=0;i<reps;i++) exec(&f); t=(now()-t0)/reps; if(t<tf)tf=t;
      t0=now(); for(int i=0;i<reps;i++) exec(&h); t=(now()-t0)/reps; if(t<th)th=t;
    }
    printf("%5d %5d %5d ta%d tb%d | openblas %6.1f | dnnl f32 %6.1f (%.2fx) | dnnl bf16 %6.1f GFLOP/s\n",M,N,K,ta,tb,fl/tb_/1e9,fl/tf/1e9,tb_/tf,fl/th/1e9);
    free(A);free(B);free(C);free(Ab);free(Bb);
  }
}
