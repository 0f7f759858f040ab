// loops MODE: on the CPU it is pinned to, forever: "fork" = fork+_exit+wait; "mount" = bind mount + umount2 (in the caller's mount namespace); "spin" = user-mode spin
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc,char**argv){
  const char*m=argv[1];
  if(!strcmp(m,"fork")) for(;;){pid_t p=fork();if(p==0)_exit(0);waitpid(p,NULL,0);}
  if(!strcmp(m,"mount")) for(;;){if(mount("/tmp/s19ipi/a","/tmp/s19ipi/b",NULL,MS_BIND,NULL))return 1;umount2("/tmp/s19ipi/b",0);}
  for(volatile long x=0;;x++);
}
