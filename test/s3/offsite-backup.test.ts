// Backups whose home is the off-host repository (issue #16): the real agent,
// started with BACKUP_MGMT_REPO_S3 and an age recipient, streams a full
// backup from pg_basebackup into a real S3 server (s3rver over HTTP), stores
// an incremental's WAL range there, verifies from there, and proves each by
// a restore from objects fetched back (decrypted) into a local directory.
// The age CLI decrypts a stored object to the SHA-256 the catalog recorded;
// a tampered object fails verification.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll } from '../../src/storage/backends/index.js';
import { parseStoredWalName } from '../../src/storage/layout.js';
import { S3Backend } from '../../src/storage/backends/s3.js';
import { offsiteConfig, openOffsite, type SealedStore } from '../../src/storage/offsite/index.js';
import { runCommand } from '../../src/util/process.js';
import { startS3Server, useS3Environment, type S3Server } from '../../tools/bench/s3-server.js';
import { useCluster } from '../harness/cluster.js';
import { useOffsiteKey } from './offsite-env.js';
import { archiveNow, archivingCluster, dropRestored, restoredUrl, type ArchivingSetup } from '../e2e/recovery-support.js';
import { checksums, postgresDir, query, removeDir, restoreBackup, stopAllAgents, waitFor, withDatabase, type Restored } from '../e2e/support.js';

const S3 = 's3://pgbackups/cluster-a';
const TABLES = ['customers', 'blobs'];
// BM_S3_BACKUP_ROWS scales the random data (16 KiB a row) to check the memory bound on bigger backups.
const ROWS = Number(process.env.BM_S3_BACKUP_ROWS ?? 4000);
const SEED_DATA = `
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 20000) g;
-- Poorly compressible bytes: the base archive spans several multipart parts.
CREATE TABLE blobs (id int PRIMARY KEY, payload bytea NOT NULL);
INSERT INTO blobs SELECT g, decode(string_agg(md5(random()::text || g || i), ''), 'hex') FROM generate_series(1, ${ROWS}) g, generate_series(1, 1000) i GROUP BY g;
`;

const cluster = useCluster({ name: 's3-backup' });
let server: S3Server;
let env: ArchivingSetup;
let shopUrl = '';
let work = '';
let keyFile = '';
let fingerprint = '';
let store: SealedStore;
let raw: S3Backend;
let restored: Restored | undefined;

interface Stored {
  repository_root: string;
  repository_path: string;
  stored_files: { name: string; bytes: number; sha256: string }[];
  manifest_sha256: string;
  encryption_fingerprints: string[] | null;
}

async function awaitBackup(hk: Buffer): Promise<Record<string, string>> {
  const [r] = await query<Record<string, string>>(env.url, `SELECT * FROM backup_mgmt.await_backup($1, '4 minutes')`, [hk]);
  return r!;
}

async function current(hk: Buffer): Promise<Record<string, unknown>> {
  const [r] = await query(env.url, 'SELECT * FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [hk]);
  return r!;
}

async function storage(hk: Buffer): Promise<Stored> {
  const [r] = await query<Stored & Record<string, unknown>>(env.url, 'SELECT * FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1', [hk]);
  return r!;
}

/** Fetch every object under `prefix/` through the store (decrypted) into `dir`. */
async function download(prefix: string, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names: string[] = [];
  for await (const o of store.list(`${prefix}/`)) {
    const name = o.key.slice(prefix.length + 1);
    await pipeline(await store.get(o.key), createWriteStream(join(dir, name)));
    names.push(name);
  }
  return names.sort();
}

/** Restore the backup files in `local` into a scratch cluster and return its rows' checksums. */
async function restoredRows(local: string, name: string): Promise<Awaited<ReturnType<typeof checksums>>> {
  const restoreDir = await postgresDir(join(work, name));
  restored = await restoreBackup(local, join(restoreDir, 'data'), join(restoreDir, 'sock'));
  try {
    return await checksums(restored.url('shop'), TABLES);
  } finally {
    await restored.stop();
    restored = undefined;
    await removeDir(restoreDir);
  }
}

/** The agent's peak resident memory so far (VmHWM), in MiB. */
async function agentPeakMiB(): Promise<number> {
  const status = await readFile(`/proc/${env.agent.pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

beforeAll(async () => {
  server = await startS3Server(['pgbackups']);
  useS3Environment(server);
  work = await postgresDir(join(cluster().baseDir, 's3-work'), 0o750);
  // What the agent inherits: the off-host repository, the public key, and (for verification) the key file.
  ({ keyFile, fingerprint } = await useOffsiteKey(work, 'key.txt', S3));
  store = await openOffsite(offsiteConfig(process.env)!);
  raw = new S3Backend(S3);
  env = await archivingCluster(cluster(), 'bm_s3', 's3-agent');
  await cluster().createDatabase('shop');
  shopUrl = withDatabase(env.url, 'shop');
  await query(shopUrl, SEED_DATA);
});

afterAll(async () => {
  await stopAllAgents();
  await restored?.stop();
  await server?.stop();
});

let full: { hk: Buffer; bk: string; prefix: string; startWal: string } | undefined;

describe("storage type S3: full and incremental backups in the off-host repository", () => {
  it('a full backup streams into S3 encrypted, verifies from there, and restores to the source rows', async () => {
    const before = await checksums(shopUrl, TABLES);
    const [q] = await query<{ backup_id: Buffer; backup_status: string }>(env.url, `SELECT * FROM backup_mgmt.create_full_backup(p_storage_type => 'S3')`);
    expect(q!.backup_status).toBe('PENDING');
    const done = await awaitBackup(q!.backup_id);
    expect(done, JSON.stringify(done)).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
    await query(shopUrl, `INSERT INTO customers VALUES (100001, 'after the full backup'); DELETE FROM blobs WHERE id <= 10`);

    const cur = await current(q!.backup_id);
    expect(cur).toMatchObject({ storage_type: 'S3', backup_location: S3 });
    expect(cur.verification_detail).toMatch(/match backup_manifest/);
    const st = await storage(q!.backup_id);
    const bk = cur.backup_bk as string;
    const prefix = `${env.sysid}/backups/${bk}`;
    expect(st).toMatchObject({ repository_root: S3, repository_path: `${S3}/${prefix}`, encryption_fingerprints: [fingerprint] });
    expect(st.stored_files.map((f) => f.name)).toEqual(['backup_manifest', 'base.tar.zst']);

    // The objects, encrypted; nothing of the backup in the local repository, no staging left.
    const objects = (await listAll(raw, `${prefix}/`)).map((o) => o.key);
    expect(objects).toEqual([`${prefix}/backup_manifest.age`, `${prefix}/base.tar.zst.age`]);
    const base = st.stored_files.find((f) => f.name === 'base.tar.zst')!;
    expect(base.bytes).toBeGreaterThan(3 * 16 * 1024 * 1024); // several multipart parts
    expect(await readdir(join(env.repo, env.sysid, 'backups')).catch(() => [])).not.toContain(bk);
    expect(await readdir(join(env.repo, env.sysid, 'staging'))).toEqual([]);

    // Acceptance 2: Debian's age decrypts the stored object to the SHA-256 the catalog recorded.
    const encrypted = join(work, 'base.tar.zst.age');
    await pipeline(await raw.get(`${prefix}/base.tar.zst.age`), createWriteStream(encrypted));
    const plain = join(work, 'base.tar.zst');
    const age = spawnSync('age', ['-d', '-i', keyFile, '-o', plain, encrypted], { encoding: 'utf8' });
    expect(age.status, age.stderr).toBe(0);
    expect(createHash('sha256').update(await readFile(plain)).digest('hex')).toBe(base.sha256);
    await removeDir(encrypted);
    await removeDir(plain);

    // The restore proof: objects fetched back through the store, restored with the local path.
    const local = join(work, 'from-s3');
    expect(await download(prefix, local)).toEqual(['backup_manifest', 'base.tar.zst']);
    expect(createHash('sha256').update(await readFile(join(local, 'backup_manifest'))).digest('hex')).toBe(st.manifest_sha256);
    expect(await restoredRows(local, 'restore-full')).toEqual(before);

    const [lsn] = await query<{ start_wal_file: string }>(env.url, 'SELECT start_wal_file FROM backup_mgmt.backup_lsn_current WHERE backup_hk = $1', [q!.backup_id]);
    full = { hk: q!.backup_id, bk, prefix, startWal: lsn!.start_wal_file };
    console.log(`[s3backup] full backup: ${base.bytes} bytes stored encrypted; agent peak RSS ${(await agentPeakMiB()).toFixed(0)} MiB`);
  }, 400_000);

  it("an incremental on that chain stores its WAL range in S3; base + that WAL restore to the rows at the incremental", async () => {
    expect(full).toBeDefined();
    const [q] = await query<{ backup_id: Buffer }>(env.url, 'SELECT * FROM backup_mgmt.create_incremental_backup()');
    const done = await awaitBackup(q!.backup_id);
    expect(done, JSON.stringify(done)).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
    const at = await checksums(shopUrl, TABLES);
    expect(at.customers!.rows).toBe(20001);
    await query(shopUrl, `INSERT INTO customers VALUES (100002, 'after the incremental')`);

    expect(await current(q!.backup_id)).toMatchObject({ storage_type: 'S3', backup_type: 'INCREMENTAL' });
    const st = await storage(q!.backup_id);
    expect(st).toMatchObject({ repository_root: S3, repository_path: `${S3}/${env.sysid}/wal`, encryption_fingerprints: [fingerprint] });
    const [lsn] = await query<{ stop_wal_file: string }>(env.url, 'SELECT stop_wal_file FROM backup_mgmt.backup_lsn_current WHERE backup_hk = $1', [q!.backup_id]);

    // Every segment from the full backup's start to the incremental's stop is in S3.
    const wal = (await listAll(raw, `${env.sysid}/wal/`)).map((o) => o.key.split('/').pop()!.slice(0, 24)).filter((n) => n >= full!.startWal && n <= lsn!.stop_wal_file);
    const start = parseInt(full!.startWal.slice(16), 16);
    const stop = parseInt(lsn!.stop_wal_file.slice(16), 16);
    expect(full!.startWal.slice(0, 16)).toBe(lsn!.stop_wal_file.slice(0, 16)); // one log file in this test
    expect(new Set(wal).size).toBe(stop - start + 1);

    // Restore: the base from S3, its tar extended by the range's WAL from S3 (decrypted, decompressed).
    const local = join(work, 'from-s3-inc');
    await download(full!.prefix, local);
    await runCommand('zstd', ['-q', '-d', '--rm', join(local, 'base.tar.zst'), '-o', join(local, 'base.tar')]);
    const walDir = join(local, 'pg_wal');
    await mkdir(walDir);
    for await (const o of store.list(`${env.sysid}/wal/`)) {
      const stored = parseStoredWalName(o.key.split('/').pop()!);
      if (stored?.kind !== 'segment') continue; // not the .backup history file of the full backup
      const name = stored.fileName;
      if (name < full!.startWal || name > lsn!.stop_wal_file) continue;
      await pipeline(await store.get(o.key), createWriteStream(join(walDir, `${name}.zst`)));
      await runCommand('zstd', ['-q', '-d', '--rm', join(walDir, `${name}.zst`), '-o', join(walDir, name)]);
    }
    await runCommand('tar', ['-r', '-f', join(local, 'base.tar'), '-C', local, 'pg_wal']);
    expect(await restoredRows(local, 'restore-inc')).toEqual(at);
    await removeDir(local);
  }, 400_000);

  it("the agent's recovery to 'latest' reads the base from its home in S3 and gives the source's rows", async () => {
    expect(full).toBeDefined();
    await archiveNow(env.url);
    const source = await checksums(shopUrl, TABLES);
    const [r] = await query<{ recovery_id: Buffer }>(env.url, `SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, NULL, false)`);
    const [row] = await query(env.url, `SELECT * FROM backup_mgmt.await_recovery($1, '4 minutes')`, [r!.recovery_id]);
    try {
      expect(row, String(row!.error_message)).toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED', kept_running: true });
      const [job] = await query<{ result: { repository: { name: string; location: string } } }>(
        env.url,
        `SELECT result FROM backup_mgmt.job WHERE subject_hk = $1 AND job_type = 'RESTORE' AND status = 'SUCCEEDED'`,
        [r!.recovery_id],
      );
      expect(job!.result.repository).toMatchObject({ name: 's3', location: `${S3}/${full!.prefix}` });
      expect(await checksums(restoredUrl(row!.restore_port as number, 'shop'), TABLES)).toEqual(source);
    } finally {
      await dropRestored(row!.restore_directory as string | null);
    }
  }, 400_000);

  it('a tampered object in S3 makes verify_backup_integrity FAILED, naming the archive and why', async () => {
    expect(full).toBeDefined();
    const key = `${full!.prefix}/base.tar.zst.age`;
    const bytes = await (async () => {
      const parts: Buffer[] = [];
      for await (const c of await raw.get(key)) parts.push(c as Buffer);
      return Buffer.concat(parts);
    })();
    const original = Buffer.from(bytes);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await raw.put(key, Readable.from([bytes]));
    try {
      await query(env.url, 'SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [full!.hk]);
      const done = await awaitBackup(full!.hk);
      expect(done.verification_status).toBe('FAILED');
      const cur = await current(full!.hk);
      expect(cur.verification_detail).toMatch(/archive "base\.tar\.zst" could not be read: .*failed authentication: the file was modified/);
      expect(cur.integrity_verified).toBe(false);
    } finally {
      await raw.put(key, Readable.from([original]));
    }
    // Intact again, verified again: the chain is sound for what follows.
    await query(env.url, 'SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [full!.hk]);
    expect((await awaitBackup(full!.hk)).verification_status).toBe('VERIFIED');
  }, 400_000);

  it('retention deletes an expired S3 backup and the WAL before the kept one from S3, through the store', async () => {
    expect(full).toBeDefined();
    const [q] = await query<{ backup_id: Buffer }>(env.url, `SELECT * FROM backup_mgmt.create_full_backup(p_storage_type => 'S3')`);
    expect(await awaitBackup(q!.backup_id)).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
    const kept = await storage(q!.backup_id);
    const keptPrefix = kept.repository_path.slice(S3.length + 1);
    const [lsn] = await query<{ start_wal_file: string }>(env.url, 'SELECT start_wal_file FROM backup_mgmt.backup_lsn_current WHERE backup_hk = $1', [q!.backup_id]);
    const walBefore = async () => (await listAll(raw, `${env.sysid}/wal/`)).map((o) => o.key.split('/').pop()!.slice(0, 24)).filter((n) => n < lsn!.start_wal_file);
    expect((await walBefore()).length).toBeGreaterThan(0);

    // Only the newest verified full backup (and what follows it) must stay.
    for (const [k, v] of [['retention.period', '0'], ['retention.min_redundancy', '1'], ['retention.recovery_window', '0']]) {
      await query(env.url, 'SELECT backup_mgmt.set_setting($1, $2)', [k, v]);
    }
    const rows = await query<{ backup_name: string; action_taken: string }>(env.url, 'SELECT * FROM backup_mgmt.cleanup_expired_backups(NULL, false)');
    const actions = new Map(rows.map((r) => [r.backup_name, r.action_taken]));
    expect(actions.get(full!.bk)).toBe('DELETE_QUEUED');
    expect(actions.get(`WAL timeline 1 before ${lsn!.start_wal_file}`)).toBe('WAL_PURGE_QUEUED');
    await waitFor('the DELETE jobs to finish', async () => {
      const jobs = await query<{ status: string; last_error: string | null }>(env.url, `SELECT status, last_error FROM backup_mgmt.job WHERE job_type = 'DELETE'`);
      const failed = jobs.find((j) => j.status === 'FAILED');
      if (failed) throw new Error(`a DELETE job failed: ${failed.last_error}`);
      return jobs.length > 0 && jobs.every((j) => j.status === 'SUCCEEDED');
    });

    expect(await listAll(raw, `${full!.prefix}/`)).toEqual([]);
    expect(await walBefore()).toEqual([]);
    expect((await listAll(raw, `${keptPrefix}/`)).map((o) => o.key)).toEqual([`${keptPrefix}/backup_manifest.age`, `${keptPrefix}/base.tar.zst.age`]);
    const [gone] = await query(env.url, 'SELECT backup_status, files_present FROM backup_mgmt.backup_list WHERE backup_hk = $1', [full!.hk]);
    expect(gone).toEqual({ backup_status: 'EXPIRED', files_present: false });
  }, 400_000);
});
