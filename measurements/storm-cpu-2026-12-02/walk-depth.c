/* The walk of open_tree(OPEN_TREE_CLONE) over a mount's children against the depth of
 * their mountpoints (docs/validation.md, "Twenty-seventh session"). As root:
 *   cc -O2 -o walk-depth walk-depth.c && ./walk-depth MOUNTS DEPTH
 * makes a private mount namespace, a tmpfs at /tmp/dx with MOUNTS binds at
 * DEPTH directories below it, times 400 open_tree calls of /tmp/dx/img and
 * prints the median; the namespace and its mounts go when it exits. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
static long ns(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000L+t.tv_nsec;}
static int cmp(const void*a,const void*b){long x=*(long*)a,y=*(long*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  if(argc!=3){fprintf(stderr,"usage: walk-depth MOUNTS DEPTH\n");return 2;}
  int n=atoi(argv[1]), depth=atoi(argv[2]);
  if(n<1||depth<1||depth>32){fprintf(stderr,"walk-depth: MOUNTS >= 1, DEPTH 1-32\n");return 2;}
  if(unshare(CLONE_NEWNS)) {perror("unshare");return 1;}
  if(mount(NULL,"/",NULL,MS_REC|MS_PRIVATE,NULL)){perror("private");return 1;}
  mkdir("/tmp/dx",0755);
  if(mount("tmpfs","/tmp/dx","tmpfs",0,NULL)){perror("tmpfs");return 1;}
  mkdir("/tmp/dx/img",0755);
  char p[512];
  for(int i=0;i<n;i++){
    int len=snprintf(p,sizeof p,"/tmp/dx/m%d",i); mkdir(p,0755);
    for(int d=1; d<depth; d++){ len+=snprintf(p+len,sizeof p-len,"/d%d",d); mkdir(p,0755);}
    if(mount("/tmp/dx/img",p,NULL,MS_BIND,NULL)){perror("bind");return 1;}
  }
  long t[400];
  for(int r=0;r<400;r++){
    long a=ns(); int fd=syscall(SYS_open_tree,AT_FDCWD,"/tmp/dx/img",OPEN_TREE_CLONE); long b=ns();
    if(fd<0){perror("open_tree");return 1;} close(fd); t[r]=b-a;
  }
  qsort(t,400,sizeof(long),cmp);
  umount2("/tmp/dx",MNT_DETACH); rmdir("/tmp/dx"); /* the directory is the host's /tmp: leave nothing */
  printf("n=%d depth=%d open_tree median %.1f us (p25 %.1f p75 %.1f) per mount %.2f ns\n",n,depth,t[200]/1e3,t[100]/1e3,t[300]/1e3,(double)t[200]/n);
  return 0;
}
