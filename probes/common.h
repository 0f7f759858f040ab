/* Small helpers shared by the probes: argument parsing of CPU lists, clocks,
 * pinning, and the spin-wait hint. Header-only so each probe stays one file
 * plus this. */
#ifndef LOCKSIM_PROBE_COMMON_H
#define LOCKSIM_PROBE_COMMON_H
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Every probe dies with the process that started it (issue 11): a killed
 * `locksim measure` must not leave a probe spinning on cpus or writing a
 * trace. Run before main() in each probe that includes this header; if the
 * parent is already gone (we were re-parented to init, pid 1) there is nobody
 * to report to. PR_SET_PDEATHSIG: prctl(2). */
#include <signal.h>
#include <sys/prctl.h>
__attribute__((constructor)) static void die_with_parent(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(1);
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The hint the kernel's own spin loops use (cpu_relax): on x86 it is PAUSE,
 * whose cost (10 to 140 cycles) is one of the things the benchmark exposes. */
static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

static inline void die_usage(const char *prog, const char *msg) {
    fprintf(stderr, "%s: %s\n", prog, msg);
    exit(2);
}

/* Parses "0,1,4-7" into out[]; returns the count, or -1 on bad syntax. */
static inline int parse_cpu_list(const char *s, int *out, int max) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10);
        if (end == p || a < 0) return -1;
        long b = a;
        p = end;
        if (*p == '-') {
            p++;
            b = strtol(p, &end, 10);
            if (end == p || b < a) return -1;
            p = end;
        }
        for (long c = a; c <= b; c++) {
            if (n >= max) return -1;
            out[n++] = (int)c;
        }
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return n;
}

/* The CPUs this process may run on, in ascending order. */
static inline int allowed_cpus(int *out, int max) {
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    for (int c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, &set)) out[n++] = c;
    return n;
}

static inline int pin_self(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

static inline long parse_long_arg(const char *prog, const char *name, const char *v, long min) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < min) {
        fprintf(stderr, "%s: %s: expected an integer >= %ld, got \"%s\"\n", prog, name, min, v);
        exit(2);
    }
    return x;
}

static inline int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static inline uint64_t percentile_sorted(const uint64_t *v, size_t n, double p) {
    if (n == 0) return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return v[rank - 1];
}
#endif
