/* pingpong: core-to-core latency matrix, the method of
 * nviennot/core-to-core-latency. Two threads pinned to CPUs i and j pass one
 * cache line back and forth with compare-and-swap; a sample is the time of
 * ITER round trips divided by 2*ITER (one-way latency), and each pair reports
 * the median of its samples. Prints one JSON object with the matrix in ns
 * (null on the diagonal: a CPU does not ping itself).
 *
 * usage: pingpong [--cpus LIST] [--samples N] [--iterations N]
 */
#include "transfer.h"

#define MAX_CPUS 512

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
            double ns = transfer_ns(cpus[i], cpus[j], samples, iterations, &err);
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
