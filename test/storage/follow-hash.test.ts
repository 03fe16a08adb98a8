// Hashing files while they are written: what followDirectory proves, and what
// it refuses to vouch for (the backup job then hashes those files again).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followDirectory } from '../../src/storage/follow-hash.js';
import { describeStoredFiles, isAppendOnlyArchive } from '../../src/agent/stored-files.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bm-follow-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

/** Another process appends `chunks` random blocks of 256 KiB to `path`, pausing between them. */
function slowWriter(path: string, chunks: number): Promise<void> {
  const script = `
    const fs = require('node:fs'); const crypto = require('node:crypto');
    const fd = fs.openSync(process.argv[1], 'a');
    let i = 0;
    const tick = () => { if (i++ === ${chunks}) { fs.closeSync(fd); return; } fs.writeSync(fd, crypto.randomBytes(256 * 1024)); setTimeout(tick, 5); };
    tick();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, path], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`))));
  });
}

describe('followDirectory', () => {
  it('hashes archives while another process appends to them, and skips what it was not asked to follow', async () => {
    const dir = join(work, 'growing');
    const follower = followDirectory(dir, isAppendOnlyArchive);
    // The directory appears after the follower started, as pg_basebackup creates it.
    await sleep(30);
    await mkdir(dir);
    await Promise.all([slowWriter(join(dir, 'base.tar.zst'), 40), slowWriter(join(dir, '16385.tar.zst'), 10)]);
    await writeFile(join(dir, 'backup_manifest'), '{}');
    const proven = await follower.finish();
    expect([...proven.keys()].sort()).toEqual(['16385.tar.zst', 'base.tar.zst']);
    expect(proven.get('base.tar.zst')).toEqual({ name: 'base.tar.zst', sha256: await sha256(join(dir, 'base.tar.zst')), bytes: 40 * 256 * 1024 });
    expect(proven.get('16385.tar.zst')!.sha256).toBe(await sha256(join(dir, '16385.tar.zst')));

    // The directory's description uses the proven checksums and hashes the rest.
    const described = await describeStoredFiles(dir, proven);
    for (const f of described) expect(f.sha256, f.name).toBe(await sha256(join(dir, f.name)));
    expect(described.map((f) => f.name)).toEqual(['16385.tar.zst', 'backup_manifest', 'base.tar.zst']);
  });

  it('does not vouch for a file that was replaced or shrank behind its back', async () => {
    const dir = join(work, 'replaced');
    await mkdir(dir);
    await writeFile(join(dir, 'base.tar'), randomBytes(100_000));
    await writeFile(join(dir, '16390.tar'), randomBytes(100_000));
    const follower = followDirectory(dir, isAppendOnlyArchive);
    await sleep(100);
    // Same name, another file (another inode); and a file truncated then regrown to a different size.
    await writeFile(join(dir, 'other'), randomBytes(100_000));
    await rename(join(dir, 'other'), join(dir, 'base.tar'));
    await writeFile(join(dir, '16390.tar'), randomBytes(50_000));
    const proven = await follower.finish();
    expect(proven.size).toBe(0);
    // Unproven files are hashed from scratch.
    const described = await describeStoredFiles(dir, proven);
    for (const f of described) expect(f.sha256, f.name).toBe(await sha256(join(dir, f.name)));
  });

  it('never follows pg_wal.tar, which the WAL tar method rewrites in place', () => {
    expect(isAppendOnlyArchive('base.tar.zst')).toBe(true);
    expect(isAppendOnlyArchive('16385.tar')).toBe(true);
    expect(isAppendOnlyArchive('pg_wal.tar')).toBe(false);
    expect(isAppendOnlyArchive('pg_wal.tar.zst')).toBe(false);
    expect(isAppendOnlyArchive('backup_manifest')).toBe(false);
    expect(isAppendOnlyArchive('backup_manifest.tmp')).toBe(false);
  });

  it('stops when the writer failed, without a result', async () => {
    const dir = join(work, 'stopped');
    await mkdir(dir);
    await appendFile(join(dir, 'base.tar'), randomBytes(1000));
    const follower = followDirectory(dir, isAppendOnlyArchive);
    await sleep(50);
    await follower.stop();
    // A stopped follower reads nothing more; the file can go.
    await rm(join(dir, 'base.tar'));
  });
});
