/**
 * The tables of docs/validation.md, "Mount propagation, measured", from the
 * files measurements/record-propagation.sh writes: per-op medians against the
 * peer count, the per-peer fit with a held-out peer count, the storm's
 * syscall rate with and without a large peer group, and mountinfo reads
 * (slave vs private, 1 KB vs 4 KB, idle and during a storm) with the
 * per-ring-step fit and its held-out peer count. Also writes the fitted values
 * as JSON for the kernel model (--json FILE).
 * Usage: npx tsx scripts/propagation-tables.ts DIR [--json FILE] [--hold-out 500,2000]
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMeasurement } from '../src/host/measure.ts';
import { fitPerPeer, fitReadCost, groupBy, heldOutRow, PEER_OPS, peerPoints, predict, readDesignRow, readPoints, type LinearFit, type LoadedMeasurement } from '../src/host/propagationFit.ts';

const args = process.argv.slice(2);
const dir = args[0];
if (!dir) throw new Error('usage: propagation-tables.ts DIR [--json FILE] [--hold-out 500,2000]');
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const heldOut = new Set((opt('--hold-out') ?? '500,2000').split(',').map(Number));
const files: LoadedMeasurement[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, m: loadMeasurement(join(dir, f)) }));

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const us = (ns: number) => (ns / 1e3).toFixed(1);
const ms = (ns: number) => (ns / 1e6).toFixed(2);
const spreadOf = (v: number[], f: (x: number) => string) => `${f(median(v))} (${f(Math.min(...v))}-${f(Math.max(...v))})`;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
const coefText = (fit: LinearFit, j: number, digits = 3) => `${fit.coef[j]!.toPrecision(digits)} +- ${fit.stdErr[j]!.toPrecision(2)}`;
const out: string[] = [];
const json: Record<string, unknown> = { source: dir, heldOutPeers: [...heldOut] };

// 1. Per-op medians vs N (K=1), private first: CPU time, and wall time beside it.
const stormRuns = (pred: (m: Extract<LoadedMeasurement['m'], { kind: 'mountstorm' }>) => boolean) =>
  files.flatMap(({ m }) => (m.kind === 'mountstorm' && pred(m) ? m.results.runs : []));
const privRuns = stormRuns((m) => m.config.propagation === 'private' && m.config.containers === 1 && !m.config.reader);
for (const detach of [false, true]) {
  const peerPts = peerPoints(files, 1, detach);
  if (!peerPts.length) continue;
  const how = detach ? 'umount2(MNT_DETACH)' : 'umount2(0)';
  out.push(`#### Per-operation CPU time [wall time] vs peers, K=1, L=50, ${how}: median (min-max) of the runs' medians, us`, '');
  out.push(`| setup | runs | ${PEER_OPS.join(' | ')} |`, `|---|---|${PEER_OPS.map(() => '---|').join('')}`);
  const cell = (cpu: number[], wall: number[]) => `${spreadOf(cpu, us)} [${us(median(wall))}]`;
  if (!detach && privRuns.length) out.push(`| private | ${privRuns.length} | ${PEER_OPS.map((op) => cell(privRuns.map((r) => r.opCpuP50Ns![op]!), privRuns.map((r) => r.opP50Ns![op]!))).join(' | ')} |`);
  const byPeers = groupBy(peerPts, (p) => String(p.peers));
  for (const [n, pts] of [...byPeers].sort((a, b) => Number(a[0]) - Number(b[0]))) {
    out.push(`| shared, ${n} peers | ${pts.length} | ${PEER_OPS.map((op) => cell(pts.map((p) => p.opCpuNs[op]!), pts.map((p) => p.opNs[op]!))).join(' | ')} |`);
  }

  // 2. Per-peer fit: training peer counts, then held-out rows; and the fit on all.
  const train = peerPts.filter((p) => !heldOut.has(p.peers));
  const fitTrain = fitPerPeer(train);
  const fitAll = fitPerPeer(peerPts);
  const fitWall = fitPerPeer(peerPts, 'wall');
  out.push('', `#### Per-peer fit, ${how} (CPU ns = base + perPeer x N, least squares over runs; trained on N = ${[...new Set(train.map((p) => p.peers))].sort((a, b) => a - b).join(', ')})`, '');
  out.push('| op | base (ns) | per peer (ns) | residual sd (ns) | fit on all N: per peer (ns) | wall time, all N: per peer (ns) |', '|---|---|---|---|---|---|');
  for (const op of PEER_OPS) out.push(`| ${op} | ${coefText(fitTrain[op], 0)} | ${coefText(fitTrain[op], 1)} | ${fitTrain[op].residualSd.toFixed(0)} | ${coefText(fitAll[op], 1)} | ${coefText(fitWall[op], 1)} |`);
  const held = [...byPeers].filter(([n]) => heldOut.has(Number(n)));
  if (held.length) {
    out.push('', '| held out | op | measured CPU median (min-max), us | predicted, us | error | run spread |', '|---|---|---|---|---|---|');
    for (const [n, pts] of held) {
      for (const op of PEER_OPS) {
        const row = heldOutRow(`${n} peers`, pts.map((p) => p.opCpuNs[op]!), predict(fitTrain[op], [1, Number(n)]));
        out.push(`| ${n} peers | ${op} | ${us(row.measuredNs)} (${us(row.minNs)}-${us(row.maxNs)}) | ${us(row.predictedNs)} | ${pct(row.errorPct)} | ${row.spreadPct.toFixed(0)}% |`);
      }
    }
  }
  out.push('');
  json[detach ? 'perPeerDetach' : 'perPeer'] = Object.fromEntries(PEER_OPS.map((op) => [op, { clock: 'cpu', baseNs: fitAll[op].coef[0], perPeerNs: fitAll[op].coef[1], perPeerStdErrNs: fitAll[op].stdErr[1], n: fitAll[op].n, wallPerPeerNs: fitWall[op].coef[1], wallPerPeerStdErrNs: fitWall[op].stdErr[1] }]));
}

// 3. Storms of 8 containers: syscall rate with and without a large peer group.
const k8 = files.filter(({ m }) => m.kind === 'mountstorm' && m.config.containers === 8 && !m.config.reader);
if (k8.length) {
  out.push('#### Storm of 8 containers, 50 layers: mount syscalls per second and launch time (median (min-max) of runs)', '');
  out.push('| setup | runs | syscalls/s | launch p50, ms | umount median, us |', '|---|---|---|---|---|');
  for (const [label, group] of groupBy(k8, ({ m }) => (m.kind === 'mountstorm' ? `${m.config.propagation}, ${m.config.peers} peers` : ''))) {
    const runs = group.flatMap(({ m }) => (m.kind === 'mountstorm' ? m.results.runs : []));
    const rate = runs.map((r) => (Object.values(r.opCounts).reduce((a, b) => a + b, 0) / r.wallNs) * 1e9);
    out.push(`| ${label} | ${runs.length} | ${spreadOf(rate, (x) => x.toFixed(0))} | ${spreadOf(runs.map((r) => r.p50Ns), ms)} | ${spreadOf(runs.map((r) => r.opP50Ns!['umount']!), us)} |`);
  }
  out.push('', 'Per-op CPU time in these storms, median of runs (us):', '', `| setup | ${PEER_OPS.join(' | ')} |`, `|---|${PEER_OPS.map(() => '---|').join('')}`);
  for (const [label, group] of groupBy(k8, ({ m }) => (m.kind === 'mountstorm' ? `${m.config.propagation}, ${m.config.peers} peers` : ''))) {
    const runs = group.flatMap(({ m }) => (m.kind === 'mountstorm' ? m.results.runs : []));
    out.push(`| ${label} | ${PEER_OPS.map((op) => us(median(runs.map((r) => r.opCpuP50Ns?.[op] ?? NaN)))).join(' | ')} |`);
  }
}

// 4. Mountinfo reads (the K=4 reader runs; the K=1 ones below measure the writers).
const reads = readPoints(files.filter(({ m }) => m.kind === 'mountstorm' && m.config.containers === 4));
if (reads.length) {
  out.push('', '#### Full /proc/self/mountinfo reads, mounts = peers (K=4, L=50 storm; per run the median of 11 idle reads and of the reads during the storm; median (min-max) of runs), ms', '');
  out.push('| reader | read() size | peers | lines | read() calls | idle, CPU time | idle, wall | during the storm, wall | slowest during the storm, wall |', '|---|---|---|---|---|---|---|---|---|');
  const groups = groupBy(reads, (p) => `${p.mode}|${p.readSize}|${p.peers}`);
  const keys = [...groups.keys()].sort((a, b) => {
    const [ma, sa, na] = a.split('|');
    const [mb, sb, nb] = b.split('|');
    return Number(na) - Number(nb) || ma!.localeCompare(mb!) || Number(sa) - Number(sb);
  });
  for (const k of keys) {
    const g = groups.get(k)!;
    const storm = g.filter((p) => p.stormP50Ns !== undefined);
    out.push(`| ${g[0]!.mode} | ${g[0]!.readSize} | ${g[0]!.peers} | ${median(g.map((p) => p.lines))} | ${median(g.map((p) => p.syscalls))} | ${spreadOf(g.map((p) => p.idleCpuNs), ms)} | ${spreadOf(g.map((p) => p.idleNs), ms)} | ${storm.length ? spreadOf(storm.map((p) => p.stormP50Ns!), ms) : '-'} | ${storm.length ? `${ms(Math.max(...storm.map((p) => p.stormMaxNs!)))} (runs' median ${ms(median(storm.map((p) => p.stormMaxNs!)))})` : '-'} |`);
  }
  const readTrain = reads.filter((p) => !heldOut.has(p.peers));
  const readFit = fitReadCost(readTrain);
  const readFitAll = fitReadCost(reads);
  out.push('', `#### Read cost fit (CPU time of an idle read = base + perLine x lines + perRingStep x (peers+1)^2 in a slave namespace; trained on N = ${[...new Set(readTrain.map((p) => p.peers))].sort((a, b) => a - b).join(', ')})`, '');
  out.push('| coefficient | trained | on all N |', '|---|---|---|');
  readFit.names.forEach((name, j) => out.push(`| ${name} | ${coefText(readFit, j)} | ${coefText(readFitAll, j)} |`));
  out.push('', '| held out | reader | read() size | measured idle CPU time, median (min-max), ms | predicted, ms | error | run spread |', '|---|---|---|---|---|---|---|');
  for (const k of keys) {
    const g = groups.get(k)!;
    if (!heldOut.has(g[0]!.peers)) continue;
    const row = heldOutRow(k, g.map((p) => p.idleCpuNs), predict(readFit, readDesignRow({ ...g[0]!, lines: median(g.map((p) => p.lines)) })));
    out.push(`| ${g[0]!.peers} peers | ${g[0]!.mode} | ${g[0]!.readSize} | ${ms(row.measuredNs)} (${ms(row.minNs)}-${ms(row.maxNs)}) | ${ms(row.predictedNs)} | ${pct(row.errorPct)} | ${row.spreadPct.toFixed(0)}% |`);
  }
  json.read = Object.fromEntries(readFitAll.names.map((n, j) => [n, { value: readFitAll.coef[j], stdErr: readFitAll.stdErr[j] }]));
}
// 5. What a slave namespace with a copy of every peer adds to each op (K=1).
const slaveRuns = files.filter(({ m }) => m.kind === 'mountstorm' && m.config.reader && m.config.containers === 1);
if (slaveRuns.length) {
  out.push('', '#### One container (K=1, L=50) while a reader namespace exists: per-op CPU time, median (min-max) of the runs\' medians, us', '');
  out.push(`| peers | reader namespace | runs | ${PEER_OPS.join(' | ')} |`, `|---|---|---|${PEER_OPS.map(() => '---|').join('')}`);
  const groups = groupBy(slaveRuns, ({ m }) => (m.kind === 'mountstorm' ? `${m.config.peers}|${m.config.reader}` : ''));
  for (const key of [...groups.keys()].sort((a, b) => Number(a.split('|')[0]) - Number(b.split('|')[0]) || a.localeCompare(b))) {
    const runs = groups.get(key)!.flatMap(({ m }) => (m.kind === 'mountstorm' ? m.results.runs : []));
    const [n, mode] = key.split('|');
    out.push(`| ${n} | ${mode} | ${runs.length} | ${PEER_OPS.map((op) => spreadOf(runs.map((r) => r.opCpuP50Ns![op]!), us)).join(' | ')} |`);
  }
}
process.stdout.write(out.join('\n') + '\n');
const jsonOut = opt('--json');
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(json, null, 2) + '\n');
