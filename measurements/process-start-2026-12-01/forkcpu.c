#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static long long ns(clockid_t c){struct timespec t;clock_gettime(c,&t);return t.tv_sec*1000000000LL+t.tv_nsec;}
int main(int argc,char**argv){
  size_t mb=argc>1?atoi(argv[1]):4; char*m=malloc(mb<<20); memset(m,1,mb<<20);
  volatile long long *sh=mmap(NULL,4096,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0);
  for(int r=0;r<5;r++){
    long long t0=ns(CLOCK_MONOTONIC), p0=ns(CLOCK_THREAD_CPUTIME_ID);
    pid_t p=fork();
    if(p==0){long long w=ns(CLOCK_MONOTONIC)-t0,c=ns(CLOCK_THREAD_CPUTIME_ID);struct rusage ru;getrusage(RUSAGE_SELF,&ru);
      long long w2=ns(CLOCK_MONOTONIC); for(int i=0;i<64;i++) m[(size_t)i*4096*4]=2; long long f=ns(CLOCK_MONOTONIC)-w2; long long c2=ns(CLOCK_THREAD_CPUTIME_ID)-c;
      sh[0]=w;sh[1]=c;sh[2]=ru.ru_minflt;sh[3]=f;sh[4]=c2;_exit(0);}
    long long pc=ns(CLOCK_THREAD_CPUTIME_ID)-p0, pw=ns(CLOCK_MONOTONIC)-t0;
    waitpid(p,NULL,0);
    printf("child start wall %lld us, child cpu %lld us, child faults %lld | 64 cow writes wall %lld us cpu %lld us | parent fork cpu %lld us wall %lld us\n",sh[0]/1000,sh[1]/1000,sh[2],sh[3]/1000,sh[4]/1000,pc/1000,pw/1000);
  }
}
