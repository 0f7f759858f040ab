/* wakeup: how long a woken thread takes to run, by where it runs. Two threads
 * hand a turn back and forth with futexes (FUTEX_WAKE / FUTEX_WAIT, the
 * primitive under every sleeping lock and completion in user space); a sample
 * is the time from just before the waker's FUTEX_WAKE to the first
 * instruction of the woken thread (CLOCK_MONOTONIC, one clock for all CPUs).
 *
 *  local:     both threads pinned to cpu A. The waker wakes, then sleeps at
 *             once (as a caller of synchronize_rcu_expedited() queues the
 *             grace-period work and sleeps); the wakee runs on the same CPU
 *             after the switch. The cost of a wake-up that stays on a CPU.
 *  remote:    waker on A, wakee pinned to B, which has idled GAP us since the
 *             wakee slept. The cost of a wake-up onto another, idle CPU: an
 *             IPI (ttwu_queue_wakelist) and the CPU's way out of idle (on a
 *             virtual machine, the vCPU's wake through the hypervisor, unless
 *             the guest or host polls). Measured at several gaps, because
 *             idle states and halt polling depend on how long a CPU has idled.
 *  placement: waker on A; the wakee may run on A or B and last ran on B
 *             (it moves there before each sleep). The waker wakes then
 *             sleeps. Where does the kernel run it? Mainline's
 *             select_task_rq_fair() -> select_idle_sibling() takes the idle
 *             previous CPU (B); some kernels keep wake-ups on the waker's CPU.
 *             Reports the share that ran on A and the latency of each.
 *             Then the same with the wakee's previous CPU the waker's
 *             (placementSame), and with it B again but busy with a third
 *             thread spinning in user mode (placementBusy, at most 100
 *             samples: the wakee shares B with it to get there).
 *
 * usage: wakeup [--cpus A,B] [--samples N] [--gaps-us LIST]
 * Prints one JSON object. Exit 0 ok, 1 failed, 2 usage.
 */
#include "common.h"
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#define MAX_GAPS 16

/* One thread's turn: 1 = go. Waiting: consume the turn, or sleep while it is 0. */
typedef struct {
    _Alignas(64) atomic_int word;
} turn_t;

static void give(turn_t *t) {
    atomic_store_explicit(&t->word, 1, memory_order_release);
    syscall(SYS_futex, &t->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void take(turn_t *t) {
    while (atomic_exchange_explicit(&t->word, 0, memory_order_acquire) == 0)
        syscall(SYS_futex, &t->word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

static void spin_ns(uint64_t ns) {
    uint64_t end = now_ns() + ns;
    while (now_ns() < end) cpu_relax();
}

enum mode { LOCAL, REMOTE, PLACEMENT, PLACEMENT_SAME, PLACEMENT_BUSY, QUIT };

static struct {
    turn_t waker, wakee;
    _Alignas(64) atomic_int asleep; /* the wakee is about to sleep (set before take) */
    _Alignas(64) atomic_uint_fast64_t t0;
    _Alignas(64) atomic_int hog_run; /* placementBusy: a third thread keeps cpu B busy in user mode */
    int cpu_a, cpu_b;
    enum mode mode;
    uint64_t *lat;
    int *ran_on;
    int n;
    int pin_error;
} g;

static int pin_both(int a, int b) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(a, &set);
    CPU_SET(b, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

/* The wakee: one turn per sample, the waker gives the next mode's first turn after setting g.mode. */
static void *wakee_main(void *arg) {
    (void)arg;
    for (;;) {
        enum mode m = g.mode;
        if (m == QUIT) return NULL;
        int cpu = m == LOCAL || m == PLACEMENT_SAME ? g.cpu_a : g.cpu_b;
        if (pin_self(cpu) != 0) g.pin_error = errno;
        /* placement: last ran on B (or on A, the waker's CPU), now free to run on A or B */
        if ((m == PLACEMENT || m == PLACEMENT_SAME || m == PLACEMENT_BUSY) && pin_both(g.cpu_a, g.cpu_b) != 0) g.pin_error = errno;
        atomic_store_explicit(&g.asleep, 1, memory_order_release);
        take(&g.wakee);
        uint64_t t1 = now_ns();
        if (g.n >= 0 && g.mode != QUIT) {
            g.lat[g.n] = t1 - atomic_load_explicit(&g.t0, memory_order_acquire);
            g.ran_on[g.n] = sched_getcpu();
        }
        give(&g.waker);
    }
}

/* placementBusy: spins on cpu B in user mode until told to stop. */
static void *hog_main(void *arg) {
    (void)arg;
    if (pin_self(g.cpu_b) != 0) g.pin_error = errno;
    while (atomic_load_explicit(&g.hog_run, memory_order_relaxed)) cpu_relax();
    return NULL;
}

/* One sample as the waker: wait for the wakee to be asleep, idle its CPU `gap`, wake it, then sleep until it answers. */
static void sample(uint64_t gap) {
    /* local: the wakee shares this CPU, so give it the CPU while waiting. */
    while (!atomic_load_explicit(&g.asleep, memory_order_acquire)) {
        if (g.mode == LOCAL || g.mode == PLACEMENT_SAME) sched_yield();
        else cpu_relax();
    }
    atomic_store(&g.asleep, 0);
    /* The wakee set `asleep` just before its futex wait: let it get there and its CPU go idle. */
    spin_ns(gap);
    atomic_store_explicit(&g.t0, now_ns(), memory_order_release);
    give(&g.wakee);
    take(&g.waker);
}

static void run(enum mode m, uint64_t gap, int samples, uint64_t *lat, int *ran_on) {
    g.mode = m;
    g.lat = lat;
    g.ran_on = ran_on;
    /* Two unrecorded turns: the wakee moves to its CPU for this mode. */
    g.n = -1;
    sample(gap);
    sample(gap);
    for (g.n = 0; g.n < samples; g.n++) sample(gap);
    g.n = -1;
}

static void print_stats(const char *name, uint64_t *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    printf("\"%s\":{\"samples\":%d,\"p10Ns\":%llu,\"p50Ns\":%llu,\"p90Ns\":%llu}", name, n,
           (unsigned long long)percentile_sorted(v, (size_t)n, 10),
           (unsigned long long)percentile_sorted(v, (size_t)n, 50),
           (unsigned long long)percentile_sorted(v, (size_t)n, 90));
}

/* Where a wakee free to run on A or B ran, and how soon, by CPU. */
static void print_placement(const char *name, enum mode m, long gap_us, int samples, uint64_t *lat, int *ran_on) {
    run(m, m == PLACEMENT_SAME ? 0 : (uint64_t)gap_us * 1000, samples, lat, ran_on);
    uint64_t *on_a = calloc((size_t)samples, sizeof *on_a), *on_b = calloc((size_t)samples, sizeof *on_b);
    int na = 0, nb = 0, nb_fast = 0;
    for (int k = 0; k < samples; k++) {
        if (ran_on[k] == g.cpu_a) on_a[na++] = lat[k];
        else {
            on_b[nb++] = lat[k];
            /* Within 1 ms: it did not wait for a time slice to end (0.75-3 ms) */
            if (lat[k] < 1000000) nb_fast++;
        }
    }
    printf("\"%s\":{\"lastCpu\":\"%s\",\"onWaker\":%d,\"onOther\":%d,\"onOtherWithin1ms\":%d", name, m == PLACEMENT_SAME ? "waker" : m == PLACEMENT_BUSY ? "other-busy" : "other", na, nb, nb_fast);
    if (na > 0) {
        printf(",");
        print_stats("onWakerLatency", on_a, na);
    }
    if (nb > 0) {
        printf(",");
        print_stats("onOtherLatency", on_b, nb);
    }
    printf("}");
    free(on_a);
    free(on_b);
}

int main(int argc, char **argv) {
    const char *prog = "wakeup";
    int samples = 400;
    int cpus[2], ncpus = 0;
    long gaps[MAX_GAPS] = {20, 100, 1000};
    int ngaps = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            printf("usage: wakeup [--cpus A,B] [--samples N] [--gaps-us LIST]\n");
            return 0;
        }
        if (!v) die_usage(prog, "every option takes a value; see --help");
        if (!strcmp(a, "--cpus")) {
            ncpus = parse_cpu_list(v, cpus, 2);
            if (ncpus != 2 || cpus[0] == cpus[1]) die_usage(prog, "--cpus: expected two different cpus, like 0,1");
        } else if (!strcmp(a, "--samples")) {
            samples = (int)parse_long_arg(prog, a, v, 1);
        } else if (!strcmp(a, "--gaps-us")) {
            int tmp[MAX_GAPS];
            ngaps = parse_cpu_list(v, tmp, MAX_GAPS);
            if (ngaps <= 0) die_usage(prog, "--gaps-us: expected a list of whole microseconds, like 20,100,1000");
            for (int k = 0; k < ngaps; k++) gaps[k] = tmp[k];
        } else {
            fprintf(stderr, "%s: unknown option %s; see --help\n", prog, a);
            return 2;
        }
        i++;
    }
    if (ncpus == 0) {
        int all[CPU_SETSIZE];
        int n = allowed_cpus(all, CPU_SETSIZE);
        if (n < 2) die_usage(prog, "needs at least 2 CPUs");
        cpus[0] = all[0];
        cpus[1] = all[1];
    }
    g.cpu_a = cpus[0];
    g.cpu_b = cpus[1];
    if (pin_self(g.cpu_a) != 0) {
        fprintf(stderr, "wakeup: cannot pin to cpu %d: %s\n", g.cpu_a, strerror(errno));
        return 1;
    }
    uint64_t *lat = calloc((size_t)samples, sizeof *lat);
    int *ran_on = calloc((size_t)samples, sizeof *ran_on);
    if (!lat || !ran_on) return 1;
    g.mode = LOCAL;
    g.n = -1;
    pthread_t th;
    if (pthread_create(&th, NULL, wakee_main, NULL) != 0) return 1;

    printf("{\"probe\":\"wakeup\",\"method\":\"futex-wake-to-run\",\"cpus\":[%d,%d],\"samples\":%d,", g.cpu_a, g.cpu_b, samples);
    /* local: the waker sleeps right after the wake, so no gap is needed beyond the wakee's own sleep */
    run(LOCAL, 0, samples, lat, ran_on);
    print_stats("local", lat, samples);
    printf(",\"remote\":[");
    for (int k = 0; k < ngaps; k++) {
        run(REMOTE, (uint64_t)gaps[k] * 1000, samples, lat, ran_on);
        printf("%s{\"gapNs\":%ld,", k ? "," : "", gaps[k] * 1000);
        print_stats("latency", lat, samples);
        printf("}");
    }
    printf("],");
    print_placement("placement", PLACEMENT, gaps[0], samples, lat, ran_on);
    printf(",");
    print_placement("placementSame", PLACEMENT_SAME, gaps[0], samples, lat, ran_on);
    /* placementBusy: the wakee's previous cpu B runs another thread that does not sleep. */
    atomic_store(&g.hog_run, 1);
    pthread_t hog;
    if (pthread_create(&hog, NULL, hog_main, NULL) != 0) return 1;
    int busy_samples = samples < 100 ? samples : 100;
    printf(",");
    print_placement("placementBusy", PLACEMENT_BUSY, gaps[0], busy_samples, lat, ran_on);
    atomic_store(&g.hog_run, 0);
    pthread_join(hog, NULL);
    printf("}\n");
    g.mode = QUIT;
    give(&g.wakee);
    pthread_join(th, NULL);
    if (g.pin_error) {
        fprintf(stderr, "wakeup: cannot pin to cpu %d or %d: %s\n", g.cpu_a, g.cpu_b, strerror(g.pin_error));
        return 1;
    }
    return 0;
}
