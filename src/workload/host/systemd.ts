/**
 * systemd (PID 1): re-reads the whole mount table after mount events, in the
 * host's namespace, 1 KB per read() (libmount). systemd >= 248 dispatches
 * its mount event source at most 5 times per second (src/core/mount.c:
 * sd_event_source_set_ratelimit(m->mount_event_source, 1 * USEC_PER_SEC, 5));
 * older releases re-read after every event.
 */
import type { SimThread } from '../../cpu/thread.ts';
import type { LaunchState } from './launchState.ts';
import { readMountinfo, readerLabels } from './mountinfoReader.ts';

export function startSystemd(s: LaunchState): void {
  let dirty = false;
  let thread: SimThread | null = null;
  let waiting = false;
  s.onMountEvent = () => {
    dirty = true;
    if (thread && waiting) {
      waiting = false;
      thread.wake();
    }
  };
  if (!s.host.systemd) return;
  const labels = readerLabels(s, 'systemd', 'mount_load_proc_self_mountinfo');
  const host = s.host;
  const parseNs = s.kernel.host.mountinfoProcessPerMountNs.value;
  // sd_event's rate limit: at most `burst` dispatches in each interval.
  const intervalNs = 1e9;
  const burst = 5;
  let windowStart = 0;
  let dispatched = 0;
  thread = s.m.spawn('systemd', function* (t) {
    for (;;) {
      if (!dirty) {
        waiting = true;
        t.sleep();
        yield;
      }
      if (host.systemdRateLimit) {
        if (t.localNow >= windowStart + intervalNs) {
          windowStart = t.localNow;
          dispatched = 0;
        }
        if (dispatched >= burst) {
          // The event source is off until the interval ends; events meanwhile are coalesced.
          t.sleepFor(windowStart + intervalNs - t.localNow);
          yield;
          windowStart = t.localNow;
          dispatched = 0;
        }
        dispatched++;
      }
      dirty = false;
      const start = t.localNow;
      yield* readMountinfo(s, t, labels, parseNs, { readBytes: host.systemdReadBytes, slave: false });
      s.systemdReads.push(t.localNow - start);
    }
  });
}
