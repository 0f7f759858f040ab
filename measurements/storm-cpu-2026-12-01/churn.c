// Walks (open_tree clone of a tmpfs with N children) by one thread alone or two threads on the two vCPUs
// taking turns, each doing storm-like mount churn between its walks: attach one new child (open_tree clone +
// move_mount) and unmount its oldest one.
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
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
static long long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
static int cmp(const void *a, const void *b) { long long x = *(long long *)a, y = *(long long *)b; return x < y ? -1 : x > y; }
static volatile int turn; static int reps, threads, churn; static long long t[2][100000];
static void *walker(void *arg) {
  int me = (int)(long)arg; cpu_set_t s; CPU_ZERO(&s); CPU_SET(me, &s); sched_setaffinity(0, sizeof s, &s);
  char p[256];
  for (int r = 0; r < reps; r++) {
    if (threads == 2) while (turn != me) __builtin_ia32_pause();
    long long t0 = now();
    int fd = syscall(SYS_open_tree, AT_FDCWD, "/tmp/walkh", 1);
    t[me][r] = now() - t0;
    close(fd);
    if (churn) {
      snprintf(p, sizeof p, "/tmp/walkh/c%d-%d", me, r % 64);
      if (r >= 64) umount2(p, 0);
      int c = syscall(SYS_open_tree, AT_FDCWD, "/tmp/walkh/src", 1);
      syscall(SYS_move_mount, c, "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH);
      close(c);
    }
    if (threads == 2) turn = !me;
  }
  return 0;
}
int main(int argc, char **argv) {
  int n = atoi(argv[1]); reps = atoi(argv[2]); threads = atoi(argv[3]); churn = atoi(argv[4]);
  unshare(CLONE_NEWNS); mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  mkdir("/tmp/walkh", 0755); mount("tmpfs", "/tmp/walkh", "tmpfs", 0, NULL); mkdir("/tmp/walkh/src", 0755);
  char p[256];
  for (int i = 0; i < n; i++) { snprintf(p, sizeof p, "/tmp/walkh/t%d", i); mkdir(p, 0755); mount("/tmp/walkh/src", p, NULL, MS_BIND, NULL); }
  for (int me = 0; me < 2; me++) for (int i = 0; i < 64; i++) { snprintf(p, sizeof p, "/tmp/walkh/c%d-%d", me, i); mkdir(p, 0755); }
  pthread_t th[2];
  for (int i = 0; i < threads; i++) pthread_create(&th[i], 0, walker, (void *)(long)i);
  for (int i = 0; i < threads; i++) pthread_join(th[i], 0);
  qsort(t[0], reps, sizeof(long long), cmp);
  printf("n=%d %-34s cpu0 walk p10 %6.1f p50 %6.1f p90 %6.1f us\n", n, threads == 2 ? (churn ? "taking turns, churn between" : "taking turns, nothing between") : (churn ? "alone, churn between" : "alone, nothing between"), t[0][reps / 10] / 1e3, t[0][reps / 2] / 1e3, t[0][reps * 9 / 10] / 1e3);
  return 0;
}
