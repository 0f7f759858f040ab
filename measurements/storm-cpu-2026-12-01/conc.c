// open_tree walks of a mount with N children by 1 thread (cpu 0) or 2 threads (cpu 0 and 1) at once, R walks each.
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
static int reps;
static void *walker(void *arg) {
  int me = (int)(long)arg; cpu_set_t s; CPU_ZERO(&s); CPU_SET(me, &s); sched_setaffinity(0, sizeof s, &s);
  for (int r = 0; r < reps; r++) { int fd = syscall(SYS_open_tree, AT_FDCWD, "/tmp/walkc", 1); close(fd); }
  return 0;
}
int main(int argc, char **argv) {
  int n = atoi(argv[1]), threads = atoi(argv[3]); reps = atoi(argv[2]);
  unshare(CLONE_NEWNS); mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  mkdir("/tmp/walkc", 0755); mount("tmpfs", "/tmp/walkc", "tmpfs", 0, NULL); mkdir("/tmp/walkc/src", 0755);
  char p[256];
  for (int i = 0; i < n; i++) { snprintf(p, sizeof p, "/tmp/walkc/t%d", i); mkdir(p, 0755); mount("/tmp/walkc/src", p, NULL, MS_BIND, NULL); }
  struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
  pthread_t th[2];
  for (int i = 0; i < threads; i++) pthread_create(&th[i], 0, walker, (void *)(long)i);
  for (int i = 0; i < threads; i++) pthread_join(th[i], 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("n=%d threads=%d walks=%d wall %.1f ms\n", n, threads, threads * reps, ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e6);
  return 0;
}
