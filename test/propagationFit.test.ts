// The propagation fit (src/host/propagationFit.ts): least squares with
// standard errors, the selection of runs from measurement files, and the
// ring-step term of a slave-namespace mountinfo read.
import { describe, expect, it } from 'vitest';
import seedrandom from 'seedrandom';
import type { Measurement } from '../src/host/measure.ts';
import type { MountstormSummary } from '../src/host/probes.ts';
import { fitPerPeer, fitReadCost, heldOutRow, leastSquares, peerPoints, predict, readDesignRow, readPoints, ringSteps, type LoadedMeasurement } from '../src/host/propagationFit.ts';

describe('leastSquares', () => {
  it('recovers an exact line and reports zero residual', () => {
    const xs = [0, 500, 1000, 2000, 4000];
    const fit = leastSquares(['a', 'b'], xs.map((x) => [1, x]), xs.map((x) => 3000 + 36 * x));
    expect(fit.coef[0]).toBeCloseTo(3000, 6);
    expect(fit.coef[1]).toBeCloseTo(36, 9);
    expect(fit.residualSd).toBeLessThan(1e-6);
  });

  it('standard errors cover the true slope under noise and shrink with more points', () => {
    const rng = seedrandom('ls');
    const noisy = (n: number) => {
      const xs = Array.from({ length: n }, (_, i) => (i % 5) * 1000);
      return leastSquares(['a', 'b'], xs.map((x) => [1, x]), xs.map((x) => 5000 + 24 * x + (rng() - 0.5) * 20000));
    };
    const small = noisy(10);
    const large = noisy(1000);
    expect(Math.abs(large.coef[1]! - 24)).toBeLessThan(4 * large.stdErr[1]!);
    expect(large.stdErr[1]!).toBeLessThan(small.stdErr[1]! / 3);
    expect(large.stdErr[1]!).toBeGreaterThan(0);
  });

  it('handles columns of very different size (a ring-step column near 1e7 beside an intercept)', () => {
    const rows = [0, 1000, 2000, 4000].flatMap((n) => [[1, n + 10, 0], [1, n + 10, (n + 1) ** 2]]);
    const fit = leastSquares(['a', 'perLine', 'perStep'], rows, rows.map((r) => 100_000 + 900 * r[1]! + 4.5 * r[2]!));
    expect(fit.coef[2]).toBeCloseTo(4.5, 6);
    expect(fit.coef[1]).toBeCloseTo(900, 4);
  });

  it('refuses a fit with fewer points than coefficients or mismatched rows', () => {
    expect(() => leastSquares(['a', 'b'], [[1, 2]], [3])).toThrow(/cannot fit 2/);
    expect(() => leastSquares(['a', 'b'], [[1, 2], [1, 3]], [3])).toThrow(/rows/);
  });
});

// A minimal mountstorm measurement around given runs.
function storm(config: Partial<Extract<Measurement, { kind: 'mountstorm' }>['config']>, runs: Partial<MountstormSummary>[]): Measurement {
  const full = runs.map((r) => ({ probe: 'mountstorm' as const, variant: 'per-layer-idmap' as const, layers: 50, containers: 1, passes: 2, kernel: 'test', failedContainers: 0, wallNs: 1, launchNs: [1], meanNs: 1, p50Ns: 1, p99Ns: 1, maxNs: 1, opCounts: {}, ...r }));
  return {
    format: 'locksim-measurement',
    version: 1,
    kind: 'mountstorm',
    host: { topology: { sockets: 1, cores: 2, cpus: 2, l3Groups: 1, cpuMap: [] }, kernel: 'test', cpuModel: 'test' },
    command: ['mountstorm'],
    startedAt: '2026-01-01T00:00:00Z',
    config: { variant: 'per-layer-idmap', layers: 50, containers: 1, repeat: runs.length, ...config },
    results: { runs: full, traces: [], spread: {} },
  };
}

describe('per-peer fit', () => {
  const files: LoadedMeasurement[] = [0, 1000, 2000, 4000].map((N) => ({
    file: `shared-N${N}.json`,
    m: storm({ propagation: 'shared', peers: N }, [
      // Wall time: the umount also waits ~30 us for a grace period, unrelated to N.
      { opP50Ns: { open_tree: 4000 + 30 * N, move_mount: 3000 + 36 * N + 50, umount: 35000 + 24 * N }, opCpuP50Ns: { open_tree: 4000 + 30 * N, move_mount: 3000 + 36 * N + 50, umount: 5000 + 24 * N }, propagation: { mode: 'shared', peers: N, peerGroup: 1, peersSetupNs: 0 } },
      { opP50Ns: { open_tree: 4000 + 30 * N, move_mount: 3000 + 36 * N - 50, umount: 35000 + 24 * N }, opCpuP50Ns: { open_tree: 4000 + 30 * N, move_mount: 3000 + 36 * N - 50, umount: 5000 + 24 * N }, propagation: { mode: 'shared', peers: N, peerGroup: 1, peersSetupNs: 0 } },
    ]),
  }));

  it('takes only shared runs without a reader and with one container, one point per run', () => {
    const others: LoadedMeasurement[] = [
      { file: 'private.json', m: storm({ propagation: 'private', peers: 0 }, [{ opP50Ns: { move_mount: 1 }, propagation: { mode: 'private', peers: 0, peerGroup: 0, peersSetupNs: 0 } }]) },
      { file: 'reader.json', m: storm({ propagation: 'shared', peers: 1000, reader: 'slave', readSize: 4096, idleReads: 5 }, [{ opP50Ns: { move_mount: 1 }, propagation: { mode: 'shared', peers: 1000, peerGroup: 1, peersSetupNs: 0 } }]) },
      { file: 'k8.json', m: storm({ propagation: 'shared', peers: 1000, containers: 8 }, [{ containers: 8, opP50Ns: { move_mount: 1 }, propagation: { mode: 'shared', peers: 1000, peerGroup: 1, peersSetupNs: 0 } }]) },
      { file: 'legacy.json', m: storm({}, [{}]) },
      { file: 'detach.json', m: storm({ propagation: 'shared', peers: 1000, umountDetach: true }, [{ opP50Ns: { move_mount: 1 }, propagation: { mode: 'shared', peers: 1000, peerGroup: 1, peersSetupNs: 0 }, umountDetach: true }]) },
    ];
    expect(peerPoints([...files, ...others], 1, true).map((p) => p.file)).toEqual(['detach.json']);
    const pts = peerPoints([...files, ...others]);
    expect(pts).toHaveLength(8);
    expect(new Set(pts.map((p) => p.file)).size).toBe(4);
  });

  it('recovers each op\'s per-peer slope, from CPU time by default and from wall time on request', () => {
    expect(fitPerPeer(peerPoints(files)).umount.coef[0]).toBeCloseTo(5000, 3);
    expect(fitPerPeer(peerPoints(files), 'wall').umount.coef[0]).toBeCloseTo(35000, 3);
    const fit = fitPerPeer(peerPoints(files));
    expect(fit.open_tree.coef[1]).toBeCloseTo(30, 6);
    expect(fit.move_mount.coef[1]).toBeCloseTo(36, 6);
    expect(fit.umount.coef[1]).toBeCloseTo(24, 6);
    expect(fit.move_mount.coef[0]).toBeCloseTo(3000, 3);
    // The +-50 ns run-to-run noise is in the residual, not in the slope.
    expect(fit.move_mount.residualSd).toBeGreaterThan(40);
  });
});

describe('read cost fit', () => {
  it('ring steps: lines x peers in a slave namespace, none in a private one', () => {
    expect(ringSteps({ mode: 'slave', peers: 1999 })).toBe(2000 * 2000);
    expect(ringSteps({ mode: 'private', peers: 1999 })).toBe(0);
  });

  it('separates the per-ring-step cost from the per-line cost, and predicts a held-out peer count', () => {
    const truth = [50_000, 1300, 4.5];
    const reads = (mode: 'slave' | 'private', N: number, size: number) => {
      const lines = N + 20;
      const syscalls = Math.ceil((lines * 95) / size) + 1;
      const idle = predict({ names: [], coef: truth, stdErr: [], n: 0, residualSd: 0 }, readDesignRow({ mode, peers: N, lines }));
      return storm({ propagation: 'shared', peers: N, reader: mode, readSize: size, idleReads: 3, containers: 4 }, [
        {
          containers: 4,
          propagation: { mode: 'shared', peers: N, peerGroup: 1, peersSetupNs: 0 },
          reader: {
            mode,
            readSize: size,
            reads: [
              { startNs: -3e6, durNs: idle * 4, cpuNs: idle, bytes: lines * 95, syscalls, lines, duringStorm: false },
              { startNs: -2e6, durNs: idle * 4, cpuNs: idle * 1.02, bytes: lines * 95, syscalls, lines, duringStorm: false },
              { startNs: -1e6, durNs: idle * 4, cpuNs: idle * 0.98, bytes: lines * 95, syscalls, lines, duringStorm: false },
              { startNs: 1e6, durNs: idle * 12, cpuNs: idle, bytes: lines * 95, syscalls, lines, duringStorm: true },
            ],
          },
        },
      ]);
    };
    const train: LoadedMeasurement[] = [];
    for (const N of [1000, 4000]) for (const mode of ['slave', 'private'] as const) for (const size of [1024, 4096]) train.push({ file: `${mode}-${N}-${size}`, m: reads(mode, N, size) });
    const pts = readPoints(train);
    expect(pts).toHaveLength(8);
    expect(pts[0]!.stormP50Ns).toBeCloseTo(pts[0]!.idleNs * 3, 0);
    // Wall time (4x: a loaded machine) is kept for the tables; the fit uses the CPU time.
    expect(pts[0]!.idleNs / pts[0]!.idleCpuNs).toBeCloseTo(4, 6);
    const fit = fitReadCost(pts);
    expect(fit.coef[2]).toBeCloseTo(4.5, 3);
    expect(fit.coef[1]).toBeCloseTo(1300, 1);
    const [held] = readPoints([{ file: 'h', m: reads('slave', 2000, 4096) }]);
    expect(predict(fit, readDesignRow(held!)) / held!.idleCpuNs).toBeCloseTo(1, 3);
  });
});

describe('heldOutRow', () => {
  it('reports the median, the spread of the runs and the error of the prediction', () => {
    const row = heldOutRow('x', [90, 100, 120], 110);
    expect(row).toMatchObject({ measuredNs: 100, minNs: 90, maxNs: 120, runs: 3 });
    expect(row.errorPct).toBeCloseTo(10, 9);
    expect(row.spreadPct).toBeCloseTo(30, 9);
  });
});
