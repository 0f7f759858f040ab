// fault: cost of a copy-on-write page fault in a fresh child, alone and while the other vCPU does the same (or spins)
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#define PAGES 64
static uint64_t now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000ull+t.tv_nsec;}
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);sched_setaffinity(0,sizeof s,&s);}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
// one worker: REPS times fork a child that writes PAGES COW pages; the child reports ns/fault through a pipe
static double worker(int cpu, int reps, volatile int *go){
  pin(cpu); long pg=sysconf(_SC_PAGESIZE); char*buf=mmap(0,PAGES*pg,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0); memset(buf,1,PAGES*pg);
  double *v=malloc(reps*sizeof(double)); int fd[2]; pipe(fd);
  while(go && !*go);
  for(int r=0;r<reps;r++){ pid_t p=fork(); if(!p){ uint64_t t0=now(); for(int i=0;i<PAGES;i++) buf[(size_t)i*pg]=2; double ns=(double)(now()-t0)/PAGES; write(fd[1],&ns,sizeof ns); _exit(0);} double ns; read(fd[0],&ns,sizeof ns); waitpid(p,0,0); v[r]=ns; }
  qsort(v,reps,sizeof(double),cmp); double m=v[reps/2]; free(v); return m;
}
int main(int argc,char**argv){
  int reps=argc>1?atoi(argv[1]):200;
  printf("alone on cpu0: %.0f ns/fault\n", worker(0,reps,0));
  // concurrent: a second process does the same on cpu1
  volatile int *go=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0); *go=0;
  pid_t other=fork(); if(!other){ double m=worker(1,reps,go); printf("concurrent on cpu1: %.0f ns/fault\n",m); fflush(stdout); _exit(0);} 
  *go=1; double m=worker(0,reps,go); printf("concurrent on cpu0: %.0f ns/fault\n",m); waitpid(other,0,0);
  // spinner on cpu1 (user mode), faults on cpu0
  pid_t sp=fork(); if(!sp){ pin(1); for(;;) __asm__ volatile("pause"); }
  usleep(1000); printf("beside a user-mode spinner on cpu1: %.0f ns/fault\n", worker(0,reps,0)); kill(sp,9); waitpid(sp,0,0);
  return 0;
}
