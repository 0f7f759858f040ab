// Round trips of one cache line between two pinned threads, each timed alone (rdtscp).
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <x86intrin.h>
#define N 200000
static volatile uint64_t line[8] __attribute__((aligned(64)));
static uint64_t rt[N];
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static void *b(void *a){pin(1);for(uint64_t i=0;i<N+1000;i++){while(line[0]!=2*i+1)_mm_pause();line[0]=2*i+2;}return 0;}
static int cmp(const void*x,const void*y){uint64_t a=*(uint64_t*)x,b=*(uint64_t*)y;return a<b?-1:a>b;}
int main(){pthread_t t;pthread_create(&t,0,b,0);pin(0);unsigned aux;
 for(uint64_t i=0;i<N+1000;i++){uint64_t t0=__rdtscp(&aux);line[0]=2*i+1;while(line[0]!=2*i+2)_mm_pause();uint64_t t1=__rdtscp(&aux);if(i>=1000)rt[i-1000]=t1-t0;}
 pthread_join(t,0);
 // tsc per ns
 struct timespec a,c;clock_gettime(CLOCK_MONOTONIC,&a);uint64_t s0=__rdtsc();do clock_gettime(CLOCK_MONOTONIC,&c);while((c.tv_sec-a.tv_sec)*1e9+(c.tv_nsec-a.tv_nsec)<2e8);uint64_t s1=__rdtsc();
 double ghz=(s1-s0)/((c.tv_sec-a.tv_sec)*1e9+(c.tv_nsec-a.tv_nsec));
 qsort(rt,N,sizeof rt[0],cmp);
 double m=0,v=0;int n=0;uint64_t p99=rt[N*99/100];for(int i=0;i<N;i++)if(rt[i]<=p99){m+=rt[i];n++;}m/=n;for(int i=0;i<N;i++)if(rt[i]<=p99)v+=(rt[i]-m)*(rt[i]-m);v/=n;
 printf("tsc %.3f GHz; round trip ns: p1 %.0f p10 %.0f p25 %.0f p50 %.0f p75 %.0f p90 %.0f p99 %.0f; mean(<=p99) %.0f sd %.0f cv %.3f; (p75-p25)/p50 %.3f\n",ghz,rt[N/100]/ghz,rt[N/10]/ghz,rt[N/4]/ghz,rt[N/2]/ghz,rt[3*N/4]/ghz,rt[9*N/10]/ghz,p99/ghz,m/ghz,sqrt(v)/ghz,sqrt(v)/m,(double)(rt[3*N/4]-rt[N/4])/rt[N/2]);
}
