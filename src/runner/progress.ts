/**
 * Progress of a sweep on stderr: a cli-progress bar with ETA when stderr is a
 * terminal, and one plain line per finished point otherwise
 * (`[12/50] key (eta 30s)`), which reads well in CI logs and `tee`d files
 * where a redrawn bar would be a mess of carriage returns.
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** `resumed` points were done before this process started (taken from a checkpoint). */
  start(total: number, resumed: number): void;
  /** `done` points of `total` are finished, the latest being `key`. */
  tick(done: number, key: string): void;
  /** A line of its own (e.g. "interrupted"), not overwritten by the bar. */
  note(text: string): void;
  stop(): void;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** 30s, 4m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * ETA from the points finished by this process only: points resumed from a
 * checkpoint took no time here and would make the rate look infinite.
 */
export function etaSeconds(elapsedMs: number, doneHere: number, remaining: number): number | undefined {
  if (doneHere <= 0) return undefined;
  return (elapsedMs / 1000 / doneHere) * remaining;
}

/** Plain lines, for a stream that is not a terminal. */
export function lineProgress(stream: ProgressStream, now: () => number = Date.now): Progress {
  let total = 0;
  let resumed = 0;
  let started = 0;
  return {
    start(t, r) {
      total = t;
      resumed = r;
      started = now();
      if (r > 0) stream.write(`resuming: ${r} of ${t} points from the checkpoint\n`);
    },
    tick(done, key) {
      const eta = etaSeconds(now() - started, done - resumed, total - done);
      stream.write(`[${done}/${total}] ${key}${eta === undefined ? '' : ` (eta ${formatDuration(eta)})`}\n`);
    },
    note(text) {
      stream.write(text + '\n');
    },
    stop() {},
  };
}

/** A redrawn bar, for a terminal. */
export function barProgress(stream: ProgressStream): Progress {
  const bar = new SingleBar({
    stream: stream as NodeJS.WritableStream,
    format: '{bar} {value}/{total} points | {percentage}% | ETA {eta_formatted} | {key}',
    hideCursor: true,
    clearOnComplete: false,
    // The ETA averages over the last points, so a sweep whose points grow in cost is not wildly optimistic.
    etaBuffer: 20,
  });
  let running = false;
  return {
    start(total, resumed) {
      if (resumed > 0) stream.write(`resuming: ${resumed} of ${total} points from the checkpoint\n`);
      bar.start(total, resumed, { key: '' });
      running = true;
    },
    tick(done, key) {
      if (running) bar.update(done, { key });
    },
    note(text) {
      // The bar redraws its own line in place and would overwrite a line
      // written under it, so it is ended first (a note means the run is stopping).
      if (running) {
        bar.stop();
        stream.write('\n');
      }
      running = false;
      stream.write(text + '\n');
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

export function createProgress(stream: ProgressStream = process.stderr): Progress {
  return stream.isTTY ? barProgress(stream) : lineProgress(stream);
}
