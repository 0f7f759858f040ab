/**
 * kubelet polling containerd over CRI: containerd answers after looking up
 * its mounts in the mount table (a Go reader, 4 KB per read(), in the host's
 * namespace). An infinite interval is no kubelet at all (the kubelet-cri
 * ablation).
 */
import type { LaunchState } from './launchState.ts';
import { readMountinfo, readerLabels } from './mountinfoReader.ts';

export function startKubelet(s: LaunchState): void {
  const host = s.host;
  if (!Number.isFinite(host.criIntervalNs)) return;
  const labels = readerLabels(s, 'containerd;cri', 'mountinfo_parse');
  // containerd parses far less per line than systemd (it only matches mount points).
  const parseNs = s.kernel.host.mountinfoProcessPerMountNs.value / 8;
  s.m.spawn('kubelet', function* (t) {
    for (;;) {
      t.sleepFor(host.criIntervalNs);
      yield;
      const start = t.localNow;
      yield* readMountinfo(s, t, labels, parseNs, { readBytes: host.goReadBytes, slave: false });
      s.criLatencies.push(t.localNow - start);
    }
  });
}
