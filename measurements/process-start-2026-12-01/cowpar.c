// cowpar: copy-on-write fault cost, one child alone vs two children on two CPUs at once.
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#define PAGES 256
static long long now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000LL+t.tv_nsec;}
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);sched_setaffinity(0,sizeof s,&s);}
static volatile long long *res; static volatile int *go;
static char *buf; static long pg;
static pid_t child(int cpu,int slot,int par){pid_t p=fork();if(p==0){pin(cpu);__sync_fetch_and_add(go,1);while(*go<par);long long t0=now();for(int i=0;i<PAGES;i++)buf[(size_t)i*pg]=2;res[slot]=(now()-t0)/PAGES;_exit(0);}return p;}
static int cmp(const void*a,const void*b){long long x=*(long long*)a,y=*(long long*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  int R=argc>1?atoi(argv[1]):9; pg=sysconf(_SC_PAGESIZE);
  buf=mmap(NULL,PAGES*pg,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);memset(buf,1,PAGES*pg);
  res=mmap(NULL,4096,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0);go=(volatile int*)(res+8);
  long long alone[64],pair[64];
  for(int r=0;r<R;r++){
    *go=0;pid_t a=child(1,0,1);waitpid(a,NULL,0);alone[r]=res[0];
    *go=0;pid_t b=child(0,1,2),c=child(1,2,2);waitpid(b,NULL,0);waitpid(c,NULL,0);pair[r]=(res[1]+res[2])/2;
  }
  qsort(alone,R,8,cmp);qsort(pair,R,8,cmp);
  printf("{\"aloneNsPerFault\":%lld,\"pairNsPerFault\":%lld,\"ratio\":%.2f,\"reps\":%d,\"pages\":%d}\n",alone[R/2],pair[R/2],(double)pair[R/2]/alone[R/2],R,PAGES);
}
