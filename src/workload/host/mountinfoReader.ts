/**
 * A read of /proc/self/mountinfo, as every reader of the table makes it
 * (systemd, containerd answering kubelet, runc in its container's namespace).
 */
import type { SimThread } from '../../cpu/thread.ts';
import type { LaunchState } from './launchState.ts';

/** Activity labels of one reader's read: waiting for namespace_sem, the kernel's show_mountinfo, the parse. */
export interface ReaderLabels {
  wait: number;
  read: number;
  parse: number;
}

/** How a reader reads: its read() buffer, and whether its namespace is a slave of the host's. */
export interface Reader {
  readBytes: number;
  slave: boolean;
}

/**
 * Read /proc/self/mountinfo: each read() is one seq_file pass (m_start
 * takes namespace_sem for read, queueing behind waiting writers; m_stop
 * drops it) that shows lines until the reader's buffer is full, then the
 * parse. In a slave namespace each slave line's show_mountinfo calls
 * get_dominating_id (fs/pnode.c), which walks its master's whole peer ring.
 */
export function* readMountinfo(s: LaunchState, t: SimThread, labels: ReaderLabels, perLineParseNs: number, reader: Reader) {
  const path = s.path;
  const linesPerRead = s.kernel.host.mountinfoLinesPerRead.value;
  const began = t.localNow;
  s.readsInFlight.set(t, began);
  let done = 0;
  // The table may change while it is read; seq_file walks what is there at each read().
  while (done < path.mountTable) {
    // Without the propagation section, a fixed number of lines per read().
    const lines = Math.min(path.mountTable - done, s.kernel.propagation ? path.linesPerRead(reader.readBytes) : linesPerRead);
    t.enterKernel(); // one read() syscall
    t.doing(labels.wait);
    yield path.namespaceSem.downRead(t);
    t.doing(labels.read);
    t.work(path.showMountinfoNs(lines, reader.slave));
    yield;
    yield path.namespaceSem.upRead(t);
    if (t.exitKernel()) {
      t.yieldCpu();
      yield;
    }
    done += lines;
  }
  // libmount reads the table, then parses it: the user-space share in one piece.
  if (perLineParseNs > 0) {
    t.doing(labels.parse);
    t.work(done * perLineParseNs);
    yield;
  }
  s.readsInFlight.delete(t);
  s.tableReads.push(t.localNow - began);
}

/** The labels of a reader whose stacks start with `prefix` (`systemd`, `containerd;cri`, `runc`). */
export function readerLabels(s: LaunchState, prefix: string, parseLeaf: string): ReaderLabels {
  const names = s.m.activities;
  return {
    wait: names.id(`${prefix};mountinfo;namespace_sem(r);wait`),
    read: names.id(`${prefix};mountinfo;namespace_sem(r);show_mountinfo`),
    parse: names.id(`${prefix};${parseLeaf}`),
  };
}
