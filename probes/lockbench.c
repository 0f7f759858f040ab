/* lockbench: N threads pinned to given CPUs contend for one global spinlock,
 * like the blog's pause_bench (Figure 10). Each acquisition holds the lock for
 * a busy wait timed with clock_gettime (--cs-ns), then thinks outside it (--think-ns).
 * Prints one JSON object: total acquisitions per second and the latency of
 * acquiring the lock (from first attempt to owning it), sampled on every
 * Nth acquisition so the clock reads do not dominate short critical sections;
 * and, measured before the workers start, the cost of one clock read
 * (clockReadNs, the resolution of the busy waits) and of one uncontended
 * iteration of the loop (iterationNs); the one-way transfer between its
 * first two CPUs before and after the run (transferNs: the host may place
 * the vCPUs elsewhere) and how much single one-way trips vary
 * (transferSpread: percentiles of 2,000, x86); and each worker's share of the run on its CPU
 * (workerCpuShare: below ~0.75 other processes shared it).
 *
 * usage: lockbench [--lock ttas|ticket] [--threads N] [--cpus LIST]
 *                  [--cs-ns NS] [--think-ns NS] [--duration-ms MS] [--sample-every N]
 *                  [--data none|same-line|own-line]
 *
 * --data: the data the lock protects, a counter the holder increments at the
 * start of each critical section: none (default), on the lock word's own
 * cache line (same-line: false sharing, as a struct with the lock and its
 * data together has), or on a line of its own (own-line). With same-line the
 * holder's write takes the line back from the spinners polling it, and the
 * release has to take it back again.
 */
#include "common.h"
#include "transfer.h"

/* One-way trips timed for transferSpread. */
#define SPREAD_SAMPLES 2000
#include <stdatomic.h>
#include <sys/resource.h>

#define MAX_THREADS 1024
#define MAX_SAMPLES_PER_THREAD (1u << 20)

enum lock_kind { LOCK_TTAS, LOCK_TICKET };

/* The lock lives alone on its cache line so the only coherence traffic is the
 * contention being measured, not false sharing with the counters. */
static struct {
    _Alignas(64) atomic_uint word;      /* TTAS: 0 free, 1 held */
    volatile unsigned long same_line;   /* --data same-line: on word's line */
    _Alignas(64) atomic_uint next;      /* ticket: next ticket to hand out */
    atomic_uint serving;                /* ticket: ticket now allowed in */
    _Alignas(64) volatile unsigned long own_line; /* --data own-line */
} lock;

enum data_place { DATA_NONE, DATA_SAME_LINE, DATA_OWN_LINE };
static enum data_place data_place = DATA_NONE;
static const char *data_names[] = {"none", "same-line", "own-line"};

static enum lock_kind kind = LOCK_TTAS;
static atomic_int start_flag, stop_flag;
static double clock_cost_ns, iteration_cost_ns, pause_cost_ns, transfer_before_ns = -1, transfer_after_ns = -1;
static uint64_t cs_ns, think_ns;
static unsigned sample_every = 16;
/* Workers pinned and done writing their sample pages. */
static atomic_int workers_ready;

struct worker {
    _Alignas(64) pthread_t thread;
    int cpu;
    int pin_error;
    uint64_t acquisitions;
    uint64_t *samples;
    size_t nsamples;
    /* Samples whose pages the worker writes before the start, so that the
     * run takes no page fault for them: on this project's PVM guest a minor
     * fault costs ~12 us, and the sample is written while the lock is held,
     * so every 512th sample stalled both threads (4% of a cs=0 run). */
    size_t prefault;
    double cpu_share; /* CPU time this worker got over the run's wall time */
};

static inline void lock_acquire(void) {
    if (kind == LOCK_TTAS) {
        for (;;) {
            /* Test first with a plain load so waiters share the line read-only
             * and only try the exchange when it looks free. */
            while (atomic_load_explicit(&lock.word, memory_order_relaxed)) cpu_relax();
            if (!atomic_exchange_explicit(&lock.word, 1, memory_order_acquire)) return;
        }
    } else {
        unsigned my = atomic_fetch_add_explicit(&lock.next, 1, memory_order_relaxed);
        while (atomic_load_explicit(&lock.serving, memory_order_acquire) != my) cpu_relax();
    }
}

static inline void lock_release(void) {
    if (kind == LOCK_TTAS) {
        atomic_store_explicit(&lock.word, 0, memory_order_release);
    } else {
        unsigned s = atomic_load_explicit(&lock.serving, memory_order_relaxed);
        atomic_store_explicit(&lock.serving, s + 1, memory_order_release);
    }
}

/* Busy-waits for ns nanoseconds of wall time. A loop with a calibrated
 * iteration count was tried first, but on a KVM guest the loop speed changed
 * by 1.5x between runs (frequency, steal time), so the hold time is read from
 * the clock; its cost (one vDSO clock_gettime, clockReadNs in the output) is
 * the resolution of --cs-ns and --think-ns. */
static inline void busy_ns(uint64_t ns) {
    if (!ns) return;
    uint64_t end = now_ns() + ns;
    while (now_ns() < end) {
    }
}

static double clock_read_ns(void) {
    const int n = 200000;
    uint64_t t0 = now_ns();
    for (int i = 0; i < n; i++) (void)now_ns();
    return (double)(now_ns() - t0) / n;
}

/* Time of one cpu_relax (PAUSE on x86): how long a spinner takes to look at
 * the lock again, so how soon after its copy of the line is invalidated it
 * asks for it (pauseNs in the output). Its latency is the core's own (Intel
 * raised it from ~10 to ~140 cycles with Skylake; AMD's differs by
 * generation), so it is measured, not looked up. Median of 5 x 200,000. */
static double pause_ns(void) {
    double v[5];
    for (int r = 0; r < 5; r++) {
        const int n = 200000;
        uint64_t t0 = now_ns();
        for (int i = 0; i < n; i++) cpu_relax();
        v[r] = (double)(now_ns() - t0) / n;
    }
    for (int i = 1; i < 5; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double x = v[j]; v[j] = v[j - 1]; v[j - 1] = x;
        }
    return v[2];
}

/* Time of one iteration of the worker's loop for a thread alone, with no
 * critical section, no think time and no clock reads inside (iterationNs in
 * the output): the locked exchange's own latency, the plain store, the loop's
 * bookkeeping (the stop flag, the sampling test). A simulator charges the lock
 * operations as cache hits; the rest of an uncontended iteration is in this. */
static double iteration_ns(void) {
    const uint64_t n = 2000000;
    uint64_t sampled = 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n && !atomic_load_explicit(&stop_flag, memory_order_relaxed); i++) {
        sampled += (i % sample_every) == 0;
        lock_acquire();
        lock_release();
    }
    double ns = (double)(now_ns() - t0) / n;
    /* Keep `sampled` alive so the test stays in the loop, as in worker_main. */
    if (sampled == UINT64_MAX) fprintf(stderr, "%llu\n", (unsigned long long)sampled);
    return ns;
}

/* CPU time of the calling thread: with the run's wall time it says whether
 * the worker had its CPU to itself. Other processes on the machine can take
 * it (a lock holder descheduled in its critical section): on this project's
 * 2-vCPU host, a busy loop on each CPU took a 104 ns acquisition to 220 ns. */
static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    if (pin_self(w->cpu) != 0) w->pin_error = errno;
    memset(w->samples, 0, w->prefault * sizeof(uint64_t));
    atomic_fetch_add_explicit(&workers_ready, 1, memory_order_release);
    while (!atomic_load_explicit(&start_flag, memory_order_acquire)) cpu_relax();
    uint64_t cpu0 = thread_cpu_ns(), wall0 = now_ns();
    uint64_t n = 0;
    while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
        int sample = (n % sample_every) == 0 && w->nsamples < MAX_SAMPLES_PER_THREAD;
        uint64_t t0 = sample ? now_ns() : 0;
        lock_acquire();
        if (sample) w->samples[w->nsamples++] = now_ns() - t0;
        if (data_place == DATA_SAME_LINE) lock.same_line++;
        else if (data_place == DATA_OWN_LINE) lock.own_line++;
        busy_ns(cs_ns);
        lock_release();
        n++;
        busy_ns(think_ns);
    }
    w->acquisitions = n;
    uint64_t wall = now_ns() - wall0;
    w->cpu_share = wall ? (double)(thread_cpu_ns() - cpu0) / (double)wall : 1.0;
    return NULL;
}

int main(int argc, char **argv) {
    const char *prog = "lockbench";
    int threads = 2;
    int cpus[MAX_THREADS];
    int ncpus = 0;
    long duration_ms = 1000;
    const char *cpus_arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            printf("usage: lockbench [--lock ttas|ticket] [--threads N] [--cpus LIST] [--cs-ns NS] "
                   "[--think-ns NS] [--duration-ms MS] [--sample-every N] [--data none|same-line|own-line]\n");
            return 0;
        }
        if (!v) die_usage(prog, "every option takes a value; see --help");
        if (!strcmp(a, "--lock")) {
            if (!strcmp(v, "ttas")) kind = LOCK_TTAS;
            else if (!strcmp(v, "ticket")) kind = LOCK_TICKET;
            else die_usage(prog, "--lock: expected ttas or ticket");
        } else if (!strcmp(a, "--threads")) threads = (int)parse_long_arg(prog, a, v, 1);
        else if (!strcmp(a, "--cpus")) cpus_arg = v;
        else if (!strcmp(a, "--cs-ns")) cs_ns = (uint64_t)parse_long_arg(prog, a, v, 0);
        else if (!strcmp(a, "--think-ns")) think_ns = (uint64_t)parse_long_arg(prog, a, v, 0);
        else if (!strcmp(a, "--duration-ms")) duration_ms = parse_long_arg(prog, a, v, 1);
        else if (!strcmp(a, "--sample-every")) sample_every = (unsigned)parse_long_arg(prog, a, v, 1);
        else if (!strcmp(a, "--data")) {
            if (!strcmp(v, "none")) data_place = DATA_NONE;
            else if (!strcmp(v, "same-line")) data_place = DATA_SAME_LINE;
            else if (!strcmp(v, "own-line")) data_place = DATA_OWN_LINE;
            else die_usage(prog, "--data: expected none, same-line or own-line");
        }
        else {
            fprintf(stderr, "%s: unknown option %s; see --help\n", prog, a);
            return 2;
        }
        i++;
    }
    if (threads > MAX_THREADS) die_usage(prog, "--threads: at most 1024");
    if (cpus_arg) {
        ncpus = parse_cpu_list(cpus_arg, cpus, MAX_THREADS);
        if (ncpus <= 0) die_usage(prog, "--cpus: expected a list like 0,1,4-7");
    } else {
        ncpus = allowed_cpus(cpus, MAX_THREADS);
    }

    clock_cost_ns = clock_read_ns();
    iteration_cost_ns = iteration_ns();
    pause_cost_ns = pause_ns();
    int two_cpus = threads >= 2 && ncpus >= 2 && cpus[0] != cpus[1];
    /* Before and after the run (transferNs): on a virtual machine the host
     * places the vCPUs, and this project's 2-vCPU guest measured 26-31 ns one
     * way most of the time and 124 ns for stretches. 21 samples of 200. */
    int terr = 0;
    if (two_cpus) transfer_before_ns = transfer_ns(cpus[0], cpus[1], 21, 200, &terr);
#ifdef LOCKSIM_HAVE_TRANSFER_SPREAD
    /* How much single transfers vary (transferSpread): 2,000 one-way trips, ~3 ms. */
    double spread_q[7] = {0}, spread_tick = 0;
    int have_spread = two_cpus && transfer_spread(cpus[0], cpus[1], SPREAD_SAMPLES, spread_q, &spread_tick, &terr) == 0;
#endif
    struct worker *ws = calloc((size_t)threads, sizeof *ws);
    for (int t = 0; t < threads; t++) {
        /* Threads beyond the CPU list wrap around, so oversubscription is a
         * deliberate choice of --threads and --cpus, as in the blog's runs. */
        ws[t].cpu = cpus[t % ncpus];
        ws[t].samples = malloc(MAX_SAMPLES_PER_THREAD * sizeof(uint64_t));
        if (!ws[t].samples) die_usage(prog, "out of memory for latency samples");
        /* At most one acquisition per 10 ns of the run by one thread, 1 in sample_every sampled. */
        double most = (double)duration_ms * 1e5 / sample_every + 1;
        ws[t].prefault = most < MAX_SAMPLES_PER_THREAD ? (size_t)most : MAX_SAMPLES_PER_THREAD;
        if (pthread_create(&ws[t].thread, NULL, worker_main, &ws[t]) != 0) {
            perror("lockbench: pthread_create");
            return 1;
        }
    }
    struct timespec pause_ts = {0, 20000000}, poll_ts = {0, 1000000};
    /* Prefaulting takes ~25 ms for 8 MB on this project's guest: wait for it. */
    while (atomic_load_explicit(&workers_ready, memory_order_acquire) < threads) nanosleep(&poll_ts, NULL);
    nanosleep(&pause_ts, NULL); /* let every thread reach its pinned CPU */
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t t0 = now_ns();
    atomic_store_explicit(&start_flag, 1, memory_order_release);
    struct timespec run = {duration_ms / 1000, (duration_ms % 1000) * 1000000};
    nanosleep(&run, NULL);
    atomic_store_explicit(&stop_flag, 1, memory_order_relaxed);
    uint64_t elapsed = now_ns() - t0;
    getrusage(RUSAGE_SELF, &ru1);
    /* Page faults of the whole process while the workers ran (the main thread sleeps). */
    long faults = (ru1.ru_minflt - ru0.ru_minflt) + (ru1.ru_majflt - ru0.ru_majflt);

    uint64_t total = 0;
    size_t nsamples = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(ws[t].thread, NULL);
        if (ws[t].pin_error) {
            fprintf(stderr, "lockbench: cannot pin thread %d to cpu %d: %s\n", t, ws[t].cpu,
                    strerror(ws[t].pin_error));
            return 1;
        }
        total += ws[t].acquisitions;
        nsamples += ws[t].nsamples;
    }
    if (two_cpus) transfer_after_ns = transfer_ns(cpus[0], cpus[1], 21, 200, &terr);
    uint64_t *all = malloc((nsamples ? nsamples : 1) * sizeof(uint64_t));
    size_t k = 0;
    for (int t = 0; t < threads; t++)
        for (size_t i = 0; i < ws[t].nsamples; i++) all[k++] = ws[t].samples[i];
    qsort(all, nsamples, sizeof(uint64_t), cmp_u64);

    printf("{\"probe\":\"lockbench\",\"config\":{\"lock\":\"%s\",\"threads\":%d,\"cpus\":[",
           kind == LOCK_TTAS ? "ttas" : "ticket", threads);
    for (int t = 0; t < threads; t++) printf("%s%d", t ? "," : "", ws[t].cpu);
    printf("],\"csNs\":%llu,\"thinkNs\":%llu,\"durationMs\":%ld,\"sampleEvery\":%u,"
           "\"clockReadNs\":%.1f,\"iterationNs\":%.2f,\"pauseNs\":%.2f",
           (unsigned long long)cs_ns, (unsigned long long)think_ns, duration_ms, sample_every,
           clock_cost_ns, iteration_cost_ns, pause_cost_ns);
    /* Only when asked, so files of runs without it stay as they were. */
    if (data_place != DATA_NONE) printf(",\"data\":\"%s\"", data_names[data_place]);
    printf("},");
    printf("\"elapsedNs\":%llu,\"acquisitions\":%llu,\"acquisitionsPerSec\":%.1f,\"pageFaultsDuringRun\":%ld,",
           (unsigned long long)elapsed, (unsigned long long)total, (double)total * 1e9 / (double)elapsed, faults);
    printf("\"perThreadAcquisitions\":[");
    for (int t = 0; t < threads; t++) printf("%s%llu", t ? "," : "", (unsigned long long)ws[t].acquisitions);
    if (transfer_before_ns >= 0) printf("],\"transferNs\":{\"before\":%.1f,\"after\":%.1f}", transfer_before_ns, transfer_after_ns);
    else printf("]");
#ifdef LOCKSIM_HAVE_TRANSFER_SPREAD
    if (have_spread)
        printf(",\"transferSpread\":{\"samples\":%d,\"p5Ns\":%.1f,\"p16Ns\":%.1f,\"p25Ns\":%.1f,\"p50Ns\":%.1f,\"p75Ns\":%.1f,\"p84Ns\":%.1f,\"p95Ns\":%.1f,\"tickNs\":%.2f}",
               SPREAD_SAMPLES, spread_q[0], spread_q[1], spread_q[2], spread_q[3], spread_q[4], spread_q[5], spread_q[6], spread_tick);
#endif
    printf(",\"workerCpuShare\":[");
    for (int t = 0; t < threads; t++) printf("%s%.3f", t ? "," : "", ws[t].cpu_share);
    printf("],\"latencyNs\":{\"samples\":%zu,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"max\":%llu}}\n", nsamples,
           (unsigned long long)percentile_sorted(all, nsamples, 50),
           (unsigned long long)percentile_sorted(all, nsamples, 90),
           (unsigned long long)percentile_sorted(all, nsamples, 99),
           (unsigned long long)(nsamples ? all[nsamples - 1] : 0));
    return 0;
}
