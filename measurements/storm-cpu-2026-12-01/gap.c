// One thread pinned to cpu0 walks (open_tree clone of a mount with N children) with different work between walks.
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
static long long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
static int cmp(const void *a, const void *b) { long long x = *(long long *)a, y = *(long long *)b; return x < y ? -1 : x > y; }
static char buf[16 << 20];
int main(int argc, char **argv) {
  int n = atoi(argv[1]), reps = atoi(argv[2]);
  cpu_set_t s; CPU_ZERO(&s); CPU_SET(0, &s); sched_setaffinity(0, sizeof s, &s);
  unshare(CLONE_NEWNS); mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  mkdir("/tmp/walkx", 0755); mount("tmpfs", "/tmp/walkx", "tmpfs", 0, NULL); mkdir("/tmp/walkx/src", 0755); mkdir("/tmp/walkx/x", 0755);
  char p[256];
  for (int i = 0; i < n; i++) { snprintf(p, sizeof p, "/tmp/walkx/t%d", i); mkdir(p, 0755); mount("/tmp/walkx/src", p, NULL, MS_BIND, NULL); }
  const char *names[] = {"back-to-back", "usleep 50us", "usleep 1ms", "touch 256KB", "touch 1MB", "touch 4MB", "bind+umount (RCU GP)", "5 getpid+stat"};
  long long *t = malloc(sizeof(long long) * reps);
  for (int g = 0; g < 8; g++) {
    for (int r = 0; r < reps; r++) {
      switch (g) {
        case 1: usleep(50); break;
        case 2: usleep(1000); break;
        case 3: case 4: case 5: { size_t sz = g == 3 ? 256 << 10 : g == 4 ? 1 << 20 : 4 << 20; for (size_t i = 0; i < sz; i += 64) buf[i + (r & 63)]++; break; }
        case 6: mount("/tmp/walkx/src", "/tmp/walkx/x", NULL, MS_BIND, NULL); umount2("/tmp/walkx/x", 0); break;
        case 7: { struct stat st; for (int i = 0; i < 5; i++) { syscall(SYS_getpid); stat("/tmp/walkx/src", &st); } break; }
      }
      long long t0 = now();
      int fd = syscall(SYS_open_tree, AT_FDCWD, "/tmp/walkx", 1);
      t[r] = now() - t0;
      close(fd);
    }
    qsort(t, reps, sizeof *t, cmp);
    printf("n=%d %-22s walk p10 %6.1f p50 %6.1f p90 %6.1f us\n", n, names[g], t[reps / 10] / 1e3, t[reps / 2] / 1e3, t[reps * 9 / 10] / 1e3);
  }
  return 0;
}
