import { Machine } from '../../src/machine.ts';
import { makeSpinLock } from '../../src/locks/spinlock.ts';
import { loadCalibrationRecord } from '../../src/host/calibrate.ts';
import { hostMachineSpec, busyWaitNs } from '../../src/host/calibration/fit.ts';
import { loadHardwareModel } from '../../src/config/hardwareSchema.ts';
const [cal, transfer, ...css] = process.argv.slice(2);
const rec = loadCalibrationRecord(cal!);
const hw = structuredClone(loadHardwareModel(rec.hardwareModel)) as any;
if (Number(transfer) > 0) hw.coreToCore.sameL3 = { ...hw.coreToCore.sameL3, value: Number(transfer) };
const spec = hostMachineSpec(hw);
const clock = 30;
for (const c of css) {
  const cs = busyWaitNs(Number(c), clock);
  const m = new Machine(spec, { seed: 'b', placement: 'spread' });
  const lock = makeSpinLock('ttas', 'l', m.coherence);
  const seq: number[] = [];
  for (let i = 0; i < 2; i++) m.spawn(`w${i}`, function* (t) {
    let n = 0;
    for (;;) {
      t.work(6 + (n++ % 16 === 0 ? clock : 0)); yield;
      yield lock.acquire(t);
      seq.push(i);
      if (n % 16 === 1) { t.work(clock); yield; }
      if (cs > 0) { t.work(cs); yield; }
      yield lock.release(t);
    }
  });
  const dur = 2_000_000;
  m.sim.run(dur);
  let runs = 1; for (let k = 1; k < seq.length; k++) if (seq[k] !== seq[k - 1]) runs++;
  console.log(`model transfer ${hw.coreToCore.sameL3.value} cs=${c} (eff ${cs}) acq/s ${(seq.length / dur * 1e3).toFixed(2)}M share ${(seq.filter((x) => x === 0).length / seq.length).toFixed(2)} mean burst ${(seq.length / runs).toFixed(2)}`);
}
