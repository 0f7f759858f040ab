// Calibrate and validate on this host for real: the probes run (root,
// idmapped mounts, 2 cpus), calibration fits to one set of runs, validation
// predicts other runs of other configurations. Skipped with the reason where
// the host cannot run the probes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { measureLockbench, measureMountstorm } from '../src/host/measure.ts';
import { buildProbes, canMountIdmapped } from '../src/host/probes.ts';
import { hostToModel, modelFileText, readSysfsTopology } from '../src/host/topology.ts';
import { loadCalibrationRecord, runCalibration } from '../src/host/calibrate.ts';
import { validate } from '../src/host/validate.ts';
import { loadKernelModel } from '../src/workload/kernelModel.ts';
import { loadHardwareModel } from '../src/config/hardwareSchema.ts';

const built = buildProbes();
const cap = built.ok ? canMountIdmapped() : { ok: false, reason: `probes not built: ${built.message}` };
const twoCpus = readSysfsTopology().cpus.length >= 2;
const reason = !cap.ok ? cap.reason : !twoCpus ? 'lockbench needs 2 cpus' : '';
if (reason) console.warn(`skipped: ${reason}`);

const work = mkdtempSync(join(tmpdir(), 'locksim-calibrate-priv-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(reason !== '')('calibrate then validate on this host', () => {
  it('fits to K in {1,2}, L=3 and lockbench cs in {50,200}; predicts K=3 L=2, common-parent and cs=100', async () => {
    const f = (n: string) => join(work, n);
    const cal = [
      await measureMountstorm({ variant: 'per-layer-idmap', containers: 1, layers: 3, repeat: 2 }, { out: f('ms-K1-L3.json') }),
      await measureMountstorm({ variant: 'per-layer-idmap', containers: 2, layers: 3, repeat: 2 }, { out: f('ms-K2-L3.json') }),
    ];
    expect(cal).toHaveLength(2);
    for (const cs of [50, 200]) await measureLockbench({ threads: 2, csNs: cs, durationMs: 200 }, { out: f(`lb-cs${cs}.json`) });
    await measureMountstorm({ variant: 'per-layer-idmap', containers: 3, layers: 2, repeat: 2 }, { out: f('ms-K3-L2.json') });
    await measureMountstorm({ variant: 'common-parent', containers: 2, layers: 3, repeat: 2 }, { out: f('cp-K2-L3.json') });
    await measureLockbench({ threads: 2, csNs: 100, durationMs: 200 }, { out: f('lb-cs100.json') });

    const out = f('fit');
    const run = await runCalibration({
      files: [f('ms-K1-L3.json'), f('ms-K2-L3.json'), f('lb-cs50.json'), f('lb-cs200.json')],
      hardwareText: modelFileText(hostToModel(readSysfsTopology(), { name: 'host' }), { command: 'test' }),
      hardwareShownAs: 'this host',
      kernel: 'linux-6.6',
      outDir: out,
      command: 'locksim calibrate (test)',
    });
    // Both fits ran, within the minute the issue allows, and wrote loadable models.
    expect(run.lockFit!.seconds + run.mountFit!.seconds).toBeLessThan(60);
    const kernel = loadKernelModel(join(out, 'kernel.yaml'));
    expect(kernel.costs.umountTreeCsNs!.source).toMatch(/^fitted by locksim calibrate from .*ms-K1-L3\.json.* on \d{4}-/);
    expect(readFileSync(join(out, 'kernel.yaml'), 'utf8')).toContain('forEachLayer');
    const hw = loadHardwareModel(join(out, 'hardware.yaml'));
    // The transfer between the cpus: sameL3, or crossL3 when their measured transfer says they share no L3 (cpusApart).
    const transfer = run.lockFit!.splitL3 ? hw.coreToCore.crossL3! : hw.coreToCore.sameL3;
    expect(hw.topology.l3GroupsPerSocket).toBe(run.lockFit!.splitL3 ? hw.topology.coresPerSocket : 1);
    expect(transfer.source).toMatch(/^fitted by locksim calibrate from /);
    // The pause: the probe's measurement, not fitted.
    expect(hw.pause.cycles.source).toMatch(/^measured by probes\/lockbench \(pauseNs/);
    // How much one transfer varies: the probe's measurement too (x86: its time stamp counter).
    if (['x64', 'ia32'].includes(process.arch)) {
      expect(hw.coreToCore.jitterCv!.source).toMatch(/^measured by probes\/lockbench \(transferSpread/);
      expect(hw.coreToCore.jitterCv!.value).toBeLessThan(0.5);
    }
    for (const p of [...run.lockFit!.parameters, ...run.mountFit!.parameters]) expect(Number.isFinite(p.value)).toBe(true);

    const report = validate(loadCalibrationRecord(join(out, 'calibration.json')), [f('ms-K3-L2.json'), f('cp-K2-L3.json'), f('lb-cs100.json')]);
    expect(report.points.map((p) => p.label).sort()).toEqual(['common-parent K=2 L=3', 'per-layer-idmap K=3 L=2', 'ttas threads=2 cs=100 think=0']);
    for (const p of report.points) {
      expect(p.predicted).toBeGreaterThan(0);
      expect(p.measured).toHaveLength(p.probe === 'mountstorm' ? 2 : 1);
    }
    // A sanity bound only: the 15% target is shown on the committed data set
    // (docs/validation.md); these tiny runs on a shared machine are too noisy to hold it.
    expect(report.mapePct.mountstorm).toBeLessThan(100);
  });
});
