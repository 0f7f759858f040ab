/* pingpong: core-to-core latency matrix, the method of
 * nviennot/core-to-core-latency. Two threads pinned to CPUs i and j pass one
 * cache line back and forth with compare-and-swap; a sample is the time of
 * ITER round trips divided by 2*ITER (one-way latency), and each pair reports
 * the median of its samples. Prints one JSON object with the matrix in ns
 * (null on the diagonal: a CPU does not ping itself).
 *
 * usage: pingpong [--cpus LIST] [--samples N] [--iterations N]
 */
#include "common.h"
#include <stdatomic.h>

#define MAX_CPUS 512

enum { CLIENT_TURN = 0, SERVER_TURN = 1, QUIT = 2 };

static struct {
    _Alignas(64) atomic_int flag;
} line;

struct server_arg {
    int cpu;
    int pin_error;
    atomic_int ready;
};

static void *server_main(void *p) {
    struct server_arg *s = p;
    if (pin_self(s->cpu) != 0) s->pin_error = errno;
    atomic_store(&s->ready, 1);
    for (;;) {
        int expected = SERVER_TURN;
        /* CAS rather than load-then-store, as the reference does: every
         * attempt asks for the line exclusively, like a lock word. */
        if (atomic_compare_exchange_strong_explicit(&line.flag, &expected, CLIENT_TURN,
                                                    memory_order_acq_rel, memory_order_relaxed))
            continue;
        if (expected == QUIT) return NULL;
    }
}

static double measure_pair(int a, int b, int samples, int iterations, int *err) {
    struct server_arg s = {.cpu = b};
    pthread_t th;
    atomic_store(&line.flag, CLIENT_TURN);
    if (pin_self(a) != 0) {
        *err = errno;
        return 0;
    }
    pthread_create(&th, NULL, server_main, &s);
    while (!atomic_load(&s.ready)) cpu_relax();
    double *v = malloc((size_t)samples * sizeof(double));
    for (int k = 0; k < samples; k++) {
        uint64_t t0 = now_ns();
        for (int n = 0; n < iterations; n++) {
            int expected;
            do {
                expected = CLIENT_TURN;
            } while (!atomic_compare_exchange_strong_explicit(&line.flag, &expected, SERVER_TURN,
                                                                memory_order_acq_rel, memory_order_relaxed));
        }
        /* Wait for the last answer so the sample covers whole round trips. */
        while (atomic_load_explicit(&line.flag, memory_order_acquire) != CLIENT_TURN) {
        }
        v[k] = (double)(now_ns() - t0) / (2.0 * iterations);
    }
    atomic_store(&line.flag, QUIT);
    pthread_join(th, NULL);
    if (s.pin_error) *err = s.pin_error;
    /* insertion sort: samples are few */
    for (int i = 1; i < samples; i++) {
        double x = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
    double med = samples % 2 ? v[samples / 2] : (v[samples / 2 - 1] + v[samples / 2]) / 2;
    free(v);
    return med;
}

int main(int argc, char **argv) {
    const char *prog = "pingpong";
    int cpus[MAX_CPUS];
    int ncpus = 0;
    int samples = 300, iterations = 1000;
    const char *cpus_arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            printf("usage: pingpong [--cpus LIST] [--samples N] [--iterations N]\n");
            return 0;
        }
        if (!v) die_usage(prog, "every option takes a value; see --help");
        if (!strcmp(a, "--cpus")) cpus_arg = v;
        else if (!strcmp(a, "--samples")) samples = (int)parse_long_arg(prog, a, v, 1);
        else if (!strcmp(a, "--iterations")) iterations = (int)parse_long_arg(prog, a, v, 1);
        else {
            fprintf(stderr, "%s: unknown option %s; see --help\n", prog, a);
            return 2;
        }
        i++;
    }
    if (cpus_arg) {
        ncpus = parse_cpu_list(cpus_arg, cpus, MAX_CPUS);
        if (ncpus <= 0) die_usage(prog, "--cpus: expected a list like 0,1,4-7");
    } else {
        ncpus = allowed_cpus(cpus, MAX_CPUS);
    }
    if (ncpus < 2) die_usage(prog, "needs at least 2 CPUs");

    printf("{\"probe\":\"pingpong\",\"method\":\"cas-round-trip-half\",\"samples\":%d,\"iterations\":%d,\"cpus\":[",
           samples, iterations);
    for (int i = 0; i < ncpus; i++) printf("%s%d", i ? "," : "", cpus[i]);
    printf("],\"matrixNs\":[");
    for (int i = 0; i < ncpus; i++) {
        printf("%s[", i ? "," : "");
        for (int j = 0; j < ncpus; j++) {
            if (i == j) {
                printf("%snull", j ? "," : "");
                continue;
            }
            int err = 0;
            double ns = measure_pair(cpus[i], cpus[j], samples, iterations, &err);
            if (err) {
                fprintf(stderr, "pingpong: cannot pin to cpu %d or %d: %s\n", cpus[i], cpus[j], strerror(err));
                return 1;
            }
            printf("%s%.2f", j ? "," : "", ns);
        }
        printf("]");
    }
    printf("]}\n");
    return 0;
}
