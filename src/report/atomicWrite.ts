// Result files are written to a temporary name in the target directory and
// renamed into place. rename(2) within one filesystem is atomic, so a reader
// (or a run interrupted by Ctrl-C or a crash) sees either the old file or the
// complete new one, never a truncated one. The temp file must live in the same
// directory: a rename across filesystems (e.g. from /tmp) is not atomic.

import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface OutputFile {
  /** Plain file name inside the output directory (no path separators). */
  name: string;
  content: string | Buffer;
}

/** Writes `content` to `path` completely and flushes it to disk. Exported so tests can wrap it. */
export type TempWriter = (path: string, content: string | Buffer) => Promise<void>;

export const writeAndSync: TempWriter = async (path, content) => {
  // 'wx' refuses to follow or reuse an existing file at the temp name.
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(content);
    // Without fsync a power loss after the rename can leave a zero-length file
    // on some filesystems (ext4 delayed allocation).
    await handle.sync();
  } finally {
    await handle.close();
  }
};

function tempNameFor(dir: string, name: string): string {
  // Leading dot hides it from globbing; pid + random bytes avoid collisions
  // between concurrent runs writing into the same directory.
  return join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function checkPlainName(name: string): void {
  if (name === '' || name === '.' || name === '..' || basename(name) !== name || name.includes('/') || name.includes('\\')) {
    throw new Error(`output file name must be a plain file name, got ${JSON.stringify(name)}`);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the renames themselves durable. Some filesystems refuse fsync on a
  // directory (EINVAL/EISDIR); durability there is best effort.
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}

/** Atomically replaces one file. */
export async function atomicWrite(path: string, content: string | Buffer, writeTemp: TempWriter = writeAndSync): Promise<void> {
  await writeOutputs(dirname(path), [{ name: basename(path), content }], writeTemp);
}

/**
 * Writes a set of output files: creates `dir`, writes every file to a temp
 * name first, and only when all writes succeeded renames them into place.
 * On any failure the temp files are removed and the error is rethrown, so a
 * failed run leaves the previous outputs (if any) untouched and no partial file.
 * `writeTemp` is injectable so tests can simulate a failing disk.
 */
export async function writeOutputs(dir: string, files: OutputFile[], writeTemp: TempWriter = writeAndSync): Promise<void> {
  const names = new Set<string>();
  for (const file of files) {
    checkPlainName(file.name);
    if (names.has(file.name)) throw new Error(`output file ${JSON.stringify(file.name)} is listed twice`);
    names.add(file.name);
  }
  await mkdir(dir, { recursive: true });

  const pending: { temp: string; target: string }[] = [];
  try {
    for (const file of files) {
      const temp = tempNameFor(dir, file.name);
      // Recorded before writing: a write that fails half-way still leaves a temp file to remove.
      pending.push({ temp, target: join(dir, file.name) });
      await writeTemp(temp, file.content);
    }
    // Renames are done only after every temp file is complete. If one rename
    // fails, the files already renamed are complete new versions; the rest
    // keep their old contents.
    while (pending.length > 0) {
      const { temp, target } = pending[0];
      await rename(temp, target);
      pending.shift();
    }
  } catch (err) {
    await Promise.all(pending.map(({ temp }) => rm(temp, { force: true })));
    throw err;
  }
  await syncDirectory(dir);
}
