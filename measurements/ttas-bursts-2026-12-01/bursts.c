#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static struct { _Alignas(64) atomic_int word; volatile uint64_t cnt; } lock;
static atomic_int go, stop;
static uint64_t cs;
#define N 4000000
static uint32_t *rec[2]; static size_t nrec[2];
static inline uint64_t now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec*1000000000ull+t.tv_nsec;}
static inline void busy(uint64_t ns){ if(!ns) return; uint64_t e=now()+ns; while(now()<e){} }
static void *w(void *a){ int id=(int)(intptr_t)a; cpu_set_t s; CPU_ZERO(&s); CPU_SET(id,&s); pthread_setaffinity_np(pthread_self(),sizeof s,&s);
  while(!atomic_load(&go)); size_t n=0;
  while(!atomic_load_explicit(&stop,memory_order_relaxed) && n<N){
    for(;;){ while(atomic_load_explicit(&lock.word,memory_order_relaxed)) __builtin_ia32_pause(); if(!atomic_exchange_explicit(&lock.word,1,memory_order_acquire)) break; }
    rec[id][n++]=(uint32_t)lock.cnt++;
    busy(cs);
    atomic_store_explicit(&lock.word,0,memory_order_release);
  }
  nrec[id]=n; return 0; }
int main(int c,char**v){ cs=atoll(v[1]); for(int i=0;i<2;i++) rec[i]=malloc(N*4);
  pthread_t t[2]; for(int i=0;i<2;i++) pthread_create(&t[i],0,w,(void*)(intptr_t)i);
  struct timespec p={0,20000000}; nanosleep(&p,0); uint64_t t0=now(); atomic_store(&go,1); p.tv_nsec=200000000; nanosleep(&p,0); atomic_store(&stop,1); uint64_t t1=now();
  for(int i=0;i<2;i++) pthread_join(t[i],0);
  uint64_t tot=nrec[0]+nrec[1]; 
  /* bursts: runs of consecutive counter values in one thread's record */
  uint64_t runs=0, handoffs=0; for(int i=0;i<2;i++){ for(size_t k=1;k<nrec[i];k++) if(rec[i][k]!=rec[i][k-1]+1) runs++; runs++; }
  printf("cs=%llu acq/s %.2fM  share %.2f  mean burst %.2f acquisitions\n",(unsigned long long)cs, tot/((t1-t0)/1e9)/1e6, (double)nrec[0]/tot, (double)tot/runs);
  return 0; }
