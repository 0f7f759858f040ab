// How late a timer-woken thread runs on a CPU whose other thread is inside long
// overlay mount syscalls (PREEMPT_NONE: only cond_resched() or the return to user
// can let it in), against the same CPU spinning in user mode.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <stdatomic.h>
static atomic_int stop;
static int mode; // 0 spin, 1 mount loop
static char opts[8192];
static long mounts; static double mountns;
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static void *hog(void *a){(void)a;pin(0);while(!stop){if(mode==0){volatile int x=0;for(int i=0;i<1000;i++)x++;}else{double t=now();if(mount("overlay","/tmp/ovl/merged","overlay",0,opts)){perror("mount");exit(1);}mountns+=now()-t;mounts++;umount2("/tmp/ovl/merged",MNT_DETACH);}}return 0;}
int main(int argc,char**argv){mode=atoi(argv[1]);int L=atoi(argv[2]);int n=atoi(argv[3]);
 char *p=opts;p+=sprintf(p,"lowerdir=");for(int i=1;i<=L;i++)p+=sprintf(p,"%s/tmp/ovl/l%d",i>1?":":"",i);
 pthread_t h;pthread_create(&h,0,hog,0);pin(0);
 struct timespec d={0,0};double *lat=malloc(n*sizeof(double));
 for(int i=0;i<n;i++){double t=now()+300e3;d.tv_sec=(time_t)(t/1e9);d.tv_nsec=(long)(t-d.tv_sec*1e9);clock_nanosleep(CLOCK_MONOTONIC,TIMER_ABSTIME,&d,0);lat[i]=now()-t;}
 stop=1;pthread_join(h,0);
 int c(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;} qsort(lat,n,sizeof(double),c);
 printf("mode %s L=%d: wake lateness us p10 %.1f p50 %.1f p90 %.1f p99 %.1f max %.1f; hog mounts %ld, mean mount %.1f us\n",mode?"mount":"spin",L,lat[n/10]/1e3,lat[n/2]/1e3,lat[n*9/10]/1e3,lat[n*99/100]/1e3,lat[n-1]/1e3,mounts,mounts?mountns/mounts/1e3:0);}
