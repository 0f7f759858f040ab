// Does the allocation layout of the walked mounts matter? N children made by consecutive MS_BIND mounts,
// or storm-like: open_tree(CLONE) + move_mount per child, interleaved with other clones that are freed
// (their struct mounts and namespaces leave holes the next allocations fill), in a shuffled order.
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
static long long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
static int cmp(const void *a, const void *b) { long long x = *(long long *)a, y = *(long long *)b; return x < y ? -1 : x > y; }
static int ot(const char *p) { return syscall(SYS_open_tree, AT_FDCWD, p, 1 /* OPEN_TREE_CLONE */); }
int main(int argc, char **argv) {
  int n = atoi(argv[1]), reps = atoi(argv[2]), storm = atoi(argv[3]);
  cpu_set_t s; CPU_ZERO(&s); CPU_SET(0, &s); sched_setaffinity(0, sizeof s, &s);
  unshare(CLONE_NEWNS); mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  mkdir("/tmp/walkl", 0755); mount("tmpfs", "/tmp/walkl", "tmpfs", 0, NULL); mkdir("/tmp/walkl/src", 0755);
  char p[256];
  int *order = malloc(sizeof(int) * n);
  for (int i = 0; i < n; i++) { order[i] = i; snprintf(p, sizeof p, "/tmp/walkl/t%d", i); mkdir(p, 0755); }
  srand(1);
  if (storm) for (int i = n - 1; i > 0; i--) { int j = rand() % (i + 1); int x = order[i]; order[i] = order[j]; order[j] = x; }
  int held[64]; int nh = 0;
  for (int k = 0; k < n; k++) {
    snprintf(p, sizeof p, "/tmp/walkl/t%d", order[k]);
    if (!storm) { if (mount("/tmp/walkl/src", p, NULL, MS_BIND, NULL)) { perror("bind"); return 1; } continue; }
    int fd = ot("/tmp/walkl/src");
    if (fd < 0 || syscall(SYS_move_mount, fd, "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH)) { perror("move_mount"); return 1; }
    close(fd);
    // Other containers' work between: clones held for a while, then freed.
    int extra = ot("/tmp/walkl/src"); if (nh < 64) held[nh++] = extra; else { close(held[k % 64]); held[k % 64] = extra; }
  }
  for (int i = 0; i < nh; i++) close(held[i]);
  long long *t = malloc(sizeof(long long) * reps);
  for (int r = 0; r < reps; r++) { long long t0 = now(); int fd = ot("/tmp/walkl"); t[r] = now() - t0; close(fd); }
  qsort(t, reps, sizeof *t, cmp);
  printf("n=%d %s back-to-back walk p10 %.1f p50 %.1f p90 %.1f us (%.1f ns/mount)\n", n, storm ? "storm-like layout " : "consecutive binds ", t[reps / 10] / 1e3, t[reps / 2] / 1e3, t[reps * 9 / 10] / 1e3, t[reps / 2] / (double)n);
  return 0;
}
