// WAL archiving against a real server: archive_command runs our wal-push as
// the postgres OS user; what comes back out must be byte-identical.
import { spawnSync } from 'node:child_process';
import { chown, cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedWalName, walDirFor } from '../../src/storage/layout.js';
import { parseManifest } from '../../src/storage/manifest.js';
import { verifyStoredBackup } from '../../src/storage/verify-tar.js';
import {
  checkWalRange,
  CorruptWalError,
  listArchivedWal,
  walFetch,
  walFileNameForLsn,
  walPush,
  walSegmentRange,
} from '../../src/storage/wal-archive.js';
import { readSystemIdentifierFromControl } from '../../src/storage/pg-control.js';
import { createCluster, type TestCluster } from '../harness/cluster.js';
import { psqlValue, run, takeBackup } from './helpers.js';

let work: string;
let repo: string;
let timingLog: string;
let c: TestCluster;
let sysid: string;

function postgresIds(): { uid: number; gid: number } {
  const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

async function archiver(): Promise<{ archived: number; failed: number; lastArchived: string | null; lastFailed: string | null }> {
  const [r] = await c.query(`SELECT archived_count, failed_count, last_archived_wal, last_failed_wal FROM pg_stat_archiver`);
  return { archived: Number(r!.archived_count), failed: Number(r!.failed_count), lastArchived: r!.last_archived_wal, lastFailed: r!.last_failed_wal };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${c.logTail(20)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Write some rows and switch; resolves to the name of the segment just finished. */
async function fillAndSwitch(rows = 20_000): Promise<string> {
  await c.query(`INSERT INTO churn SELECT g, md5(g::text) FROM generate_series(1, ${rows}) g`);
  const name = await psqlValue(c, 'SELECT pg_walfile_name(pg_current_wal_lsn())');
  await c.query('SELECT pg_switch_wal()');
  return name;
}

const waitArchived = (name: string) =>
  waitFor(`${name} to be archived`, async () => {
    const a = await archiver();
    return a.lastArchived !== null && a.lastArchived >= name ? a : undefined;
  });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bm-wal-test-'));
  await chmod(work, 0o755);
  // A bundle starts in a fraction of tsx's time, and needs nothing from node_modules.
  const shim = join(work, 'wal-push-shim.mjs');
  await run(resolve('node_modules/.bin/esbuild'), [
    resolve('test/storage/wal-push-shim.ts'),
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--target=node20',
    '--log-level=warning',
    `--outfile=${shim}`,
  ]);
  repo = join(work, 'repo');
  timingLog = join(work, 'timings.jsonl');
  await mkdir(repo);
  await writeFile(timingLog, '');
  const { uid, gid } = postgresIds();
  await chown(repo, uid, gid);
  await chown(timingLog, uid, gid);
  c = await createCluster({
    name: 'walarch',
    pgCron: false,
    settings: {
      archive_mode: 'on',
      archive_command: `${process.execPath} ${shim} %p ${repo} ${timingLog}`,
      // Keep switched segments in pg_wal so the fetched copies can be compared.
      wal_keep_size: '1GB',
      checkpoint_timeout: '1h',
    },
  });
  await c.query('CREATE TABLE churn (id int, h text)');
  sysid = await readSystemIdentifierFromControl(c.dataDir);
});

afterAll(async () => {
  await c?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('archive_command = wal-push', () => {
  let names: string[] = [];

  it('archives every switched segment without a failure', async () => {
    for (let i = 0; i < 5; i++) names.push(await fillAndSwitch());
    const a = await waitArchived(names.at(-1)!);
    expect(a.failed).toBe(0);
    const listed = await listArchivedWal({ repo, systemIdentifier: sysid });
    const segments = listed.filter((e) => e.kind === 'segment').map((e) => e.fileName);
    for (const n of names) expect(segments).toContain(n);
    expect(listed.length).toBe(a.archived);
    for (const e of listed) {
      expect(e.timeline).toBe(1);
      expect(e.storedPath.startsWith(join(repo, sysid, 'wal', e.fileName.slice(0, 16)))).toBe(true);
      // WAL after a switch is mostly zeroes; compression must show it.
      expect(e.storedBytes).toBeLessThan(4 * 1024 * 1024);
    }
    const lines = (await readFile(timingLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const push = lines.map((l) => l.pushMs as number).sort((x, y) => x - y);
    const proc = lines.map((l) => l.processMs as number).sort((x, y) => x - y);
    console.log(
      `archive_command over ${lines.length} segments: walPush median ${push[push.length >> 1]!.toFixed(1)} ms, ` +
        `whole process median ${proc[proc.length >> 1]!.toFixed(1)} ms`,
    );
  });

  it('wal-fetch returns exactly the bytes in pg_wal', async () => {
    const dest = join(work, 'fetched');
    await mkdir(dest, { recursive: true });
    for (const n of names) {
      const r = await walFetch({ repo, systemIdentifier: sysid, fileName: n, destPath: join(dest, 'RECOVERYXLOG') });
      expect(r.found).toBe(true);
      const original = await readFile(join(c.dataDir, 'pg_wal', n));
      const fetched = await readFile(join(dest, 'RECOVERYXLOG'));
      expect(fetched.length).toBe(16 * 1024 * 1024);
      expect(fetched.equals(original)).toBe(true);
    }
    // No leftovers from the atomic write.
    expect(await readdir(dest)).toEqual(['RECOVERYXLOG']);
  });

  it('wal-fetch finds the only cluster in the repository by itself, relative to cwd', async () => {
    const dest = join(work, 'cwd-fetch');
    await mkdir(join(dest, 'pg_wal'), { recursive: true });
    const r = await walFetch({ repo, fileName: names[0]!, destPath: 'pg_wal/RECOVERYXLOG', cwd: dest });
    expect(r).toMatchObject({ found: true, systemIdentifier: sysid });
    expect(existsSync(join(dest, 'pg_wal', 'RECOVERYXLOG'))).toBe(true);
  });

  it('a file that was never archived is simply not found', async () => {
    const r = await walFetch({ repo, systemIdentifier: sysid, fileName: '00000002.history', destPath: join(work, 'nope') });
    expect(r).toEqual({ found: false });
    expect(existsSync(join(work, 'nope'))).toBe(false);
  });

  it('checkWalRange sees the range complete, and a gap beyond it', async () => {
    const first = names[0]!;
    const last = names.at(-1)!;
    const ok = await checkWalRange({ repo, systemIdentifier: sysid, timeline: 1, startSegment: first, endSegment: last, verifyContent: true });
    expect(ok).toMatchObject({ complete: true, missing: [], corrupt: [] });
    expect(ok.segments).toBe(walSegmentRange(first, last).length);
    const beyond = walFileNameForLsn(1, (BigInt(parseInt(last.slice(16), 16)) + 3n) * 16n * 1024n * 1024n);
    const gap = await checkWalRange({ repo, systemIdentifier: sysid, timeline: 1, startSegment: first, endSegment: beyond });
    expect(gap.complete).toBe(false);
    expect(gap.missing).toHaveLength(walSegmentRange(last, beyond).length - 1);
  });

  it('a re-push of identical content succeeds without writing', async () => {
    const n = names[1]!;
    const stored = (await listArchivedWal({ repo, systemIdentifier: sysid })).find((e) => e.fileName === n)!;
    const before = (await stat(stored.storedPath)).mtimeMs;
    const r = await walPush({ repo, walPath: `pg_wal/${n}`, cwd: c.dataDir });
    expect(r).toMatchObject({ fileName: n, alreadyPresent: true, systemIdentifier: sysid, bytes: 16 * 1024 * 1024 });
    expect((await stat(r.storedPath)).mtimeMs).toBe(before);
  });

  it('different content under an archived name is refused', async () => {
    const n = names[1]!;
    const fake = join(work, 'fake', 'pg_wal');
    await mkdir(fake, { recursive: true });
    const buf = await readFile(join(c.dataDir, 'pg_wal', n));
    buf[100_000] = buf[100_000]! ^ 0xff;
    await writeFile(join(fake, n), buf);
    await expect(walPush({ repo, walPath: join(fake, n) })).rejects.toThrow(/already archived with different content/);
  });

  it('a segment pushed under the wrong system identifier is refused', async () => {
    await expect(walPush({ repo, walPath: `pg_wal/${names[0]}`, cwd: c.dataDir, systemIdentifier: '1' })).rejects.toThrow(/belongs to system/);
  });

  it('wal-fetch refuses a stored file whose content does not match its checksum', async () => {
    const tampered = join(work, 'tampered-repo');
    await cp(repo, tampered, { recursive: true });
    const n = names[2]!;
    const entry = (await listArchivedWal({ repo: tampered, systemIdentifier: sysid })).find((e) => e.fileName === n)!;
    // Valid zstd, wrong bytes: only the checksum can tell.
    const raw = join(work, 'raw');
    await run('zstd', ['-q', '-d', '-f', entry.storedPath, '-o', raw]);
    const buf = await readFile(raw);
    buf[5000] = buf[5000]! ^ 1;
    await writeFile(raw, buf);
    await run('zstd', ['-q', '-f', raw, '-o', entry.storedPath]);
    const dest = join(work, 'tampered-dest');
    await mkdir(dest, { recursive: true });
    const fetching = walFetch({ repo: tampered, systemIdentifier: sysid, fileName: n, destPath: join(dest, 'X') });
    await expect(fetching).rejects.toThrow(CorruptWalError);
    await expect(fetching).rejects.toThrow(entry.storedPath);
    expect(await readdir(dest)).toEqual([]);
    const check = await checkWalRange({ repo: tampered, systemIdentifier: sysid, timeline: 1, startSegment: n, endSegment: n, verifyContent: true });
    expect(check).toMatchObject({ complete: false, missing: [], corrupt: [n] });

    // Not zstd at all.
    await writeFile(entry.storedPath, 'garbage');
    await expect(walFetch({ repo: tampered, systemIdentifier: sysid, fileName: n, destPath: join(dest, 'X') })).rejects.toThrow(/corrupt/);
    expect(await readdir(dest)).toEqual([]);
  });

  it('a conflicting archive entry makes archive_command fail and PostgreSQL keep the segment', async () => {
    const before = await archiver();
    await c.query(`INSERT INTO churn SELECT g, 'x' FROM generate_series(1, 1000) g`);
    const next = await psqlValue(c, 'SELECT pg_walfile_name(pg_current_wal_lsn())');
    const dir = walDirFor(repo, sysid, next);
    await mkdir(dir, { recursive: true });
    const bogus = join(dir, storedWalName(next, 'f'.repeat(64)));
    await writeFile(bogus, 'someone else was here');
    await c.query('SELECT pg_switch_wal()');
    const failed = await waitFor('a failed archive attempt', async () => {
      const a = await archiver();
      return a.failed > before.failed ? a : undefined;
    });
    expect(failed.lastFailed).toBe(next);
    expect(existsSync(join(c.dataDir, 'pg_wal', 'archive_status', `${next}.ready`))).toBe(true);
    expect(c.logTail(50)).toMatch(/already archived with different content/);

    await rm(bogus);
    const after = await fillAndSwitch(100);
    await waitArchived(after);
    const listed = (await listArchivedWal({ repo, systemIdentifier: sysid })).map((e) => e.fileName);
    expect(listed).toContain(next);
    expect(listed).toContain(after);
    names.push(next, after);
  });

  it('a -X none backup verifies with its WAL fetched back from the archive', async () => {
    const backup = join(work, 'xnone');
    await takeBackup(c, backup, { wal: 'none' });
    const listed = await listArchivedWal({ repo, systemIdentifier: sysid });
    expect(listed.some((e) => e.kind === 'backup')).toBe(true);

    // Without WAL the verifier must object, like pg_verifybackup would.
    const bare = await verifyStoredBackup(backup);
    expect(bare.ok).toBe(false);
    expect(bare.problems.join('\n')).toMatch(/WAL parsing failed[\s\S]*contain no WAL/);

    const manifest = parseManifest(await readFile(join(backup, 'backup_manifest')));
    const walDir = join(work, 'xnone-wal');
    await mkdir(walDir, { recursive: true });
    for (const r of manifest.walRanges) {
      for (const n of walSegmentRange(walFileNameForLsn(r.timeline, r.start), walFileNameForLsn(r.timeline, r.end))) {
        const got = await walFetch({ repo, systemIdentifier: sysid, fileName: n, destPath: join(walDir, n) });
        expect(got.found).toBe(true);
      }
    }
    const withWal = await verifyStoredBackup(backup, { walDir });
    expect(withWal.problems).toEqual([]);
  });

  it('a history file is archived under wal/history using pg_control from the data directory', async () => {
    const data = join(work, 'fake-data');
    await mkdir(join(data, 'global'), { recursive: true });
    await mkdir(join(data, 'pg_wal'), { recursive: true });
    await cp(join(c.dataDir, 'global', 'pg_control'), join(data, 'global', 'pg_control'));
    const content = '1\t0/5000000\tno recovery target specified\n';
    await writeFile(join(data, 'pg_wal', '00000002.history'), content);
    const r = await walPush({ repo, walPath: 'pg_wal/00000002.history', cwd: data, verifyStored: true });
    expect(r).toMatchObject({ systemIdentifier: sysid, alreadyPresent: false, bytes: content.length });
    expect(r.storedPath.startsWith(join(repo, sysid, 'wal', 'history'))).toBe(true);
    const back = await walFetch({ repo, systemIdentifier: sysid, fileName: '00000002.history', destPath: join(work, 'h') });
    expect(back.found).toBe(true);
    expect(await readFile(join(work, 'h'), 'utf8')).toBe(content);
    // No pg_control and no identifier given: nothing to go on.
    await rm(join(data, 'global'), { recursive: true });
    await writeFile(join(data, 'pg_wal', '00000003.history'), content);
    await expect(walPush({ repo, walPath: 'pg_wal/00000003.history', cwd: data })).rejects.toThrow(/cannot tell which cluster/);
  });
});
