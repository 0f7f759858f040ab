#include <stdio.h>
#include <time.h>
static long long ns(clockid_t c){struct timespec t;clock_gettime(c,&t);return t.tv_sec*1000000000LL+t.tv_nsec;}
int main(){for(int r=0;r<5;r++){long long w0=ns(CLOCK_MONOTONIC),c0=ns(CLOCK_THREAD_CPUTIME_ID);volatile long x=0;while(ns(CLOCK_MONOTONIC)-w0<50000000)x++;long long w=ns(CLOCK_MONOTONIC)-w0,c=ns(CLOCK_THREAD_CPUTIME_ID)-c0;printf("wall %lld us cpu %lld us ratio %.3f\n",w/1000,c/1000,(double)c/w);}
// page-fault-heavy: cpu vs wall
}
