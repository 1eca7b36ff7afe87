// Read bandwidth of this machine for a working set of S MB (e.g. 103 MB, minimind2-small-v's f32
// language-model weights that one decode token reads), with T threads each summing its half (third…)
// R times with AVX-512 loads; best of 5 rounds. Prints the rate by wall time (both threads running
// together: meaningful on a quiet machine only) and the threads' rates summed by their CPU time.
// The ceiling of f32 decode: tokens/s ≤ bandwidth / 103 MB (Docs/Performance.md, "Frozen encoding").
// Build and run:
//   gcc -O3 -mavx512f -pthread Scripts/bench_read_bandwidth.c -o /tmp/bench_read_bandwidth
//   /tmp/bench_read_bandwidth 103 2 20; /tmp/bench_read_bandwidth 103 1 20; /tmp/bench_read_bandwidth 1024 2 3
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
typedef struct {const float*p;size_t n;int reps;double sum;pthread_barrier_t*b;double t0,t1,c0,c1;} Arg;
static double cpu(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void*run(void*v){Arg*a=v;__m512 s0=_mm512_setzero_ps(),s1=s0,s2=s0,s3=s0;
  pthread_barrier_wait(a->b);a->t0=now();a->c0=cpu();
  for(int r=0;r<a->reps;r++){for(size_t i=0;i<a->n;i+=64){s0=_mm512_add_ps(s0,_mm512_load_ps(a->p+i));s1=_mm512_add_ps(s1,_mm512_load_ps(a->p+i+16));s2=_mm512_add_ps(s2,_mm512_load_ps(a->p+i+32));s3=_mm512_add_ps(s3,_mm512_load_ps(a->p+i+48));}}
  a->c1=cpu();a->t1=now();a->sum=_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0,s1),_mm512_add_ps(s2,s3)));return 0;}
int main(int c,char**v){if(c<4){fprintf(stderr,"usage: %s MB THREADS(1-8) REPETITIONS\n",v[0]);return 2;}
  size_t mb=atoi(v[1]);int threads=atoi(v[2]);int reps=atoi(v[3]);
  if(mb<1||threads<1||threads>8||reps<1){fprintf(stderr,"MB, REPETITIONS >= 1, THREADS 1-8\n");return 2;}
  size_t n=mb*(1<<20)/4;float*p;posix_memalign((void**)&p,64,n*4);for(size_t i=0;i<n;i++)p[i]=1e-9f*(i&1023);
  double best=0,bestcpu=0;for(int round=0;round<5;round++){
  pthread_barrier_t b;pthread_barrier_init(&b,0,threads);pthread_t t[8];Arg a[8];
  for(int i=0;i<threads;i++){a[i]=(Arg){p+i*(n/threads),n/threads,reps,0,&b};pthread_create(&t[i],0,run,&a[i]);}
  double t0=1e30,t1=0,s=0,cr=0;for(int i=0;i<threads;i++){pthread_join(t[i],0);cr+=(double)a[i].n*4*reps/(a[i].c1-a[i].c0)/1e9;if(a[i].t0<t0)t0=a[i].t0;if(a[i].t1>t1)t1=a[i].t1;s+=a[i].sum;}
  double gbs=(double)n*4*reps/(t1-t0)/1e9;if(gbs>best)best=gbs;if(cr>bestcpu)bestcpu=cr;fprintf(stderr,"%.1f ",gbs);(void)s;}
  printf("\n%zu MB, %d threads: best %.1f GB/s by wall time; %.1f GB/s summed over the threads by their CPU time\n",mb,threads,best,bestcpu);}
