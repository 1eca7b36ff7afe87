// Per-head attention products of a CLIP image (197 tokens, head dim 64, 12 heads of 768) read with
// the projections' strides, as `EncoderInference` runs them: OpenBLAS sgemm against oneDNN matmul
// float32, one thread, thread CPU time (the machine may be busy), best of 7 rounds of 20 images.
// Justifies running both products on oneDNN (Docs/Performance.md, "Frozen encoding").
// Build and run (Debian: libopenblas-dev, libdnnl-dev):
//   gcc -O2 Scripts/bench_attention_heads.c -o /tmp/bench_attention_heads -ldnnl -lopenblas
//   OPENBLAS_CORETYPE=Cooperlake OMP_NUM_THREADS=1 /tmp/bench_attention_heads
#include <oneapi/dnnl/dnnl.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static dnnl_engine_t eng; static dnnl_stream_t st;
typedef struct { dnnl_primitive_t p; dnnl_memory_t a,b,c; } mm;
static mm make(int M,int N,int K,int tb,long lda,long ldb,long ldc,float*A,float*B,float*C){
  mm r; dnnl_memory_desc_t a,b,c;
  dnnl_dims_t ad={M,K}, as={lda,1}, bd={K,N}, bs={tb?1:ldb, tb?ldb:1}, cd={M,N}, cs={ldc,1};
  dnnl_memory_desc_init_by_strides(&a,2,ad,dnnl_f32,as); dnnl_memory_desc_init_by_strides(&b,2,bd,dnnl_f32,bs);
  dnnl_memory_desc_init_by_strides(&c,2,cd,dnnl_f32,cs);
  dnnl_matmul_desc_t md; dnnl_matmul_desc_init(&md,&a,&b,NULL,&c);
  dnnl_primitive_desc_t pd; if (dnnl_primitive_desc_create(&pd,&md,NULL,eng,NULL)) { printf("pd fail\n"); exit(1);}
  static int told; const char*impl; dnnl_primitive_desc_query(pd,dnnl_query_impl_info_str,0,&impl); if(told++<2) printf("  oneDNN kernel %s\n",impl);
  dnnl_primitive_create(&r.p,pd);
  dnnl_memory_create(&r.a,&a,eng,A); dnnl_memory_create(&r.b,&b,eng,B); dnnl_memory_create(&r.c,&c,eng,C); return r;}
static void exec(mm*r){ dnnl_exec_arg_t args[3]={{DNNL_ARG_SRC,r->a},{DNNL_ARG_WEIGHTS,r->b},{DNNL_ARG_DST,r->c}}; dnnl_primitive_execute(r->p,st,3,args); dnnl_stream_wait(st);}
int main(){dnnl_engine_create(&eng,dnnl_cpu,0); dnnl_stream_create(&st,eng,dnnl_stream_default_flags);
 int T=197,D=64,H=768,W=208,heads=12; float*q=malloc(4L*T*H),*k=malloc(4L*T*H),*v=malloc(4L*T*H),*o=malloc(4L*T*H),*s=malloc(4L*T*W);
 for(long i=0;i<(long)T*H;i++){q[i]=(i%97)*0.01f;k[i]=(i%89)*0.01f;v[i]=(i%83)*0.01f;} for(long i=0;i<(long)T*W;i++)s[i]=(i%71)*0.001f;
 for(int which=0;which<2;which++){
  printf(which==0?"scores q·kᵀ 197×197×64:\n":"P·v 197×64×197:\n");
  mm r[12]; for(int h=0;h<heads;h++) r[h]= which==0? make(T,T,D,1,H,H,W,q+h*D,k+h*D,s) : make(T,D,T,0,W,H,H,s,v+h*D,o+h*D);
  double bo=1e9,bd=1e9;
  for(int round=0;round<7;round++){
   double t0=now(); for(int rep=0;rep<20;rep++) for(int h=0;h<heads;h++){
     if(which==0) cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,T,T,D,1,q+h*D,H,k+h*D,H,0,s,W);
     else cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,T,D,T,1,s,W,v+h*D,H,0,o+h*D,H);}
   double t1=now(); for(int rep=0;rep<20;rep++) for(int h=0;h<heads;h++) exec(&r[h]); double t2=now();
   if(t1-t0<bo)bo=t1-t0; if(t2-t1<bd)bd=t2-t1;}
  double fl=2.0*T*T*D*heads*20; printf("  OpenBLAS %.1f GFLOP/s, oneDNN %.1f GFLOP/s\n",fl/bo/1e9,fl/bd/1e9);}
}
