/* Clean single-transfer latencies between two CPUs, by kind of request:
 *   read:    O loads a line S holds modified (S wrote it last)
 *   rfo:     O exchanges (xchg) a line S holds modified
 *   upgrade: O exchanges a line O holds (it wrote it last) and S holds shared (S read it since)
 *   store:   as upgrade, but a plain store then mfence
 *   local:   O exchanges a line only O holds (baseline: the timer and the op)
 * Each sample: S prepares the line's state, signals O through a flag line,
 * O times one operation with rdtscp (converted with the TSC rate measured
 * against CLOCK_MONOTONIC). Median of N samples, ns. Two threads pinned to
 * CPUs 0 and 1. gcc -O2 -pthread kinds.c -o kinds */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

static struct { _Alignas(64) atomic_int v; } X;
static struct { _Alignas(64) atomic_int f; } F; /* S -> O: state ready (odd), O -> S: done (even) */
enum { N = 4000 };
static const char *kind;
static double tscPerNs;

static void pin(int cpu) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); pthread_setaffinity_np(pthread_self(), sizeof s, &s); }
static double mono(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }

static void *side_s(void *p) {
  (void)p; pin(1);
  for (int i = 0; i < N; i++) {
    while (atomic_load_explicit(&F.f, memory_order_acquire) != 2 * i) _mm_pause();
    if (!strcmp(kind, "read") || !strcmp(kind, "rfo")) atomic_store_explicit(&X.v, i, memory_order_relaxed);
    else if (!strcmp(kind, "upgrade") || !strcmp(kind, "store")) (void)atomic_load_explicit(&X.v, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    atomic_store_explicit(&F.f, 2 * i + 1, memory_order_release);
  }
  return NULL;
}

static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
  kind = argc > 1 ? argv[1] : "read";
  double m0 = mono(); uint64_t c0 = __rdtsc();
  struct timespec d = {0, 50000000}; nanosleep(&d, NULL);
  double m1 = mono(); uint64_t c1 = __rdtsc();
  tscPerNs = (c1 - c0) / (m1 - m0);
  pin(0);
  pthread_t th; pthread_create(&th, NULL, side_s, NULL);
  static double v[N]; unsigned aux;
  for (int i = 0; i < N; i++) {
    if (!strcmp(kind, "upgrade") || !strcmp(kind, "store") || !strcmp(kind, "local")) atomic_store(&X.v, -i); /* O owns it (M) */
    atomic_store_explicit(&F.f, 2 * i, memory_order_release);
    while (atomic_load_explicit(&F.f, memory_order_acquire) != 2 * i + 1) _mm_pause();
    for (volatile int k = 0; k < 200; k++) {} /* let S's traffic settle */
    uint64_t t0 = __rdtscp(&aux); _mm_lfence();
    if (!strcmp(kind, "read")) { int x = atomic_load_explicit(&X.v, memory_order_relaxed); asm volatile("" ::"r"(x)); _mm_lfence(); }
    else if (!strcmp(kind, "store")) { atomic_store_explicit(&X.v, i, memory_order_relaxed); _mm_mfence(); }
    else atomic_exchange(&X.v, i);
    uint64_t t1 = __rdtscp(&aux); _mm_lfence();
    v[i] = (t1 - t0) / tscPerNs;
  }
  atomic_store(&F.f, 2 * N);
  pthread_join(th, NULL);
  qsort(v, N, sizeof v[0], cmp);
  printf("%s median %.1f ns p10 %.1f p90 %.1f\n", kind, v[N / 2], v[N / 10], v[9 * N / 10]);
  return 0;
}
