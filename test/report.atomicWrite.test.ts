import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atomicWrite, writeOutputs, type TempWriter } from '../src/report/atomicWrite.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locksim-report-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeOutputs', () => {
  it('creates the directory and writes every file with its exact content, leaving no temp file', async () => {
    const out = join(dir, 'nested', 'out');
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    await writeOutputs(out, [
      { name: 'results.csv', content: 'variant,x\r\na,1\r\n' },
      { name: 'chart.png', content: png },
    ]);
    expect((await readdir(out)).sort()).toEqual(['chart.png', 'results.csv']);
    expect(await readFile(join(out, 'results.csv'), 'utf8')).toBe('variant,x\r\na,1\r\n');
    expect((await readFile(join(out, 'chart.png')).then((b) => b.equals(png)))).toBe(true);
  });

  it('replaces existing files', async () => {
    await writeFile(join(dir, 'results.csv'), 'old');
    await writeOutputs(dir, [{ name: 'results.csv', content: 'new' }]);
    expect(await readFile(join(dir, 'results.csv'), 'utf8')).toBe('new');
  });

  it('when a rename fails (target is a directory), removes all temp files and renames nothing after it', async () => {
    await mkdir(join(dir, 'results.csv'));
    await writeFile(join(dir, 'results.csv', 'occupied'), 'x'); // a non-empty directory cannot be replaced by a file
    await expect(
      writeOutputs(dir, [
        { name: 'results.csv', content: 'a,b\r\n' },
        { name: 'results.json', content: '{}\n' },
      ]),
    ).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['results.csv']);
  });

  it('when a write fails half-way, leaves neither the partial temp file nor a changed target', async () => {
    await writeFile(join(dir, 'results.json'), 'previous run');
    // Writes the first half of the second file to disk, then fails as a full disk would.
    let calls = 0;
    const failingWriter: TempWriter = async (path, content) => {
      calls++;
      if (calls === 2) {
        const handle = await open(path, 'wx');
        await handle.writeFile(String(content).slice(0, 3));
        await handle.close();
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      }
      await writeFile(path, content, { flag: 'wx' });
    };
    await expect(
      writeOutputs(
        dir,
        [
          { name: 'results.csv', content: 'variant,x\r\n' },
          { name: 'results.json', content: '{"points":[]}\n' },
        ],
        failingWriter,
      ),
    ).rejects.toThrow(/ENOSPC/);
    expect(await readdir(dir)).toEqual(['results.json']);
    expect(await readFile(join(dir, 'results.json'), 'utf8')).toBe('previous run');
  });

  it('rejects names that are paths, and duplicates, before writing anything', async () => {
    await expect(writeOutputs(dir, [{ name: '../escape.csv', content: '' }])).rejects.toThrow(/plain file name/);
    await expect(writeOutputs(dir, [{ name: 'a/b.csv', content: '' }])).rejects.toThrow(/plain file name/);
    await expect(
      writeOutputs(dir, [
        { name: 'a.csv', content: '1' },
        { name: 'a.csv', content: '2' },
      ]),
    ).rejects.toThrow(/twice/);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('atomicWrite', () => {
  it('writes one file by path', async () => {
    await atomicWrite(join(dir, 'run-info.json'), '{"argv":[]}\n');
    expect(await readdir(dir)).toEqual(['run-info.json']);
    expect(await readFile(join(dir, 'run-info.json'), 'utf8')).toBe('{"argv":[]}\n');
  });
});
