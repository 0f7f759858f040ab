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
 *             the guest or host polls). Measured at several gaps, shortest
 *             first, because idle states and halt polling depend on how long
 *             a CPU has idled (and KVM's polling window on the gaps before).
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
 *  wakeCall:  the waker's own FUTEX_WAKE call (median), local and remote
 *             (first gap), and the same call with no waiter on the word
 *             (none: the syscall alone): remote less none is what a wake-up
 *             onto another CPU costs the waker (the IPI's send; on a virtual
 *             machine, an exit). The local call is no baseline: a wakee on
 *             the waker's CPU may preempt it inside the call.
 *  interrupts: what an interrupt takes from a thread running in user mode
 *             on B (the "hog" times its own loop and sums every gap over
 *             300 ns) while A sends it, one at a time, 20 us apart:
 *             - ipi: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which
 *               IPIs every CPU running a thread of this process (B) and
 *               runs a near-empty handler: the cost of an IPI into a busy
 *               CPU (on a virtual machine, the exits around its delivery;
 *               a reschedule IPI's handler is as short);
 *             - gracePeriod (root only, else null): a bind mount and its
 *               umount2() in a private mount namespace; the umount's
 *               namespace_unlock() waits in synchronize_rcu_expedited(),
 *               whose IPI (rcu_exp_handler) interrupts B.
 *             Reports the stolen time per call (median over 5 batches of
 *             N/5 calls, each batch's total gap time minus a baseline
 *             batch without calls, over its calls) and the calls' own time.
 *  addressSpace: a token passed round a ring of pipes through N tasks, all
 *             on cpu A, as N threads of this process and as N forked
 *             processes; each hand-off is a wake-up and a context switch.
 *             Per hand-off (median of 5 batches, rings alternating):
 *             processes less threads is what loading another address
 *             space adds to a switch (switch_mm_irqs_off: CR3; on a
 *             shadow-paging virtual machine an exit to the host, which
 *             finds or builds the shadow root). N = 2: the CPU switches
 *             back to the address space it left just before; N = 3: to one
 *             it left two switches ago.
 *
 * usage: wakeup [--cpus A,B] [--samples N] [--gaps-us LIST]
 * Prints one JSON object. Exit 0 ok, 1 failed, 2 usage.
 */
#include "common.h"
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <sys/mount.h>
#include <sys/wait.h>

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

/* Median FUTEX_WAKE with no waiter on the word: the syscall's own cost. */
static uint64_t wake_none_p50(int n, uint64_t *scratch) {
    static atomic_int word;
    for (int i = 0; i < n; i++) {
        uint64_t t = now_ns();
        syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        scratch[i] = now_ns() - t;
    }
    qsort(scratch, (size_t)n, sizeof *scratch, cmp_u64);
    return percentile_sorted(scratch, (size_t)n, 50);
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
    uint64_t *wake_call; /* the waker's FUTEX_WAKE call, per sample */
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

/* placementBusy and interrupts: spins on cpu B in user mode until told to
 * stop, summing the gaps over 300 ns in its own loop (time the CPU spent
 * elsewhere: interrupts, or another thread). */
static _Alignas(64) atomic_uint_fast64_t hog_gap_ns;
static void *hog_main(void *arg) {
    (void)arg;
    if (pin_self(g.cpu_b) != 0) g.pin_error = errno;
    uint64_t last = now_ns();
    while (atomic_load_explicit(&g.hog_run, memory_order_relaxed)) {
        uint64_t t = now_ns();
        if (t - last > 300) atomic_fetch_add_explicit(&hog_gap_ns, t - last, memory_order_relaxed);
        last = t;
    }
    return NULL;
}

enum interrupt_source { SOURCE_NONE, SOURCE_IPI, SOURCE_GRACE_PERIOD };
static const char *bind_dir = "/tmp";

/* One call of the source; returns its duration, or 0 on failure. */
static uint64_t interrupt_once(enum interrupt_source src) {
    if (src == SOURCE_NONE) return 1;
    if (src == SOURCE_IPI) {
        uint64_t t = now_ns();
        if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) return 0;
        return now_ns() - t;
    }
    if (mount(bind_dir, bind_dir, NULL, MS_BIND, NULL) != 0) return 0;
    uint64_t t = now_ns();
    if (umount2(bind_dir, 0) != 0) return 0;
    return now_ns() - t;
}

/* Gap time the hog on B lost over `calls` calls of `src` made 20 us apart; 0 on failure. */
static int interrupt_batch(enum interrupt_source src, int calls, uint64_t *gap_ns, uint64_t *call_ns) {
    uint64_t before = atomic_load(&hog_gap_ns), spent = 0;
    for (int k = 0; k < calls; k++) {
        uint64_t d = interrupt_once(src);
        if (d == 0) return 0;
        if (src != SOURCE_NONE) spent += d;
        spin_ns(20000);
    }
    *gap_ns = atomic_load(&hog_gap_ns) - before;
    *call_ns = spent;
    return 1;
}

/* The interrupts section: baseline, ipi and (as root) gracePeriod batches, interleaved. */
static void print_interrupts(int calls) {
    enum { BATCHES = 5 };
    int per = calls / BATCHES < 20 ? 20 : calls / BATCHES;
    int gp = geteuid() == 0;
    const char *gp_reason = gp ? NULL : "needs root (a private mount namespace for the bind mounts)";
    if (gp && unshare(CLONE_NEWNS) != 0) { gp = 0; gp_reason = "unshare(CLONE_NEWNS) failed"; }
    if (gp && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) { gp = 0; gp_reason = "cannot make / private"; }
    uint64_t base[BATCHES], ipi[BATCHES], ipi_call[BATCHES], grace[BATCHES], grace_call[BATCHES], unused;
    atomic_store(&g.hog_run, 1);
    pthread_t hog;
    if (pthread_create(&hog, NULL, hog_main, NULL) != 0) exit(1);
    spin_ns(2000000);
    int ipi_ok = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    for (int b = 0; b < BATCHES; b++) {
        if (!interrupt_batch(SOURCE_NONE, per, &base[b], &unused)) exit(1);
        if (ipi_ok && !interrupt_batch(SOURCE_IPI, per, &ipi[b], &ipi_call[b])) ipi_ok = 0;
        if (gp && !interrupt_batch(SOURCE_GRACE_PERIOD, per, &grace[b], &grace_call[b])) { gp = 0; gp_reason = "bind mount or umount2 failed"; }
    }
    atomic_store(&g.hog_run, 0);
    pthread_join(hog, NULL);
    /* Per call: the batch's gaps beyond the baseline batch made just before it. */
    uint64_t steal[BATCHES], call[BATCHES];
    printf("\"interrupts\":{\"callsPerBatch\":%d,\"batches\":%d,\"spacingNs\":20000", per, BATCHES);
    const char *names[2] = {"ipi", "gracePeriod"};
    for (int w = 0; w < 2; w++) {
        int ok = w == 0 ? ipi_ok : gp;
        printf(",\"%s\":", names[w]);
        if (!ok) {
            printf(w == 0 ? "{\"skipped\":\"membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) unavailable\"}" : "{\"skipped\":\"%s\"}", gp_reason);
            continue;
        }
        for (int b = 0; b < BATCHES; b++) {
            uint64_t x = w == 0 ? ipi[b] : grace[b];
            steal[b] = x > base[b] ? (x - base[b]) / (uint64_t)per : 0;
            call[b] = (w == 0 ? ipi_call[b] : grace_call[b]) / (uint64_t)per;
        }
        qsort(steal, BATCHES, sizeof *steal, cmp_u64);
        qsort(call, BATCHES, sizeof *call, cmp_u64);
        printf("{\"stolenPerCallNs\":{\"min\":%llu,\"median\":%llu,\"max\":%llu},\"callNs\":{\"median\":%llu}}",
               (unsigned long long)steal[0], (unsigned long long)steal[BATCHES / 2], (unsigned long long)steal[BATCHES - 1], (unsigned long long)call[BATCHES / 2]);
    }
    printf("}");
}

/* addressSpace (see the top comment): rings of 2 and 3 tasks on cpu A. */
enum { RING_MAX = 3, RING_BATCHES = 5, RING_WARM_LAPS = 50 };
static int ring_fd[RING_MAX][2];
static int ring_n;

/* A ring member: pass the token on until its pipe is closed. */
static void ring_member(int i) {
    char c;
    while (read(ring_fd[i][0], &c, 1) == 1)
        if (write(ring_fd[(i + 1) % ring_n][1], &c, 1) != 1) return;
}

static void *ring_thread(void *arg) {
    ring_member((int)(intptr_t)arg);
    return NULL;
}

/* ns per hand-off round a ring of n tasks (threads or processes), `laps` laps
 * timed after a warm-up; 0 on failure. The calling thread is member 0 and is
 * pinned to cpu A; the others inherit its affinity (pthread_create, fork). */
static uint64_t ring_once(int n, int processes, int laps) {
    ring_n = n;
    for (int i = 0; i < n; i++)
        if (pipe(ring_fd[i]) != 0) {
            while (i-- > 0) close(ring_fd[i][0]), close(ring_fd[i][1]);
            return 0;
        }
    pid_t pid[RING_MAX] = {0};
    pthread_t th[RING_MAX];
    int started = 1, ok = 1;
    for (int i = 1; i < n && ok; i++, started++) {
        if (processes) {
            pid[i] = fork();
            if (pid[i] == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                ring_member(i);
                _exit(0);
            }
            ok = pid[i] > 0;
        } else {
            ok = pthread_create(&th[i], NULL, ring_thread, (void *)(intptr_t)i) == 0;
        }
    }
    if (!ok) started--;
    uint64_t t0 = 0, t1 = 0;
    char c = 'x';
    if (ok && write(ring_fd[1][1], &c, 1) != 1) ok = 0;
    for (int lap = 0; ok; lap++) {
        if (read(ring_fd[0][0], &c, 1) != 1) { ok = 0; break; }
        if (lap == RING_WARM_LAPS) t0 = now_ns();
        if (lap == RING_WARM_LAPS + laps) { t1 = now_ns(); break; }
        if (write(ring_fd[1][1], &c, 1) != 1) ok = 0;
    }
    /* The token is back with member 0: every other member waits in read().
     * Processes are killed; threads see their pipes' write ends closed. */
    for (int i = 1; i < started; i++)
        if (processes) kill(pid[i], SIGKILL);
    for (int i = 0; i < n; i++) close(ring_fd[i][1]);
    for (int i = 1; i < started; i++) {
        if (processes) waitpid(pid[i], NULL, 0);
        else pthread_join(th[i], NULL);
    }
    for (int i = 0; i < n; i++) close(ring_fd[i][0]);
    return ok ? (t1 - t0) / ((uint64_t)laps * (uint64_t)n) : 0;
}

static void print_address_space(int laps) {
    static const struct { const char *name; int n, processes; } rings[] = {
        {"threads2", 2, 0}, {"processes2", 2, 1}, {"threads3", 3, 0}, {"processes3", 3, 1}};
    enum { RINGS = sizeof rings / sizeof rings[0] };
    uint64_t ns[RINGS][RING_BATCHES];
    for (int b = 0; b < RING_BATCHES; b++)
        for (int r = 0; r < RINGS; r++) {
            ns[r][b] = ring_once(rings[r].n, rings[r].processes, laps);
            if (ns[r][b] == 0) {
                printf("\"addressSpace\":{\"skipped\":\"a ring of pipes failed (pipe, fork or pthread_create)\"}");
                return;
            }
        }
    printf("\"addressSpace\":{\"laps\":%d,\"handoffNs\":{", laps);
    for (int r = 0; r < RINGS; r++) {
        printf("%s\"%s\":[", r ? "," : "", rings[r].name);
        for (int b = 0; b < RING_BATCHES; b++) printf("%s%llu", b ? "," : "", (unsigned long long)ns[r][b]);
        printf("]");
    }
    printf("}}");
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
    uint64_t t0 = now_ns();
    atomic_store_explicit(&g.t0, t0, memory_order_release);
    give(&g.wakee);
    if (g.n >= 0) g.wake_call[g.n] = now_ns() - t0;
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
    /* Shortest first: a host that polls idle vCPUs adapts its window to the
     * gaps it sees (KVM grows it up to halt_poll_ns), so an ascending sweep
     * shows where polling ends (src/host/measure.ts, haltPollEvidence). */
    long gaps[MAX_GAPS] = {20, 40, 60, 80, 100, 120, 150, 200, 300, 500, 1000};
    int ngaps = 11;
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
    uint64_t *wake_call = calloc((size_t)samples, sizeof *wake_call);
    if (!wake_call) return 1;
    g.wake_call = wake_call;
    run(LOCAL, 0, samples, lat, ran_on);
    qsort(wake_call, (size_t)samples, sizeof *wake_call, cmp_u64);
    uint64_t local_call = percentile_sorted(wake_call, (size_t)samples, 50), remote_call = 0;
    print_stats("local", lat, samples);
    printf(",\"remote\":[");
    for (int k = 0; k < ngaps; k++) {
        run(REMOTE, (uint64_t)gaps[k] * 1000, samples, lat, ran_on);
        qsort(wake_call, (size_t)samples, sizeof *wake_call, cmp_u64);
        if (k == 0) remote_call = percentile_sorted(wake_call, (size_t)samples, 50);
        printf("%s{\"gapNs\":%ld,", k ? "," : "", gaps[k] * 1000);
        print_stats("latency", lat, samples);
        printf("}");
    }
    uint64_t none_call = wake_none_p50(samples, wake_call);
    printf("],\"wakeCall\":{\"localP50Ns\":%llu,\"remoteP50Ns\":%llu,\"noneP50Ns\":%llu},", (unsigned long long)local_call, (unsigned long long)remote_call, (unsigned long long)none_call);
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
    printf(",");
    print_interrupts(samples * 5);
    printf(",");
    print_address_space(samples);
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
