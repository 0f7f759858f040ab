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

#endif
