#include <stdio.h>
#include <time.h>
static long long ns(clockid_t c){struct timespec t;clock_gettime(c,&t);return t.tv_sec*1000000000LL+t.tv_nsec;}
int main(){ for(int r=0;r<3;r++){ long long w0=ns(CLOCK_MONOTONIC),c0=ns(CLOCK_THREAD_CPUTIME_ID); volatile double x=1; for(long i=0;i<100000000;i++) x=x*1.0000001+1e-9; printf("100M mul-adds: wall %lld us cpu %lld us\n",(ns(CLOCK_MONOTONIC)-w0)/1000,(ns(CLOCK_THREAD_CPUTIME_ID)-c0)/1000);} }
