// One-way: A writes its TSC into the line, B (spinning with or without pause) sees it and takes its own TSC.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <math.h>
#include <x86intrin.h>
#define N 100000
static volatile uint64_t line[8] __attribute__((aligned(64)));
static volatile uint64_t ack[8] __attribute__((aligned(64)));
static int64_t d[N]; static int usepause;
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static void *b(void *a){pin(1);unsigned aux;uint64_t last=0;for(int i=0;i<N+1000;i++){uint64_t v;while((v=line[0])==last){if(usepause)_mm_pause();}uint64_t t=__rdtscp(&aux);last=v;if(i>=1000)d[i-1000]=(int64_t)(t-v);ack[0]=i+1;}return 0;}
static int cmp(const void*x,const void*y){int64_t a=*(int64_t*)x,b=*(int64_t*)y;return a<b?-1:a>b;}
int main(int c,char**v){usepause=c>1;pthread_t t;pthread_create(&t,0,b,0);pin(0);unsigned aux;
 for(int i=0;i<N+1000;i++){ // wait for B's ack, then let some time pass so B is spinning
   while(ack[0]!=(uint64_t)i)_mm_pause(); uint64_t w=__rdtsc()+2000+(i*7919)%1000; while(__rdtsc()<w);
   line[0]=__rdtscp(&aux);}
 pthread_join(t,0);
 struct timespec a,e;clock_gettime(CLOCK_MONOTONIC,&a);uint64_t s0=__rdtsc();do clock_gettime(CLOCK_MONOTONIC,&e);while((e.tv_sec-a.tv_sec)*1e9+(e.tv_nsec-a.tv_nsec)<2e8);uint64_t s1=__rdtsc();
 double ghz=(s1-s0)/((e.tv_sec-a.tv_sec)*1e9+(e.tv_nsec-a.tv_nsec));
 qsort(d,N,sizeof d[0],cmp);
 printf("%s one-way ns: p1 %.0f p5 %.0f p10 %.0f p25 %.0f p50 %.0f p75 %.0f p90 %.0f p95 %.0f p99 %.0f; iqr/p50 %.3f\n",usepause?"pause":"no-pause",d[N/100]/ghz,d[N/20]/ghz,d[N/10]/ghz,d[N/4]/ghz,d[N/2]/ghz,d[3*N/4]/ghz,d[9*N/10]/ghz,d[19*N/20]/ghz,d[99*N/100]/ghz,(double)(d[3*N/4]-d[N/4])/d[N/2]);
}
