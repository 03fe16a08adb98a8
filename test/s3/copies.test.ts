// Repository copies (pgBackRest's repo1/repo2) end to end: a real cluster,
// the real agent (child process, as the postgres OS user) with a local and an
// off-host repository on a real s3rver. A completed backup is copied
// (COPIED in the catalog, the objects in S3 decrypt to the stored_files'
// SHA-256), WAL archived before S3 was reachable is caught up, a stopped S3
// server leaves copies FAILED and health_check() warning until the
// replicator catches up after the restart, and per-repository retention
// removes a local copy that S3 keeps: downloaded from S3 into a temporary
// local repository it restores to the rows of its backup time, and the
// agent's own restore of it falls back to S3.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { readSnapshot, renderMetrics } from '../../src/agent/metrics.js';
import { generateIdentity } from '../../src/storage/crypto/index.js';
import { offsiteConfig, openOffsite, type SealedStore } from '../../src/storage/offsite/index.js';
import { startS3Server, useS3Environment, type S3Server } from '../../tools/bench/s3-server.js';
import { useCluster } from '../harness/cluster.js';
import { installedDatabase } from '../harness/pack.js';
import { sqlState } from '../harness/sql-errors.js';
import { dropRestored } from '../e2e/recovery-support.js';
import { archiveCommand } from '../../src/util/wal-commands.js';
import {
  AgentProcess,
  checksums,
  ensureBuilt,
  postgresDir,
  postgresIds,
  query,
  restoreBackup,
  runCli,
  stopAllAgents,
  waitFor,
  withDatabase,
  type Restored,
} from '../e2e/support.js';

const TABLES = ['items'];
const BUCKET = 'pgcopies';
const LOCATION = `s3://${BUCKET}/site1`;

const cluster = useCluster({ name: 's3copies', pgCron: false });
let server: S3Server;
let url = '';
let shopUrl = '';
let repo = '';
let sysid = '';
let store: SealedStore;
let restored: Restored | undefined;
const restoredDirs = new Set<string>();
/** WAL archived between the first and the second backup, and after the second. */
const wal: { beforeSecond?: string; afterSecond?: string } = {};

interface CopyRow {
  backup_bk: string;
  repository: string;
  copy_status: string;
  status_reason: string | null;
  copied_bytes: string | null;
  copied_objects: number | null;
  copy_location: string | null;
  is_home: boolean;
}

interface StoredFile {
  name: string;
  bytes: number;
  sha256: string;
}

/** The first backup: its key, files and the rows it holds. */
let first: { bk: string; files: StoredFile[]; rows: Awaited<ReturnType<typeof checksums>> } | undefined;

const copies = (bk: string) => query<CopyRow>(url, 'SELECT * FROM backup_mgmt.backup_copies WHERE backup_bk = $1 ORDER BY repository', [bk]);

async function copyIn(bk: string, repository: string): Promise<CopyRow | undefined> {
  return (await copies(bk)).find((c) => c.repository === repository);
}

async function healthRow(): Promise<{ status: string; value: string; detail: string }> {
  const [row] = await query<{ status: string; value: string; detail: string }>(
    url,
    "SELECT status, value, detail FROM backup_mgmt.health_check() WHERE check_name = 'repository_copies'",
  );
  return row!;
}

async function readSnapshotFrom(dbUrl: string): Promise<Awaited<ReturnType<typeof readSnapshot>>> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    return await readSnapshot(c);
  } finally {
    await c.end();
  }
}

async function fullBackup(): Promise<{ bk: string; files: StoredFile[]; path: string }> {
  const [queued] = await query<{ backup_id: Buffer }>(url, 'SELECT * FROM backup_mgmt.create_full_backup()');
  const [done] = await query<{ backup_status: string; error_message: string | null }>(url, `SELECT * FROM backup_mgmt.await_backup($1, '3 minutes')`, [queued!.backup_id]);
  expect(done, JSON.stringify(done)).toMatchObject({ backup_status: 'COMPLETED' });
  const [st] = await query<{ backup_bk: string; stored_files: StoredFile[]; repository_path: string }>(
    url,
    `SELECT c.backup_bk, s.stored_files, s.repository_path FROM backup_mgmt.backup_execution_current c
       JOIN backup_mgmt.backup_storage_current s USING (backup_hk) WHERE c.backup_hk = $1`,
    [queued!.backup_id],
  );
  return { bk: st!.backup_bk, files: st!.stored_files, path: st!.repository_path };
}

async function sha256Of(key: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const c of await store.get(key)) {
    h.update(c as Buffer);
    bytes += (c as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}

/** Archive the current WAL segment into the local repository only, as before S3 was configured. */
async function archiveLocally(): Promise<string> {
  const [r] = await query<{ f: string }>(url, 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS f');
  await query(url, 'SELECT pg_switch_wal()');
  const seg = r!.f;
  const res = await runCli(['wal-push', `pg_wal/${seg}`, '--repo', repo], {
    cwd: cluster().dataDir,
    asPostgres: true,
    env: { BACKUP_MGMT_REPO_S3: '' },
  });
  expect(res.code, res.stderr).toBe(0);
  return seg;
}

beforeAll(async () => {
  await ensureBuilt();
  server = await startS3Server([BUCKET]);
  useS3Environment(server);
  const me = generateIdentity();
  const work = await postgresDir(join(cluster().baseDir, 'copies-work'));
  const keyFile = join(work, 'backup.key');
  await writeFile(keyFile, `${me.secret}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) await chown(keyFile, postgresIds().uid, postgresIds().gid);
  // The agent needs the private key only to restore from S3 (the last test).
  process.env.BACKUP_MGMT_DECRYPT_IDENTITY_FILE = keyFile;
  // The agent gets the off-host repository and the public key only; the test keeps the private key.
  process.env.BACKUP_MGMT_REPO_S3 = LOCATION;
  process.env.BACKUP_MGMT_ENCRYPT_RECIPIENT = me.identity.recipient.text;
  store = await openOffsite(offsiteConfig({ ...process.env, BACKUP_MGMT_DECRYPT_IDENTITY_FILE: keyFile })!);

  url = await installedDatabase(cluster(), 'bm_copies');
  await cluster().createDatabase('shop');
  shopUrl = withDatabase(url, 'shop');
  await query(shopUrl, `CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL);
                        INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 20000) g`);
  [{ id: sysid }] = (await query<{ id: string }>(url, 'SELECT system_identifier::text AS id FROM pg_control_system()')) as [{ id: string }];
  // Fast retries and a short warning age: the outage below lasts seconds, not hours.
  await query(url, `SELECT backup_mgmt.set_setting('job.retry_delay_seconds', '1'), backup_mgmt.set_setting('health.copy_warning_age', '20 seconds')`);
  repo = await postgresDir(join(cluster().baseDir, 'repo'));
  const restoreRoot = await postgresDir(join(cluster().baseDir, 'restores'), 0o755);
  // The server archives into the local repository only (its environment has no S3 settings): the replicator carries WAL off-host.
  await cluster().appendConf({ archive_mode: 'on', archive_command: archiveCommand(repo) });
  await cluster().restart();
  await AgentProcess.start({
    databaseUrl: url,
    repo,
    agentId: 's3copies',
    logFile: join(cluster().baseDir, 'agent.log'),
    extraArgs: ['--wal-scan-seconds', '1', '--restore-root', restoreRoot],
  });
}, 240_000);

afterAll(async () => {
  await stopAllAgents();
  await restored?.stop();
  await server?.stop();
  delete process.env.BACKUP_MGMT_REPO_S3;
  delete process.env.BACKUP_MGMT_ENCRYPT_RECIPIENT;
  delete process.env.BACKUP_MGMT_DECRYPT_IDENTITY_FILE;
  for (const dir of restoredDirs) await dropRestored(dir);
});

describe('repository copies', () => {
  it('reports both repositories with key fingerprints and no credential', async () => {
    const repos = await waitFor('the agent to report its repositories', async () => {
      const rows = await query<{ repository_bk: string; storage_type: string; location: string; encryption_format: string | null; key_fingerprints: string[] | null }>(
        url,
        'SELECT repository_bk, storage_type, location, encryption_format, key_fingerprints FROM backup_mgmt.backup_repository_current ORDER BY repository_bk',
      );
      return rows.length === 2 && rows;
    });
    expect(repos).toEqual([
      { repository_bk: 'local', storage_type: 'LOCAL', location: repo, encryption_format: null, key_fingerprints: null },
      { repository_bk: 's3', storage_type: 'S3', location: LOCATION, encryption_format: 'age-v1', key_fingerprints: [...store.encryption!.fingerprints] },
    ]);
    const everything = JSON.stringify(await query(url, 'SELECT * FROM backup_mgmt.backup_repository_s'));
    expect(everything).not.toContain('S3RVER');
    expect(everything).not.toContain('AGE-SECRET-KEY');
  });

  it('copies a completed local backup: COPIED, and its objects in S3 decrypt to the SHA-256 of stored_files', async () => {
    const rows = await checksums(shopUrl, TABLES);
    const b = await fullBackup();
    const copied = await waitFor('the s3 copy', async () => {
      const c = await copyIn(b.bk, 's3');
      return c?.copy_status === 'COPIED' && c;
    }, 120_000);
    expect(copied.status_reason).toBeNull();
    expect(Number(copied.copied_bytes)).toBe(b.files.reduce((n, f) => n + f.bytes, 0));
    expect(copied.copied_objects).toBe(b.files.length);
    expect(copied.copy_location).toBe(`${LOCATION}/${sysid}/backups/${b.bk}`);
    expect(await copyIn(b.bk, 'local')).toMatchObject({ copy_status: 'COPIED', is_home: true });
    expect(b.files.map((f) => f.name).sort()).toEqual(['backup_manifest', 'base.tar.zst']);
    for (const f of b.files) {
      expect(await sha256Of(`${sysid}/backups/${b.bk}/${f.name}`)).toEqual({ sha256: f.sha256, bytes: f.bytes });
      // What S3 holds is ciphertext.
      const raw = await store.backend.get(`${sysid}/backups/${b.bk}/${f.name}.age`);
      expect((await text(raw)).startsWith('age-encryption.org/v1\n')).toBe(true);
    }
    // Its metadata (plain JSON) and the repository's format file with the key's fingerprint.
    const meta = JSON.parse(await text(await store.backend.get(`${sysid}/backups/${b.bk}.json`))) as { backup_bk: string; path: string; status: string };
    expect(meta).toMatchObject({ backup_bk: b.bk, path: `${sysid}/backups/${b.bk}`, status: 'COMPLETED' });
    const format = JSON.parse(await text(await store.backend.get('backup_mgmt_repository.json'))) as { encryption: unknown };
    expect(format.encryption).toEqual({ format: 'age-v1', recipients: [...store.encryption!.fingerprints] });
    // The verification ends after the copy, perhaps: the off-host metadata follows it.
    await waitFor('the S3 metadata to say VERIFIED', async () => {
      const m = JSON.parse(await text(await store.backend.get(`${sysid}/backups/${b.bk}.json`))) as { verification: { status: string } };
      return m.verification.status === 'VERIFIED';
    }, 60_000);
    first = { bk: b.bk, files: b.files, rows };
    expect((await healthRow()).status).toBe('OK');
  });

  it('catches up WAL archived while the off-host repository did not get it', async () => {
    const seg = await archiveLocally();
    wal.beforeSecond = seg;
    const key = await waitFor('the WAL file in S3', async () => {
      for await (const o of store.list(`${sysid}/wal/${seg.slice(0, 16)}/`)) if (o.key.includes(`/${seg}-`)) return o.key;
      return undefined;
    }, 60_000);
    const localFile = join(repo, key);
    expect(existsSync(localFile)).toBe(true);
    const local = readFileSync(localFile);
    expect(await sha256Of(key)).toEqual({ sha256: createHash('sha256').update(local).digest('hex'), bytes: local.length });
    await waitFor('wal_behind 0', async () => {
      const [r] = await query<{ wal_behind: number }>(url, "SELECT wal_behind FROM backup_mgmt.backup_repository_current WHERE repository_bk = 's3'");
      return r?.wal_behind === 0;
    });
  });

  it('S3 down: new backups stay FAILED, health_check warns with the copy lag; after the restart they catch up and it clears', async () => {
    await server.kill();
    const b = await fullBackup();
    const failed = await waitFor('the copy to fail', async () => {
      const c = await copyIn(b.bk, 's3');
      return c?.copy_status === 'FAILED' && c;
    }, 120_000);
    expect(failed.status_reason).toMatch(/\S/);
    expect(failed.status_reason).not.toContain('S3RVER');
    const seg = await archiveLocally();
    wal.afterSecond = seg;
    const h = await waitFor('the health check to show the WAL lag too', async () => {
      const r = await healthRow();
      return r.value.includes('s3: 1 waiting, ') && !r.value.includes('s3: 1 waiting, 0 WAL') && r;
    }, 60_000);
    expect(h.status).toBe('WARNING');
    expect(h.detail).toMatch(/1 backup\(s\) not copied yet/);
    expect(h.detail).toMatch(/FAILED/);
    expect(h.detail).toMatch(/WAL file\(s\) not copied/);
    // The same lag in the Prometheus metrics.
    const metrics = await renderMetrics(await readSnapshotFrom(url), { agentId: 'test', durationSeconds: 0 });
    expect(metrics).toContain('backup_mgmt_repository_copies_waiting{repository="s3"} 1');
    expect(metrics).toContain('backup_mgmt_repository_copies_failed{repository="s3"} 1');
    expect(metrics).toMatch(/backup_mgmt_repository_wal_behind_files\{repository="s3"\} [1-9]/);
    expect(metrics).toContain('backup_mgmt_health_check_severity{check="repository_copies"} 1');
    // Past the critical age the lag is CRITICAL (the backup has waited a few seconds by now).
    await query(url, `SELECT backup_mgmt.set_setting('health.copy_critical_age', '1 second')`);
    expect(await waitFor('CRITICAL', async () => (await healthRow()).status === 'CRITICAL', 30_000)).toBe(true);
    await query(url, `SELECT backup_mgmt.set_setting('health.copy_critical_age', NULL)`);
    // Still no copy while the server is down: retried with backoff, never COPIED.
    const [attempts] = await query<{ attempts: number }>(url, `SELECT attempts FROM backup_mgmt.backup_copies WHERE backup_bk = $1 AND repository = 's3'`, [b.bk]);
    expect(attempts!.attempts).toBeGreaterThanOrEqual(1);

    await server.restart();
    await waitFor('the copy after the restart', async () => (await copyIn(b.bk, 's3'))?.copy_status === 'COPIED', 180_000);
    for (const f of b.files) expect((await sha256Of(`${sysid}/backups/${b.bk}/${f.name}`)).sha256).toBe(f.sha256);
    await waitFor('the WAL caught up', async () => {
      for await (const o of store.list(`${sysid}/wal/${seg.slice(0, 16)}/`)) if (o.key.includes(`/${seg}-`)) return true;
      return false;
    }, 60_000);
    const cleared = await waitFor('the health check to clear', async () => {
      const r = await healthRow();
      return r.status === 'OK' && r;
    }, 60_000);
    expect(cleared.value).toContain('s3: 0 waiting, 0 WAL behind');
    const after = await renderMetrics(await readSnapshotFrom(url), { agentId: 'test', durationSeconds: 0 });
    expect(after).toContain('backup_mgmt_repository_copies_waiting{repository="s3"} 0');
    expect(after).not.toContain('backup_mgmt_repository_copy_oldest_wait_seconds{repository="s3"}');
  });

  it('per-repository retention: the local copy of an older backup expires while S3 keeps it, and that copy restores', async () => {
    expect(first).toBeDefined();
    const { bk, files, rows } = first!;
    const [{ path }] = (await query<{ path: string }>(url, `SELECT repository_path AS path FROM backup_mgmt.backup_storage_current s
        JOIN backup_mgmt.backup_execution_h h USING (backup_hk) WHERE h.backup_bk = $1`, [bk])) as [{ path: string }];
    expect(existsSync(path)).toBe(true);
    await query(url, `SELECT backup_mgmt.set_setting('retention.local_full_backups', '1')`);
    await waitFor('the local copy to expire', async () => (await copyIn(bk, 'local'))?.copy_status === 'EXPIRED', 60_000);
    expect(existsSync(path)).toBe(false);
    // The catalog keeps the backup, S3 keeps the copy; the newest backup stays local.
    expect(await copyIn(bk, 's3')).toMatchObject({ copy_status: 'COPIED' });
    const [cur] = await query<{ backup_status: string; files_present: boolean }>(url, `SELECT c.backup_status, s.files_present
        FROM backup_mgmt.backup_execution_current c JOIN backup_mgmt.backup_storage_current s USING (backup_hk) WHERE c.backup_bk = $1`, [bk]);
    expect(cur).toEqual({ backup_status: 'COMPLETED', files_present: true });
    const locals = await query<{ backup_bk: string; copy_status: string }>(url, "SELECT backup_bk, copy_status FROM backup_mgmt.backup_copies WHERE repository = 'local' AND backup_type = 'FULL' ORDER BY backup_bk");
    expect(locals.filter((l) => l.copy_status === 'COPIED')).toHaveLength(1);
    // The presence check does not call it missing (it runs with every sixth WAL scan: a few seconds here).
    await new Promise((r) => setTimeout(r, 8_000));
    const [still] = await query<{ files_present: boolean }>(url, `SELECT s.files_present FROM backup_mgmt.backup_storage_current s
        JOIN backup_mgmt.backup_execution_h h USING (backup_hk) WHERE h.backup_bk = $1`, [bk]);
    expect(still!.files_present).toBe(true);

    // Verifying it now checks the S3 copy (decrypted, against its manifest).
    const [{ backup_id: hkv }] = (await query<{ backup_id: Buffer }>(url, `SELECT h.backup_hk AS backup_id FROM backup_mgmt.backup_execution_h h WHERE h.backup_bk = $1`, [bk])) as [{ backup_id: Buffer }];
    const asked = new Date();
    await query(url, 'SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [hkv]);
    const verified = await waitFor('the verification of the S3 copy', async () => {
      const [v] = await query<{ verification_status: string; verification_date: Date | null }>(url,
        `SELECT verification_status, verification_date FROM backup_mgmt.backup_execution_current WHERE backup_bk = $1`, [bk]);
      return v !== undefined && v.verification_date !== null && v.verification_date >= asked && v.verification_status !== 'PENDING' && v;
    }, 90_000);
    expect(verified.verification_status).toBe('VERIFIED');
    expect(readFileSync(join(cluster().baseDir, 'agent.log'), 'utf8')).toContain(`${LOCATION}/${sysid}/backups/${bk} VERIFIED`);

    // Download the S3 copy into a temporary local repository and restore it the local way.
    const tmpRepo = join(cluster().baseDir, 'from-s3');
    const dir = join(tmpRepo, sysid, 'backups', bk);
    await mkdir(dir, { recursive: true });
    for (const f of files) {
      const chunks: Buffer[] = [];
      for await (const c of await store.get(`${sysid}/backups/${bk}/${f.name}`)) chunks.push(c as Buffer);
      const data = Buffer.concat(chunks);
      expect(createHash('sha256').update(data).digest('hex')).toBe(f.sha256);
      await writeFile(join(dir, f.name), data);
    }
    expect((await readdir(dir)).sort()).toEqual(files.map((f) => f.name).sort());
    const restoreRoot = await postgresDir(join(cluster().baseDir, 'restore'), 0o755);
    restored = await restoreBackup(dir, join(restoreRoot, 'data'), join(restoreRoot, 'sock'));
    expect(await checksums(restored.url('shop'), TABLES)).toEqual(rows);
    await restored.stop();
    restored = undefined;
    await rm(tmpRepo, { recursive: true, force: true });

    // The agent's own restore of that backup reads it from S3 and says so.
    const [hk] = await query<{ hk: Buffer }>(url, 'SELECT backup_hk AS hk FROM backup_mgmt.backup_execution_h WHERE backup_bk = $1', [bk]);
    const [r] = await query<{ recovery_id: Buffer }>(url, `SELECT * FROM backup_mgmt.initiate_recovery('immediate', NULL, NULL, false, $1)`, [hk!.hk]);
    const [row] = await query(url, `SELECT * FROM backup_mgmt.await_recovery($1, '4 minutes')`, [r!.recovery_id]);
    if (row!.restore_directory) restoredDirs.add(row!.restore_directory);
    expect(row, String(row!.error_message)).toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED' });
    const [job] = await query<{ result: { repository: { name: string; detail: string } } }>(
      url, `SELECT result FROM backup_mgmt.job WHERE subject_hk = $1 AND job_type = 'RESTORE' AND status = 'SUCCEEDED'`, [r!.recovery_id]);
    expect(job!.result.repository).toMatchObject({ name: 's3', detail: expect.stringContaining('fell back to') });
    expect(row!.kept_running).toBe(true);
    expect(await checksums(`postgresql://postgres@127.0.0.1:${row!.restore_port}/shop`, TABLES)).toEqual(rows);
    await dropRestored(row!.restore_directory);
    restoredDirs.delete(row!.restore_directory);
  });
});

describe('backup-wide retention', () => {
  it('deletes the S3 copy of a backup that retention expired, and says so in the S3 metadata', async () => {
    expect(first).toBeDefined();
    const { bk, files } = first!;
    await query(url, `SELECT backup_mgmt.set_setting('retention.period', '0'), backup_mgmt.set_setting('retention.min_redundancy', '1'),
                             backup_mgmt.set_setting('retention.recovery_window', '0')`);
    const actions = await query<{ backup_name: string; action_taken: string }>(url, 'SELECT backup_name, action_taken FROM backup_mgmt.cleanup_expired_backups(NULL, false)');
    expect(actions.find((a) => a.backup_name === bk)?.action_taken).toBe('DELETE_QUEUED');
    await waitFor('the backup to expire', async () => {
      const [c] = await query<{ backup_status: string }>(url, 'SELECT backup_status FROM backup_mgmt.backup_execution_current WHERE backup_bk = $1', [bk]);
      return c?.backup_status === 'EXPIRED';
    }, 120_000);
    const gone = await waitFor('the S3 copy to be deleted', async () => {
      const c = await copyIn(bk, 's3');
      return c?.copy_status === 'EXPIRED' && c;
    }, 60_000);
    expect(gone.status_reason).toMatch(/expired/);
    for (const f of files) expect(await store.exists(`${sysid}/backups/${bk}/${f.name}`)).toBe(false);
    const meta = JSON.parse(await text(await store.backend.get(`${sysid}/backups/${bk}.json`))) as { status: string };
    expect(meta.status).toBe('EXPIRED');
    // WAL only the expired backup needed is purged locally, then off-host; the kept backup's WAL stays in both.
    expect(actions.some((a) => a.action_taken === 'WAL_PURGE_QUEUED')).toBe(true);
    const walKeys = async (seg: string) => {
      const keys: string[] = [];
      for await (const o of store.list(`${sysid}/wal/${seg.slice(0, 16)}/`)) if (o.key.includes(`/${seg}-`)) keys.push(o.key);
      return keys;
    };
    await waitFor('the purged WAL to leave S3', async () => (await walKeys(wal.beforeSecond!)).length === 0, 60_000);
    expect(await walKeys(wal.afterSecond!)).toHaveLength(1);
    // The kept backup is still in both repositories.
    const kept = await query<{ backup_bk: string; repository: string; copy_status: string }>(
      url, "SELECT backup_bk, repository, copy_status FROM backup_mgmt.backup_copies WHERE backup_status = 'COMPLETED' AND backup_type = 'FULL'");
    expect(kept.map((k) => `${k.repository}:${k.copy_status}`).sort()).toEqual(['local:COPIED', 's3:COPIED']);
    expect((await healthRow()).status).toBe('OK');
  });
});

describe('the copy API refuses bad input', () => {
  it('credentials in a location, an unencrypted s3 repository, unknown agents and foreign claims', async () => {
    expect(await sqlState(query(url, `SELECT backup_mgmt.agent_report_repositories('s3copies', '[{"name":"s3","storage_type":"S3","location":"s3://AKIA:secret@bucket/x","encryption":{"format":"age-v1","fingerprints":["age-x25519:00112233445566778899aabbccddeeff"]}}]')`))).toBe('22023');
    expect(await sqlState(query(url, `SELECT backup_mgmt.agent_report_repositories('s3copies', '[{"name":"s3","storage_type":"S3","location":"s3://bucket/x","encryption":null}]')`))).toBe('22023');
    expect(await sqlState(query(url, `SELECT backup_mgmt.agent_report_repositories('nobody', '[]')`))).toBe('55000');
    expect(first).toBeDefined();
    expect(await sqlState(query(url, `SELECT backup_mgmt.copy_report('s3copies', 's3', $1, 'COPIED', '{"bytes": 1, "objects": 1, "location": "s3://x/y"}')`, [first!.bk]))).toBe('55000');
    expect(await sqlState(query(url, `SELECT backup_mgmt.copy_claim('s3copies', 'gcs')`))).toBe('22023');
    expect(await sqlState(query(url, `SELECT backup_mgmt.set_setting('retention.local_full_backups', '-1')`))).toBe('22023');
    expect(await sqlState(query(url, `SELECT backup_mgmt.set_setting('health.copy_warning_age', 'soon')`))).toBe('22023');
  });

  it('an agent with an off-host repository but no public key to encrypt to refuses to start, in one line', async () => {
    const r = await runCli(['agent', '--repo', repo, '--agent-id', 's3copies-bad'], {
      asPostgres: true,
      env: { DATABASE_URL: url, BACKUP_MGMT_REPO_S3: LOCATION, BACKUP_MGMT_ENCRYPT_RECIPIENT: '' },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/BACKUP_MGMT_ENCRYPT_RECIPIENT/);
    expect(await query(url, `SELECT 1 FROM backup_mgmt.agent WHERE agent_id = 's3copies-bad'`)).toEqual([]);
  });
});
