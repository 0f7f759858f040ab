// Fitted values name the measurement files they came from in bash brace
// notation (src/host/calibration/write.ts, compactFileList): short enough to
// read, and bash expands it back to exactly the files given.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compactFileList } from '../src/host/calibration/write.ts';

const expand = (list: string): string[] => execFileSync('bash', ['-c', `printf '%s\\n' ${list}`], { encoding: 'utf8' }).trim().split('\n');

describe('the files behind a fitted value (compactFileList)', () => {
  it('a calibration set of runs per configuration: one brace group per directory, runs as ranges; bash expands it to the same files', () => {
    const files = [
      ...[1, 2, 3, 4, 5].map((r) => `measurements/w/per-layer-idmap-K2-L10.r${r}.json`),
      ...[1, 2, 3, 4, 5].map((r) => `measurements/w/common-parent-K1-L50-unmount-processes.r${r}.json`),
      ...[1, 2, 3].map((r) => `measurements/w/ttas-t2-cs0-run${r}.json`),
      'measurements/w/wakeup.json',
      'other/ms-K1-L3.json',
    ];
    const list = compactFileList(files);
    expect(list).toBe('measurements/w/{common-parent-K1-L50-unmount-processes.r{1..5}.json,per-layer-idmap-K2-L10.r{1..5}.json,ttas-t2-cs0-run{1..3}.json,wakeup.json} other/ms-K1-L3.json');
    expect(expand(list).sort()).toEqual([...files].sort());
  });

  it('runs with gaps are listed one by one, a lone file stays a plain path, duplicates count once', () => {
    const files = ['d/s.r1.json', 'd/s.r3.json', 'd/s.r4.json', 'd/s.r3.json', 'e/x.r2.json'];
    const list = compactFileList(files);
    expect(list).toBe('d/{s.r1.json,s.r3.json,s.r4.json} e/x.r2.json');
    expect(expand(list).sort()).toEqual(['d/s.r1.json', 'd/s.r3.json', 'd/s.r4.json', 'e/x.r2.json']);
  });
});
