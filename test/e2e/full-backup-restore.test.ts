// A full backup requested in SQL, taken by the real agent with pg_basebackup,
// verified, and proven by restoring it and comparing the data; then the
// same backup damaged by one byte, the TypeScript client, and the CLI.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupMgmt, BackupMgmtInputError, BackupNotFoundError } from '../../src/client/index.js';
import { useCluster } from '../harness/cluster.js';
import { installedDatabase } from '../harness/pack.js';
import { seedQuery } from '../harness/seed-queries.js';
import { runCommand } from '../../src/util/process.js';
import {
  AgentProcess,
  checksums,
  ensureBuilt,
  postgresDir,
  query,
  removeDir,
  restoreBackup,
  runCli,
  stopAllAgents,
  withDatabase,
  type Restored,
} from './support.js';

const TABLES = ['customers', 'orders', 'blobs'];

// Seed 001, Step 4.1 "Check backup status", verbatim (test/fixtures/seed-001-queries.sql).
const SEED_STATUS_QUERY = seedQuery('Step 4.1: Check backup status');

const SEED_DATA = `
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, created timestamptz NOT NULL);
INSERT INTO customers SELECT g, 'customer ' || g, timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, 5000) g;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers, amount numeric(12,2), note text);
INSERT INTO orders SELECT g, 1 + g % 5000, round((random() * 1000)::numeric, 2), md5(g::text) FROM generate_series(1, 50000) g;
-- A few MB that compress poorly: random hex.
CREATE TABLE blobs (id int PRIMARY KEY, payload text NOT NULL);
INSERT INTO blobs SELECT g, (SELECT string_agg(md5(random()::text || g || i), '') FROM generate_series(1, 40) i) FROM generate_series(1, 3000) g;
`;

const cluster = useCluster({ name: 'e2e-full' });
let url = '';
let shopUrl = '';
let repo = '';
let restored: Restored | undefined;

beforeAll(async () => {
  await ensureBuilt();
  url = await installedDatabase(cluster(), 'bm_e2e');
  await cluster().createDatabase('shop');
  shopUrl = withDatabase(url, 'shop');
  await query(shopUrl, SEED_DATA);
  repo = await postgresDir(join(cluster().baseDir, 'repo'));
  await AgentProcess.start({ databaseUrl: url, repo, agentId: 'e2e-full', logFile: join(cluster().baseDir, 'agent.log') });
});

afterAll(async () => {
  await stopAllAgents();
  await restored?.stop();
});

interface SeedRow {
  backup_id: Buffer;
  backup_status: string;
  verification_status: string;
}

/** The one backup of the first test, shared with the damage test. */
let first: { hk: Buffer; bk: string; path: string } | undefined;

describe('full backup through SQL and the agent', () => {
  it('is COMPLETED and VERIFIED, fully recorded, and restores to the data of backup time', async () => {
    const before = await checksums(shopUrl, TABLES);

    const [queued] = await query<SeedRow>(url, 'SELECT * FROM backup_mgmt.create_full_backup()');
    expect(queued!.backup_status).toBe('PENDING');
    const hk = queued!.backup_id;
    const [done] = await query<SeedRow & { error_message: string | null }>(url, `SELECT * FROM backup_mgmt.await_backup($1, '3 minutes')`, [hk]);
    expect(done, JSON.stringify(done)).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });

    // Changes after the backup must not show up in the restore.
    await query(shopUrl, `INSERT INTO customers VALUES (100001, 'after the backup', now()); DELETE FROM orders WHERE id <= 10`);

    // The seed's status query, unchanged: our backup on top, with a real size.
    const seed = await query<{ backup_bk: string; backup_status: string; backup_size_bytes: string; verification_status: string }>(url, SEED_STATUS_QUERY);
    const [cur] = await query(url, 'SELECT * FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [hk]);
    expect(seed[0]).toEqual({
      backup_bk: cur!.backup_bk,
      backup_status: 'COMPLETED',
      backup_size_bytes: cur!.backup_size_bytes,
      verification_status: 'VERIFIED',
    });
    const size = Number(cur!.backup_size_bytes);
    const stored = Number(cur!.compressed_size_bytes);
    expect(size).toBeGreaterThan(20 * 1024 * 1024);
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(size);
    expect(Number(cur!.compression_ratio)).toBeCloseTo(size / stored, 1);
    expect(Number(cur!.backup_duration_seconds)).toBeGreaterThan(0);
    expect(cur!.checksum_value).toMatch(/^[0-9a-f]{64}$/);
    expect(cur!.verification_detail).toMatch(/match backup_manifest/);

    // Insert-only history: PENDING -> RUNNING -> COMPLETED, then the verification as its own version.
    const history = await query<{ backup_status: string; verification_status: string }>(
      url,
      'SELECT backup_status, verification_status FROM backup_mgmt.backup_execution_s WHERE backup_hk = $1 ORDER BY load_date',
      [hk],
    );
    expect(history.map((h) => h.backup_status)).toEqual(['PENDING', 'RUNNING', 'COMPLETED', 'COMPLETED']);
    expect(history.at(-1)!.verification_status).toBe('VERIFIED');
    expect(history.at(-2)!.verification_status).toBe('PENDING');

    // Where it sits in the WAL, and what the repository holds.
    const [lsn] = await query(url, 'SELECT * FROM backup_mgmt.backup_lsn_current WHERE backup_hk = $1', [hk]);
    const [sys] = await query<{ id: string }>(url, 'SELECT system_identifier::text AS id FROM pg_control_system()');
    expect(lsn).toMatchObject({ timeline_id: 1, system_identifier: sys!.id, pg_version_num: expect.any(Number) });
    expect(lsn!.start_wal_file).toMatch(/^00000001[0-9A-F]{16}$/);
    expect(lsn!.stop_wal_file >= lsn!.start_wal_file).toBe(true);
    const [storage] = await query(url, 'SELECT * FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1', [hk]);
    const path = storage!.repository_path as string;
    expect(path).toBe(join(repo, sys!.id, 'backups', cur!.backup_bk));
    expect(readdirSync(path).sort()).toEqual(['backup_manifest', 'base.tar.zst']);
    for (const f of storage!.stored_files as { name: string; bytes: number; sha256: string }[]) {
      const bytes = readFileSync(join(path, f.name));
      expect(bytes.length).toBe(f.bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    }
    expect(storage!.manifest_sha256).toBe(createHash('sha256').update(readFileSync(join(path, 'backup_manifest'))).digest('hex'));
    expect(readdirSync(join(repo, sys!.id, 'staging'))).toEqual([]);
    first = { hk, bk: cur!.backup_bk, path };

    // The proof: restore into a new directory, start it, compare the data.
    const restoreRoot = join(cluster().baseDir, 'restore');
    await postgresDir(restoreRoot, 0o755);
    restored = await restoreBackup(path, join(restoreRoot, 'data'), join(restoreRoot, 'sock'));
    const after = await checksums(restored.url('shop'), TABLES);
    expect(after).toEqual(before);
    await restored.stop();
    restored = undefined;
    await removeDir(restoreRoot);
  });

  it('flipping one byte of a stored file makes verify_backup_integrity fail naming the file', async () => {
    expect(first).toBeDefined();
    const { path, bk } = first!;
    const [rel] = await query<{ p: string }>(shopUrl, `SELECT pg_relation_filepath('blobs') AS p`);

    // Decompress, flip a byte in the middle of that file's tar member, recompress.
    const tarPath = join(cluster().baseDir, 'damaged.tar');
    await runCommand('zstd', ['-q', '-d', '-f', join(path, 'base.tar.zst'), '-o', tarPath]);
    const tar = readFileSync(tarPath);
    const member = findTarMember(tar, rel!.p);
    tar[member.dataOffset + Math.floor(member.size / 2)]! ^= 0x01;
    writeFileSync(tarPath, tar);
    await runCommand('zstd', ['-q', '-3', '-f', tarPath, '-o', `${tarPath}.zst`]);
    renameSync(`${tarPath}.zst`, join(path, 'base.tar.zst'));
    await removeDir(tarPath);

    // Through the CLI: verify --wait exits 1 and the detail names the file.
    const r = await runCli(['verify', bk, '--wait', '--json'], { env: { DATABASE_URL: url } });
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.backup_status).toBe('COMPLETED');
    expect(out.verification_status).toBe('FAILED');
    expect(out.verification_detail).toContain(`checksum mismatch for file "${rel!.p}"`);
    const [cur] = await query(url, 'SELECT integrity_verified FROM backup_mgmt.backup_execution_current WHERE backup_bk = $1', [bk]);
    expect(cur!.integrity_verified).toBe(false);
  });
});

describe('TypeScript client', () => {
  it('creates, awaits with progress, lists, gets, verifies; validates input before SQL', async () => {
    const bm = new BackupMgmt({ connectionString: url });
    try {
      const created = await bm.createFullBackup({ verify: false });
      expect(['PENDING', 'RUNNING']).toContain(created.backup_status);
      const seen: string[] = [];
      const final = await bm.awaitBackup(created.backup_bk, { timeoutMs: 120_000, pollMs: 100, onProgress: (p) => seen.push(`${p.status}:${p.phase}`) });
      expect(final.backup_status).toBe('COMPLETED');
      expect(final.verification_status).toBe('SKIPPED');
      expect(seen.at(-1)).toBe('COMPLETED:null');
      // int8 arrives as a string, typed so.
      const size: string | null = final.backup_size_bytes;
      expect(Number(size)).toBeGreaterThan(0);

      const list = await bm.listBackups({ limit: 10 });
      expect(list[0]!.backup_bk).toBe(created.backup_bk);
      const byHk = await bm.getBackup(final.backup_hk.toString('hex'));
      expect(byHk.backup_bk).toBe(created.backup_bk);

      const queued = await bm.verifyBackup(created.backup_bk);
      expect(queued.verification_status).toBe('PENDING');
      const verified = await bm.awaitBackup(created.backup_bk, { timeoutMs: 120_000 });
      expect(verified.verification_status).toBe('VERIFIED');

      await expect(bm.getBackup('FULL_BACKUP_SYSTEM_20000101_000000')).rejects.toBeInstanceOf(BackupNotFoundError);
      await expect(bm.getBackup('../../etc/passwd')).rejects.toBeInstanceOf(BackupMgmtInputError);
      await expect(bm.createFullBackup({ location: 'relative/dir' })).rejects.toBeInstanceOf(BackupMgmtInputError);
      await expect(bm.cancelBackup(created.backup_bk)).rejects.toMatchObject({ code: '55000' });
    } finally {
      await bm.close();
    }
  });
});

describe('CLI', () => {
  it('backup full --wait --no-compress, list, show; one-line errors', async () => {
    const env = { DATABASE_URL: url };
    const r = await runCli(['backup', 'full', '--wait', '--no-compress', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const b = JSON.parse(r.stdout);
    expect(b).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
    expect(readdirSync(b.repository_path).sort()).toEqual(['backup_manifest', 'base.tar']);
    // Stored uncompressed: nothing saved (the tar also carries the fetched WAL, so it may be larger).
    expect(Number(b.compression_ratio)).toBeGreaterThan(0);
    expect(Number(b.compression_ratio)).toBeLessThan(1.05);

    const list = await runCli(['list', '--json'], { env });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).map((x: { backup_bk: string }) => x.backup_bk)).toContain(b.backup_bk);

    const show = await runCli(['show', b.backup_hk, '--json'], { env });
    expect(JSON.parse(show.stdout).backup_bk).toBe(b.backup_bk);
    const text = await runCli(['show', b.backup_bk], { env });
    expect(text.stdout).toMatch(/^status\s+COMPLETED$/m);

    const bad = await runCli(['show', 'no such backup'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const missing = await runCli(['show', 'FULL_BACKUP_SYSTEM_20000101_000000'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/);
    const noDb = await runCli(['list'], { env: { DATABASE_URL: '' } });
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toMatch(/no database/);
  });
});

/** Where a member's data starts in an uncompressed tar (ustar, as pg_basebackup writes it). */
function findTarMember(tar: Buffer, name: string): { dataOffset: number; size: number } {
  const str = (off: number, len: number) => {
    const end = tar.indexOf(0, off);
    return tar.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
  };
  for (let off = 0; off + 512 <= tar.length; ) {
    if (tar.subarray(off, off + 512).every((b) => b === 0)) break;
    const prefix = tar.toString('latin1', off + 257, off + 263) === 'ustar\0' ? str(off + 345, 155) : '';
    const path = prefix ? `${prefix}/${str(off, 100)}` : str(off, 100);
    const size = parseInt(tar.toString('latin1', off + 124, off + 136).replace(/[\0 ]/g, ''), 8) || 0;
    if (path === name) return { dataOffset: off + 512, size };
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${name} not found in the tar`);
}
