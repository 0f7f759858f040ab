/**
 * Which mechanism carries each blog statement (issue 9, item 4): the
 * statement's scenario is run with and without the mechanism the blog names
 * (src/config/ablations.ts) and the share of the gap it carries is checked
 * (src/attribution/attribute.ts: share = (gap - gap without it) / gap).
 *
 * The assertions are relations between mechanisms, not tuned numbers: "the
 * hop carries most of the gap", "the CPU count carries more of it than SMT".
 * Where the model says the blog's explanation is not the main cause, the test
 * says which mechanism is, and docs/validation.md ("Which mechanism carries
 * each statement") has the numbers; those rows read "reproduced, by another
 * mechanism".
 */
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadScenario } from '../src/config/scenarioSchema.ts';
import { runAttribution, type Attribution, type AttributionRun } from '../src/attribution/attribute.ts';
import type { AblationName } from '../src/config/ablations.ts';

/**
 * `base`: mechanisms off in every run. The hardware statements (B1, B4-B6)
 * are attributed with mount propagation off, as test/launch.blog.slow.test.ts
 * checks them: its ring walks are a term common to every machine that
 * dilutes the hardware ratios (docs/validation.md).
 */
async function attribute(file: string, gap: [string, string], metric: string, at: number[], mechanisms: AblationName[], base: AblationName[] = []): Promise<AttributionRun> {
  const scenario = { ...loadScenario(resolve('scenarios', file)), ...(base.length ? { ablate: base } : {}) };
  return runAttribution(scenario, file, { gap, metric, mechanisms, at }, { workers: 2 });
}
const HARDWARE: AblationName[] = ['propagation'];

const share = (at: Attribution, x: number, m: AblationName) => at.rows.find((r) => r.x === x)!.ablated[m]!.share;
const ratio = (at: Attribution, x: number) => at.rows.find((r) => r.x === x)!.full.ratio;
const pct = (v: number) => `${(100 * v).toFixed(0)}%`;

describe('B1: all three types alike at low load (fig3-instance-types, p50)', () => {
  it('at 20 containers the clock carries a large part of the small r5/m7a gap; at 100, where the locks are contended, it carries little of a larger one', async () => {
    const { attribution: at } = await attribute('fig3-instance-types.yaml', ['r5.metal', 'm7a.24xlarge'], 'launchP50S', [20, 100], ['clock-speed'], HARDWARE);
    const msg = [20, 100].map((x) => `${x}: r5 / m7a ${ratio(at, x).toFixed(2)}, clock-speed ${pct(share(at, x, 'clock-speed'))}`).join('; ');
    expect(ratio(at, 100), msg).toBeGreaterThan(ratio(at, 20));
    expect(share(at, 20, 'clock-speed'), msg).toBeGreaterThan(0.3);
    expect(share(at, 100, 'clock-speed'), msg).toBeLessThan(share(at, 20, 'clock-speed') / 2);
  }, 1_800_000);
});

describe('B4: two sockets vs one (fig5-numa, p50 at 100 containers)', () => {
  it('the hop carries a real part of the gap, the doubled CPU count more: reproduced, partly by another mechanism', async () => {
    const { attribution: at } = await attribute('fig5-numa.yaml', ['m7i.metal-48xl (2 sockets)', 'm7i.metal-24xl (1 socket)'], 'launchP50S', [100], ['numa-hop', 'per-cpu-costs'], HARDWARE);
    const hop = share(at, 100, 'numa-hop'), cpus = share(at, 100, 'per-cpu-costs');
    const msg = `2 sockets / 1 socket ${ratio(at, 100).toFixed(2)}; numa-hop ${pct(hop)}, per-cpu-costs ${pct(cpus)}`;
    expect(ratio(at, 100), msg).toBeGreaterThan(1.2);
    expect(hop, msg).toBeGreaterThan(0.2);
    expect(cpus, msg).toBeGreaterThan(hop);
  }, 1_800_000);
});

describe('B5: HT off vs on (fig6-hyperthreading, p50 at 100 containers)', () => {
  it('SMT sibling contention is not the main cause; kernel costs that grow with the logical CPU count are: reproduced, by another mechanism', async () => {
    const { attribution: at } = await attribute('fig6-hyperthreading.yaml', ['m7i.metal-24xl, HT on', 'm7i.metal-24xl, HT off'], 'launchP50S', [100], ['smt', 'per-cpu-costs'], HARDWARE);
    const smt = share(at, 100, 'smt'), cpus = share(at, 100, 'per-cpu-costs');
    const msg = `HT on / HT off ${ratio(at, 100).toFixed(2)}; smt ${pct(smt)}, per-cpu-costs ${pct(cpus)}`;
    expect(ratio(at, 100), msg).toBeGreaterThan(1.15);
    expect(smt, msg).toBeLessThan(0.5);
    expect(cpus, msg).toBeGreaterThan(0.5);
  }, 1_800_000);
});

describe('B6: mesh vs chiplet at 48 cores (fig9-architecture, p50 at 100 containers)', () => {
  it('the TOR queue carries most of m7i\'s extra latency, more than m7a\'s faster clock', async () => {
    const { attribution: at } = await attribute('fig9-architecture.yaml', ['m7i.metal-24xl, HT off (48 cores)', 'm7a.24xlarge, 48 cores'], 'launchP50S', [100], ['tor-queue', 'clock-speed'], HARDWARE);
    const tor = share(at, 100, 'tor-queue'), clock = share(at, 100, 'clock-speed');
    const msg = `m7i / m7a ${ratio(at, 100).toFixed(2)}; tor-queue ${pct(tor)}, clock-speed ${pct(clock)}`;
    expect(ratio(at, 100), msg).toBeGreaterThan(1.15);
    expect(tor, msg).toBeGreaterThan(0.5);
    expect(tor, msg).toBeGreaterThan(clock);
  }, 1_800_000);
});

describe('B7: the lock microbenchmark over the whole thread range (fig10-pause-bench, mean acquisition latency)', () => {
  // r5.metal has 48 logical CPUs per socket: past 48 threads one socket time-slices.
  const CPUS_PER_SOCKET = 48;
  const threads = [16, 24, 32, 48, 64, 96];

  it('r5 two sockets vs one: the hop carries the gap up to the socket\'s CPU count; past it, time-slicing on one socket reverses the gap', async () => {
    const { attribution: at } = await attribute('fig10-pause-bench.yaml', ['r5.metal, 2 sockets', 'r5.metal, 1 socket'], 'latencyMeanNs', threads, ['numa-hop', 'tor-queue']);
    for (const n of threads.filter((t) => t <= CPUS_PER_SOCKET)) {
      const msg = `${n} threads (<= ${CPUS_PER_SOCKET} CPUs): 2 sockets / 1 socket ${ratio(at, n).toFixed(2)}, numa-hop ${pct(share(at, n, 'numa-hop'))}, tor-queue ${pct(share(at, n, 'tor-queue'))}`;
      expect(ratio(at, n), msg).toBeGreaterThan(1.1);
      expect(share(at, n, 'numa-hop'), msg).toBeGreaterThan(0.8);
      expect(share(at, n, 'numa-hop'), msg).toBeGreaterThan(share(at, n, 'tor-queue'));
    }
    const over = threads.filter((t) => t >= 2 * CPUS_PER_SOCKET);
    for (const n of over) expect(ratio(at, n), `${n} threads on ${CPUS_PER_SOCKET} CPUs of one socket`).toBeLessThan(1);
  }, 1_800_000);

  it('m7a scales best, reproduced by another mechanism: its throughput holds to 96 threads while m7i HT off collapses past its 48 CPUs; the TOR queue carries little of that gap', async () => {
    const run = await attribute('fig10-pause-bench.yaml', ['m7a.24xlarge', 'm7i.metal-24xl, HT off'], 'acquisitionsPerSec', threads, ['tor-queue']);
    const at = run.attribution;
    const tput = (v: string, n: number) => run.outputs[run.points.findIndex((p) => p.variant === v && p.x === n)]!.metrics.acquisitionsPerSec!;
    const m7a = (n: number) => tput('m7a.24xlarge', n), m7i = (n: number) => tput('m7i.metal-24xl, HT off', n);
    expect(m7a(96), `m7a ${m7a(16).toFixed(0)}/s at 16, ${m7a(96).toFixed(0)}/s at 96`).toBeGreaterThan(0.9 * m7a(16));
    expect(m7i(96), `m7i HT off ${m7i(16).toFixed(0)}/s at 16, ${m7i(96).toFixed(0)}/s at 96 (48 CPUs)`).toBeLessThan(0.5 * m7i(16));
    for (const n of threads.filter((t) => t > CPUS_PER_SOCKET)) {
      const msg = `${n} threads (m7i HT off has ${CPUS_PER_SOCKET} CPUs, m7a 96): m7a / m7i ${ratio(at, n).toFixed(2)}, tor-queue ${pct(share(at, n, 'tor-queue'))}`;
      expect(ratio(at, n), msg).toBeGreaterThan(2);
      expect(share(at, n, 'tor-queue'), msg).toBeLessThan(0.25);
    }
  }, 1_800_000);
});

describe('B8: the common-parent fix (fig11-common-parent-fix at 100 containers)', () => {
  const before = 'r5.metal, variant=per-layer-idmap';
  const after = 'r5.metal, variant=common-parent';

  /** containerd's own time on the mount locks (spinning on mount_lock, waiting for namespace_sem, holding mount_lock), s. */
  const onLocks = (m: Record<string, number>) => m.mountLockSpinS! + m.namespaceSemWaitS! + m.mountLockHeldS!;

  it('containerd\'s own time on the mount locks falls to under a quarter with the fix', async () => {
    const run = await attribute('fig11-common-parent-fix.yaml', [before, after], 'launchP50S', [100], []);
    const [b, a] = [before, after].map((v) => run.outputs[run.points.findIndex((p) => p.variant === v)]!.metrics);
    expect(onLocks(a!), `${onLocks(b!).toFixed(2)} s -> ${onLocks(a!).toFixed(2)} s`).toBeLessThan(onLocks(b!) / 4);
  }, 1_800_000);

  // Not reproduced (docs/validation.md, B8): the model's containerd does
  // nothing but its mounts (no CRI, spec or shim work is simulated), so the
  // mount syscalls are ~90% of its CPU before the fix and ~99% after, and the
  // overlays' per-layer clone_private_mount still spins on mount_lock when
  // 100 containers mount at once. This fails until containerd's other work is
  // modelled; then it should pass and lose its `fails`.
  it.fails('the mount syscalls\' share of containerd\'s CPU falls with the fix (not reproduced)', async () => {
    const run = await attribute('fig11-common-parent-fix.yaml', [before, after], 'launchP50S', [100], []);
    const [b, a] = [before, after].map((v) => run.outputs[run.points.findIndex((p) => p.variant === v)]!.metrics);
    expect(a!.mountCpuShareOfContainerd).toBeLessThan(b!.mountCpuShareOfContainerd!);
  }, 1_800_000);
});
