// Two threads pinned to cpu0/cpu1 take turns walking (open_tree clone of a mount with N children); vs one thread walking alone.
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
static long long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
static void pin(int cpu) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); sched_setaffinity(0, sizeof s, &s); }
static int cmp(const void *a, const void *b) { long long x = *(long long *)a, y = *(long long *)b; return x < y ? -1 : x > y; }
static volatile int turn, done; static int reps, mode; static long long t[2][100000];
static void *walker(void *arg) {
  int me = (int)(long)arg; pin(me);
  for (int r = 0; r < reps; r++) {
    if (mode == 1) { while (turn != me && !done) __builtin_ia32_pause(); }
    long long t0 = now();
    int fd = syscall(SYS_open_tree, AT_FDCWD, "/tmp/walkx", 1);
    t[me][r] = now() - t0;
    close(fd);
    for (volatile int i = 0; i < 20000; i++) ; // ~think
    if (mode == 1) turn = !me;
  }
  return 0;
}
int main(int argc, char **argv) {
  int n = atoi(argv[1]); reps = atoi(argv[2]);
  unshare(CLONE_NEWNS); mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  mkdir("/tmp/walkx", 0755); mount("tmpfs", "/tmp/walkx", "tmpfs", 0, NULL); mkdir("/tmp/walkx/src", 0755);
  char p[256];
  for (int i = 0; i < n; i++) { snprintf(p, sizeof p, "/tmp/walkx/t%d", i); mkdir(p, 0755); mount("/tmp/walkx/src", p, NULL, MS_BIND, NULL); }
  for (mode = 0; mode < 2; mode++) {
    pthread_t a, b; turn = 0; done = 0;
    if (mode == 0) { pthread_create(&a, 0, walker, (void *)0L); pthread_join(a, 0); }
    else { pthread_create(&a, 0, walker, (void *)0L); pthread_create(&b, 0, walker, (void *)1L); pthread_join(a, 0); done = 1; pthread_join(b, 0); }
    qsort(t[0], reps, sizeof(long long), cmp);
    printf("n=%d %s cpu0 walk p10 %.1f p50 %.1f p90 %.1f us\n", n, mode ? "taking turns with cpu1" : "alone (cpu1 idle)     ", t[0][reps / 10] / 1e3, t[0][reps / 2] / 1e3, t[0][reps * 9 / 10] / 1e3);
  }
  return 0;
}
