/* The one-way latency of a cache-line transfer between two CPUs, the method
 * of nviennot/core-to-core-latency: two threads pinned to the CPUs pass one
 * cache line back and forth with compare-and-swap; a sample is the time of
 * `iterations` round trips divided by 2 x iterations, and the result is the
 * median of `samples` samples. Used by probes/pingpong (every pair) and
 * probes/lockbench (its first two CPUs, before and after each run: on a
 * virtual machine the host may place the vCPUs elsewhere between runs).
 * The caller's own CPU affinity is left alone. */
#ifndef LOCKSIM_PROBE_TRANSFER_H
#define LOCKSIM_PROBE_TRANSFER_H
#include "common.h"
#include <stdatomic.h>

enum { TRANSFER_CLIENT_TURN = 0, TRANSFER_SERVER_TURN = 1, TRANSFER_QUIT = 2 };

static struct {
    _Alignas(64) atomic_int flag;
} transfer_line;

struct transfer_thread {
    int cpu;
    int pin_error;
    int samples, iterations;
    double ns;
};

static void *transfer_server(void *p) {
    struct transfer_thread *s = p;
    if (pin_self(s->cpu) != 0) s->pin_error = errno;
    for (;;) {
        int expected = TRANSFER_SERVER_TURN;
        /* CAS rather than load-then-store, as the reference does: every
         * attempt asks for the line exclusively, like a lock word. */
        if (atomic_compare_exchange_strong_explicit(&transfer_line.flag, &expected, TRANSFER_CLIENT_TURN,
                                                    memory_order_acq_rel, memory_order_relaxed))
            continue;
        if (expected == TRANSFER_QUIT) return NULL;
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *transfer_client(void *p) {
    struct transfer_thread *c = p;
    double *v = malloc((size_t)c->samples * sizeof(double));
    if (pin_self(c->cpu) != 0) c->pin_error = errno;
    for (int k = 0; k < c->samples; k++) {
        uint64_t t0 = now_ns();
        for (int n = 0; n < c->iterations; n++) {
            int expected;
            do {
                expected = TRANSFER_CLIENT_TURN;
            } while (!atomic_compare_exchange_strong_explicit(&transfer_line.flag, &expected, TRANSFER_SERVER_TURN,
                                                                memory_order_acq_rel, memory_order_relaxed));
        }
        /* Wait for the last answer so the sample covers whole round trips. */
        while (atomic_load_explicit(&transfer_line.flag, memory_order_acquire) != TRANSFER_CLIENT_TURN) {
        }
        v[k] = (double)(now_ns() - t0) / (2.0 * c->iterations);
    }
    atomic_store(&transfer_line.flag, TRANSFER_QUIT);
    qsort(v, (size_t)c->samples, sizeof(double), cmp_double);
    int n = c->samples;
    c->ns = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
    return NULL;
}

/* One-way transfer between CPUs a and b, ns; *err is set to errno when a thread cannot be pinned. */
static double transfer_ns(int a, int b, int samples, int iterations, int *err) {
    struct transfer_thread client = {.cpu = a, .samples = samples, .iterations = iterations};
    struct transfer_thread server = {.cpu = b};
    pthread_t tc, ts;
    atomic_store(&transfer_line.flag, TRANSFER_CLIENT_TURN);
    pthread_create(&ts, NULL, transfer_server, &server);
    pthread_create(&tc, NULL, transfer_client, &client);
    pthread_join(tc, NULL);
    pthread_join(ts, NULL);
    if (client.pin_error) *err = client.pin_error;
    if (server.pin_error) *err = server.pin_error;
    return client.ns;
}

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define LOCKSIM_HAVE_TRANSFER_SPREAD 1
/* How much single transfers vary (transferSpread in probes/lockbench's
 * output): one thread writes its time stamp counter into a line another
 * thread spins on (a plain load, no pause, so it notices at once); the
 * spinner takes its own stamp when it sees the value. A sample is one such
 * one-way trip: the writer's upgrade of the line (the spinner's copy goes)
 * and the spinner's read of it, about two transfers. Between samples the
 * writer waits for the spinner's acknowledgement on another line and then
 * 1-1.5 us, so the spinner is spinning again. The median round trip of the
 * CAS method above averages 200 x 2 transfers; this keeps each one. Both are
 * threads of their own, as above: the caller's affinity is left alone. */
static struct {
    _Alignas(64) volatile uint64_t stamp;
    _Alignas(64) volatile uint64_t ack;
} spread_lines;

struct spread_thread {
    int cpu, samples, pin_error;
    int64_t *delta;                      /* the reader's: its stamp less the writer's, per sample */
    uint64_t ns0, ns1, tsc0, tsc1;       /* the writer's: the clock and the counter at its start and end */
};

static void *spread_reader(void *p) {
    struct spread_thread *r = p;
    if (pin_self(r->cpu) != 0) r->pin_error = errno;
    unsigned aux;
    uint64_t last = 0;
    for (int i = 0; i < r->samples; i++) {
        uint64_t v;
        while ((v = spread_lines.stamp) == last) {
        }
        uint64_t t = __rdtscp(&aux);
        last = v;
        r->delta[i] = (int64_t)(t - v);
        spread_lines.ack = (uint64_t)i + 1;
    }
    return NULL;
}

static void *spread_writer(void *p) {
    struct spread_thread *w = p;
    if (pin_self(w->cpu) != 0) w->pin_error = errno;
    unsigned aux;
    w->ns0 = now_ns();
    w->tsc0 = __rdtsc();
    for (int i = 0; i < w->samples; i++) {
        while (spread_lines.ack != (uint64_t)i) {
        }
        uint64_t wait = now_ns() + 1000 + (uint64_t)(i * 7919) % 500;
        while (now_ns() < wait) {
        }
        spread_lines.stamp = __rdtscp(&aux);
    }
    while (spread_lines.ack != (uint64_t)w->samples) {
    }
    w->ns1 = now_ns();
    w->tsc1 = __rdtsc();
    return NULL;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One-way trips from CPU a to CPU b: their 5th, 16th, 25th, 50th, 75th,
 * 84th and 95th percentiles in ns (q) and the time stamp
 * counter's step in ns (the smallest difference between two samples that
 * differ: on a virtual machine the counter may advance in coarse steps).
 * Returns 0, or -1 (errno in *err) when a thread cannot be pinned. */
static inline int transfer_spread(int a, int b, int samples, double q[7], double *tick_ns, int *err) {
    struct spread_thread r = {.cpu = b, .samples = samples, .delta = malloc((size_t)samples * sizeof(int64_t))};
    struct spread_thread w = {.cpu = a, .samples = samples};
    if (!r.delta) return -1;
    spread_lines.stamp = 0;
    spread_lines.ack = 0;
    pthread_t tr, tw;
    pthread_create(&tr, NULL, spread_reader, &r);
    pthread_create(&tw, NULL, spread_writer, &w);
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    if (w.pin_error || r.pin_error) {
        *err = w.pin_error ? w.pin_error : r.pin_error;
        free(r.delta);
        return -1;
    }
    double per_ns = (double)(w.tsc1 - w.tsc0) / (double)(w.ns1 - w.ns0);
    qsort(r.delta, (size_t)samples, sizeof(int64_t), cmp_i64);
    int64_t step = INT64_MAX;
    for (int i = 1; i < samples; i++)
        if (r.delta[i] != r.delta[i - 1] && r.delta[i] - r.delta[i - 1] < step) step = r.delta[i] - r.delta[i - 1];
    static const int pct[7] = {5, 16, 25, 50, 75, 84, 95};
    for (int k = 0; k < 7; k++) q[k] = r.delta[(long)samples * pct[k] / 100] / per_ns;
    *tick_ns = step == INT64_MAX ? 0 : step / per_ns;
    free(r.delta);
    return 0;
}
#endif

#endif
