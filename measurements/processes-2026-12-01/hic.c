// hic: one busy thread per CPU reading CLOCK_MONOTONIC; gaps over 20 us are time the thread did not run (guest interrupts/kthreads or the host taking the vCPU)
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
static double secs;
static uint64_t now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000ull+t.tv_nsec;}
typedef struct {int cpu; uint64_t hist[8]; uint64_t total_gap; uint64_t maxgap;} R;
static void *run(void *a){R*r=a;cpu_set_t s;CPU_ZERO(&s);CPU_SET(r->cpu,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);
 uint64_t t0=now(),prev=t0,end=t0+(uint64_t)(secs*1e9);
 while(1){uint64_t t=now(); uint64_t g=t-prev; prev=t; if(g>20000){int b=g<50000?0:g<100000?1:g<300000?2:g<1000000?3:g<3000000?4:g<10000000?5:6; r->hist[b]++; r->total_gap+=g; if(g>r->maxgap) r->maxgap=g;} if(t>end)break;}
 return 0;}
int main(int c,char**v){secs=atof(v[1]);int n=2;pthread_t th[2];R r[2]={{0},{0}};for(int i=0;i<n;i++){r[i].cpu=i;pthread_create(&th[i],0,run,&r[i]);}for(int i=0;i<n;i++)pthread_join(th[i],0);
 for(int i=0;i<n;i++){printf("cpu%d gaps 20-50us %lu 50-100 %lu 100-300 %lu 0.3-1ms %lu 1-3ms %lu 3-10ms %lu >10ms %lu; lost %.2f%% max %.2f ms\n",i,r[i].hist[0],r[i].hist[1],r[i].hist[2],r[i].hist[3],r[i].hist[4],r[i].hist[5],r[i].hist[6],100.0*r[i].total_gap/(secs*1e9),r[i].maxgap/1e6);}}
