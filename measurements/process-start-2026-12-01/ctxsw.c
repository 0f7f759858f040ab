// ctxsw: round trip through two pipes between two tasks pinned to one CPU,
// as processes (separate mm: each switch changes address space) and as threads
// (shared mm). ns per switch = round trip / 2. Median of R reps of N round trips.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static int p1[2], p2[2]; static int N = 20000;
static long long now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000LL+t.tv_nsec;}
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);sched_setaffinity(0,sizeof s,&s);}
static void *echo(void *a){(void)a;pin(0);char b;for(int i=0;i<N;i++){if(read(p1[0],&b,1)!=1)break;if(write(p2[1],&b,1)!=1)break;}return NULL;}
static double run(int procs){
  pipe(p1);pipe(p2);pid_t pid=0;pthread_t th;
  if(procs){pid=fork();if(pid==0){echo(NULL);_exit(0);}}else pthread_create(&th,NULL,echo,NULL);
  pin(0);char b='x';
  // warm
  long long t0=now();
  for(int i=0;i<N;i++){write(p1[1],&b,1);read(p2[0],&b,1);}
  long long t=now()-t0;
  if(procs)waitpid(pid,NULL,0);else pthread_join(th,NULL);
  close(p1[0]);close(p1[1]);close(p2[0]);close(p2[1]);
  return (double)t/N/2;
}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  int R=argc>1?atoi(argv[1]):7; double pr[64],th[64];
  // a parent with some memory, as the probe has: the mm switch cost does not depend on it with PCID, but shadow paging may
  size_t mb=argc>2?atoi(argv[2]):8; char*m=malloc(mb<<20); memset(m,1,mb<<20);
  for(int r=0;r<R;r++){pr[r]=run(1);th[r]=run(0);}
  qsort(pr,R,sizeof(double),cmp);qsort(th,R,sizeof(double),cmp);
  printf("{\"processesNs\":%.0f,\"threadsNs\":%.0f,\"mmSwitchNs\":%.0f,\"reps\":%d,\"roundTrips\":%d,\"minProc\":%.0f,\"maxProc\":%.0f,\"minThr\":%.0f,\"maxThr\":%.0f}\n",pr[R/2],th[R/2],pr[R/2]-th[R/2],R,N,pr[0],pr[R-1],th[0],th[R-1]);
  return 0;
}
