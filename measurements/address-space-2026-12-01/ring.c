// ring N ROUNDS PAGES MODE: N tasks pinned to CPU 0 pass a token round a ring of pipes;
// each touches PAGES pages of its own memory per turn. MODE p = processes, t = threads.
// Prints ns per hand-off (one context switch each).
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static int n, rounds, pages; static int (*fds)[2];
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
static void pin(void){cpu_set_t s;CPU_ZERO(&s);CPU_SET(0,&s);sched_setaffinity(0,sizeof s,&s);}
static void *member(void *arg){
  long i=(long)arg; char c; char *mem=mmap(0,(size_t)(pages?pages:1)*4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
  pin();
  for(int r=0;r<rounds+1;r++){
    if(read(fds[i][0],&c,1)!=1) _exit(1);
    for(int p=0;p<pages;p++) mem[(size_t)p*4096]++;
    if(write(fds[(i+1)%n][1],&c,1)!=1) _exit(1);
  }
  return 0;
}
int main(int argc,char**argv){
  n=atoi(argv[1]);rounds=atoi(argv[2]);pages=atoi(argv[3]);char mode=argv[4][0];
  fds=calloc(n,sizeof *fds); for(int i=0;i<n;i++) if(pipe(fds[i])) return 1;
  pin();
  pthread_t th[4096]; pid_t pid[4096];
  for(long i=1;i<n;i++){
    if(mode=='p'){ pid[i]=fork(); if(pid[i]==0){member((void*)i);_exit(0);} }
    else pthread_create(&th[i],0,member,(void*)i);
  }
  // member 0 is main: warm one round, then time.
  char c='x'; char *mem=mmap(0,(size_t)(pages?pages:1)*4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
  double t0=0;
  if(write(fds[1%n][1],&c,1)!=1) return 1;
  for(int r=0;r<rounds+1;r++){
    if(read(fds[0][0],&c,1)!=1) return 1;
    if(r==0) t0=now();
    for(int p=0;p<pages;p++) mem[(size_t)p*4096]++;
    if(r<rounds) { if(write(fds[1%n][1],&c,1)!=1) return 1; }
  }
  double t1=now();
  // let the others finish their last read: send one more lap
  for(long i=1;i<n;i++){ close(fds[i][1]); }
  if(mode=='p') for(long i=1;i<n;i++) kill(pid[i],9), waitpid(pid[i],0,0);
  printf("%c n=%d pages=%d ns/switch=%.0f\n",mode,n,pages,(t1-t0)/((double)rounds*n));
  return 0;
}
