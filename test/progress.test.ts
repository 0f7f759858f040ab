// Progress display: plain lines with an ETA from this process's own rate when
// stderr is not a terminal, a cli-progress bar when it is.
import { describe, it, expect } from 'vitest';
import { barProgress, createProgress, etaSeconds, formatDuration, lineProgress } from '../src/runner/progress.ts';

function sink(isTTY = false) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (t: string) => chunks.push(t) } };
}

describe('progress lines (stderr not a terminal)', () => {
  it('prints [done/total] key (eta) with the ETA from the rate so far', () => {
    const { chunks, stream } = sink();
    let now = 1000;
    const p = lineProgress(stream, () => now);
    p.start(50, 0);
    now += 10_000; // 2 points in 10 s: 5 s a point, 48 to go
    p.tick(1, 'a|x=1');
    p.tick(2, 'a|x=2');
    expect(chunks).toEqual(['[1/50] a|x=1 (eta 8m10s)\n', '[2/50] a|x=2 (eta 4m00s)\n']);
  });

  it('does not count resumed points in the rate', () => {
    const { chunks, stream } = sink();
    let now = 0;
    const p = lineProgress(stream, () => now);
    p.start(50, 40);
    now = 20_000; // 2 points simulated here in 20 s, 8 to go: 80 s
    p.tick(42, 'k');
    expect(chunks).toEqual(['resuming: 40 of 50 points from the checkpoint\n', '[42/50] k (eta 1m20s)\n']);
  });

  it('formats durations and has no ETA before a point finished', () => {
    expect(formatDuration(30)).toBe('30s');
    expect(formatDuration(59.6)).toBe('1m00s');
    expect(formatDuration(245)).toBe('4m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(etaSeconds(5000, 0, 10)).toBeUndefined();
    expect(etaSeconds(5000, 5, 10)).toBe(10);
  });
});

describe('progress bar (stderr a terminal)', () => {
  it('is chosen for a TTY and draws value/total and the point key', () => {
    const { chunks, stream } = sink(true);
    const p = createProgress(stream as unknown as NodeJS.WriteStream);
    p.start(4, 1);
    p.tick(2, 'variant|threads=8');
    p.stop();
    const text = chunks.join('');
    expect(text).toContain('resuming: 1 of 4 points');
    expect(text).toMatch(/2\/4 points \| 50% \| ETA \S+ \| variant\|threads=8/);
    expect(text).not.toMatch(/^\[\d+\/\d+\]/m);
  });

  it('ends its line before a note', () => {
    const { chunks, stream } = sink(true);
    const p = barProgress(stream);
    p.start(3, 0);
    p.note('locksim: SIGINT received');
    p.stop();
    expect(chunks.join('')).toMatch(/\nlocksim: SIGINT received\n/);
  });
});
