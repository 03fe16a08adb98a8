// Restores and disaster recovery from the off-host repository (issue 16),
// with a real cluster, the real agent, a real S3 server over HTTP and real
// encryption: a workload with recorded commits, a full and an incremental
// backup in the local repository, copied into S3 with the shared key layout
// (offsite-populate.ts). Then: the agent's restore falls back to S3 when the
// local backup directory is gone, and says so; with the local backups and WAL
// deleted, `repo … --repo s3://…` and `restore --repo s3://…` (no database)
// give exactly the recorded state at a random time and at the latest WAL; a
// missing or wrong key is one line naming the fingerprint, nothing restored.
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.js';
import { JobFailure } from '../../src/agent/job-context.js';
import { locateBackup } from '../../src/agent/restore-source.js';
import { openBackend } from '../../src/storage/backends/index.js';
import { extractBackup } from '../../src/storage/extract.js';
import { openRepository } from '../../src/storage/repo-metadata.js';
import { generateIdentity } from '../../src/storage/crypto/index.js';
import { encryptionFor, parseRecipients } from '../../src/storage/offsite/config.js';
import { SealedStore } from '../../src/storage/offsite/sealed.js';
import { pgTool, runAsPostgres } from '../../src/util/process.js';
import { startS3Server, useS3Environment, type S3Server } from '../../tools/bench/s3-server.js';
import { freePort, postgresDir, postgresIds, query, runCli, waitFor } from '../e2e/support.js';
import { archiveNow, archivingCluster, dropRestored, micros, prng, restoredUrl, shopWorkload, workloadChecksums, type ArchivingSetup, type Workload } from '../e2e/recovery-support.js';
import { endRestoreSuite, useOffsiteKey } from './offsite-env.js';
import { populateOffsite } from './offsite-populate.js';

const SEED = Number(process.env.BM_S3R_SEED ?? 20261208);
const BUCKET = 'bm-restore';
const LOCATION = `s3://${BUCKET}/prod`;
const cluster = useCluster({ name: 's3restore' });
let server: S3Server;
let env: ArchivingSetup;
let workload: Workload;
let shopUrl = '';
let keyDir = '';
let fingerprint = '';
const bks: Record<string, string> = {};
const restoredDirs = new Set<string>();
/** When the full backup ended: the recoverable window starts there. */
let fullEnd = '';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The CLI with no database and no local repository: only the off-host one. */
const dr = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: { DATABASE_URL: '', BACKUP_MGMT_REPO: '', ...extra } });

async function backup(sql: string): Promise<string> {
  const [q] = await query<{ backup_id: Buffer }>(env.url, `SELECT backup_id FROM backup_mgmt.${sql}`);
  const [r] = await query<{ backup_bk: string; backup_status: string; verification_status: string }>(
    env.url,
    `SELECT w.*, h.backup_bk FROM backup_mgmt.await_backup($1, '3 minutes') w JOIN backup_mgmt.backup_execution_h h ON h.backup_hk = w.backup_id`,
    [q!.backup_id],
  );
  expect([r!.backup_status, r!.verification_status]).toEqual(['COMPLETED', 'VERIFIED']);
  return r!.backup_bk;
}

async function stopRestored(dir: string): Promise<void> {
  if (existsSync(join(dir, 'postmaster.pid'))) await runAsPostgres(pgTool('pg_ctl'), ['-D', dir, '-m', 'fast', '-w', '-t', '60', 'stop'], { timeoutMs: 90_000 });
  await rm(dir, { recursive: true, force: true });
  restoredDirs.delete(dir);
}

beforeAll(async () => {
  server = await startS3Server([BUCKET]);
  useS3Environment(server);
  // The agent (started below) inherits the off-host configuration; the key is the server user's file.
  keyDir = await postgresDir(join(cluster().baseDir, 'keys'), 0o700);
  fingerprint = (await useOffsiteKey(keyDir, 'restore.key', LOCATION)).fingerprint;
  env = await archivingCluster(cluster(), 'bm_s3r', 's3restore');
  ({ shopUrl, workload } = await shopWorkload(cluster(), env.url, SEED));
  console.log(`[s3restore] seed ${SEED} (BM_S3R_SEED)`);
}, 180_000);

afterAll(() => endRestoreSuite({ workload, restoredDirs, server }));

describe('backups in the off-host repository', () => {
  it('takes a full and an incremental backup under a workload and copies the repository to S3 with the shared layout', async () => {
    workload.start();
    await pause(600);
    bks.full = await backup('create_full_backup()');
    await pause(600);
    bks.inc = await backup('create_incremental_backup()');
    await pause(600);
    await workload.close();
    await archiveNow(env.url);
    await waitFor('metadata of both backups in the local repository', async () =>
      Object.values(bks).every((bk) => existsSync(join(env.repo, env.sysid, 'backups', `${bk}.json`))),
    );
    expect(workload.commits.length).toBeGreaterThan(20);

    const recipients = parseRecipients(process.env.BACKUP_MGMT_ENCRYPT_RECIPIENT!);
    const store = new SealedStore(await openBackend(LOCATION), encryptionFor(recipients));
    const copied = await populateOffsite(env.repo, store);
    expect(copied.backups.sort()).toEqual(Object.values(bks).sort());
    expect(copied.walFiles).toBeGreaterThan(2);

    // The layout: data encrypted as `<key>.age`, metadata plain JSON naming the fingerprint, never a key.
    const raw = await openBackend(LOCATION);
    const keys: string[] = [];
    for await (const o of raw.list('')) keys.push(o.key);
    expect(keys).toContain(`${env.sysid}/backups/${bks.full}/base.tar.zst.age`);
    expect(keys).toContain(`${env.sysid}/backups/${bks.full}/backup_manifest.age`);
    expect(keys).toContain(`${env.sysid}/backups/${bks.full}.json`);
    expect(keys.filter((k) => k.startsWith(`${env.sysid}/wal/`)).every((k) => /\/wal\/([0-9A-F]{16}|history)\/[0-9A-F]{8,24}[^/]*-[0-9a-f]{64}\.zst\.age$/.test(k))).toBe(true);
    let text = '';
    for await (const c of await raw.get('backup_mgmt_repository.json')) text += (c as Buffer).toString('utf8');
    const format = JSON.parse(text);
    expect(format).toMatchObject({ format: 1, encryption: { format: 'age-v1', recipients: [fingerprint] } });
  });
});

describe('the agent restores from the nearest repository that holds the backup', () => {
  it('falls back to S3 when the local backup directory is gone, says so in its log and result, and restores exactly', async () => {
    const localDir = join(env.repo, env.sysid, 'backups', bks.full!);
    await rm(localDir, { recursive: true, force: true });
    const [r] = await query<{ recovery_id: Buffer }>(env.url, `SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, NULL, false)`);
    const [row] = await query(env.url, `SELECT * FROM backup_mgmt.await_recovery($1, '4 minutes')`, [r!.recovery_id]);
    if (row!.restore_directory) restoredDirs.add(row!.restore_directory);
    expect(row, String(row!.error_message)).toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED', kept_running: true });
    expect(await workloadChecksums(restoredUrl(row!.restore_port, 'shop'))).toEqual(workload.expected(workload.commits.length));
    const [job] = await query<{ result: { repository: { name: string; location: string; detail: string } } }>(
      env.url,
      `SELECT result FROM backup_mgmt.job WHERE subject_hk = $1 AND job_type = 'RESTORE' AND status = 'SUCCEEDED'`,
      [r!.recovery_id],
    );
    expect(job!.result.repository).toEqual({
      name: 's3',
      location: `${LOCATION}/${env.sysid}/backups/${bks.full}`,
      detail: `local copy missing, fell back to ${LOCATION}/${env.sysid}/backups/${bks.full}`,
    });
    expect(env.agent.log()).toMatch(new RegExp(`base backup ${bks.full} from the off-host repository: local copy missing, fell back to s3://`));
    // The local directory stays gone: the restore read S3 and wrote only its data directory.
    expect(existsSync(localDir)).toBe(false);
    await dropRestored(row!.restore_directory);
    restoredDirs.delete(row!.restore_directory);
  });
});

describe('a backup whose home is S3 (repository_path s3://…)', () => {
  it('streams from S3 into extraction with the SHA-256 the backup recorded; a wrong key fails in one line before anything is extracted', async () => {
    const base = {
      backup_hk: 'a'.repeat(64),
      backup_bk: bks.full!,
      repository_path: `${LOCATION}/${env.sysid}/backups/${bks.full}`,
      system_identifier: env.sysid,
      timeline_id: 1,
      start_lsn: '0/0',
      stop_lsn: '0/0',
    };
    const source = await locateBackup(base);
    expect([source.repository, source.detail]).toEqual(['s3', `s3 ${base.repository_path}`]);
    const into = await mkdtemp(join(tmpdir(), 'bm-s3-extract-'));
    try {
      const extracted = await extractBackup(source.archives, into);
      const meta = await openRepository(LOCATION).readBackup(env.sysid, bks.full!);
      expect(extracted.sha256['base.tar.zst']).toBe(meta!.files!.find((f) => f.name === 'base.tar.zst')!.sha256);
      expect(existsSync(join(into, 'PG_VERSION'))).toBe(true);
      // pg_verifybackup's manifest, the one file copied to scratch.
      expect(readFileSync(await source.manifestPath(), 'utf8')).toMatch(/"PostgreSQL-Backup-Manifest-Version"/);
    } finally {
      await source.dispose();
      await rm(into, { recursive: true, force: true });
    }
    const other = generateIdentity();
    const wrong = join(keyDir, 'wrong-agent.key');
    await writeFile(wrong, `${other.secret}\n`, { mode: 0o600 });
    const e = await locateBackup(base, { ...process.env, BACKUP_MGMT_DECRYPT_IDENTITY_FILE: wrong }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(JobFailure);
    expect((e as Error).message.split('\n')).toHaveLength(1);
    expect((e as Error).message).toContain(`encrypted to ${fingerprint}`);
  });
});

describe('disaster recovery from S3 alone: restore --repo s3://…, no database', () => {
  it('reads list, window and verify from S3 with the local backups and WAL deleted', async () => {
    await env.agent.stop();
    await rm(join(env.repo, env.sysid, 'backups'), { recursive: true, force: true });
    await rm(join(env.repo, env.sysid, 'wal'), { recursive: true, force: true });

    const list = await dr(['repo', 'list', '--repo', LOCATION, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout).backups as { backup_bk: string; end_time: string }[];
    expect(listed.map((b) => b.backup_bk).sort()).toEqual(Object.values(bks).sort());
    fullEnd = listed.find((b) => b.backup_bk === bks.full)!.end_time;
    const win = await dr(['repo', 'window', '--repo', LOCATION, '--json']);
    expect(win.code, win.stdout + win.stderr).toBe(0);
    expect(JSON.parse(win.stdout).timelines[0]).toMatchObject({ timeline: 1, earliest_backup_bk: bks.full, wal_gaps: [] });
    const verify = await dr(['repo', 'verify', '--repo', LOCATION, '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const report = JSON.parse(verify.stdout);
    expect(report.problems).toEqual([]);
    expect(report.backups_checked).toBe(1);
    expect(report.wal_files_checked).toBeGreaterThan(2);
  });

  it('refuses a missing or wrong key in one line naming the expected fingerprint, restoring nothing', async () => {
    const to = await postgresDir(join(cluster().baseDir, 'dr-refused'), 0o700);
    let r = await dr(['restore', '--repo', LOCATION, '--to', to, '--latest'], { BACKUP_MGMT_DECRYPT_IDENTITY_FILE: '' });
    expect([r.code, r.stderr.trim().split('\n').length], r.stderr).toEqual([1, 1]);
    expect(r.stderr).toContain(fingerprint);
    expect(r.stderr).toMatch(/no private key/);
    expect(await readdir(to)).toEqual([]);

    const other = generateIdentity();
    const wrong = join(keyDir, 'wrong.key');
    await writeFile(wrong, `${other.secret}\n`, { mode: 0o600 });
    r = await dr(['restore', '--repo', LOCATION, '--to', to, '--latest'], { BACKUP_MGMT_DECRYPT_IDENTITY_FILE: wrong });
    expect([r.code, r.stderr.trim().split('\n').length], r.stderr).toEqual([1, 1]);
    expect(r.stderr).toMatch(new RegExp(`wrong key: ${LOCATION} is encrypted to ${fingerprint}, the identity in .* is ${other.identity.fingerprint}`));
    expect(await readdir(to)).toEqual([]);
    await rm(to, { recursive: true, force: true });
  });

  it('restores to a random time between two commits, exactly', async () => {
    const rand = prng(SEED + 1);
    // A commit after the full backup's end (the window starts there), not the last one.
    const after = workload.commits.findIndex((c) => micros(c.time) > micros(fullEnd));
    expect(after).toBeGreaterThan(0);
    const k = after + 1 + Math.floor(rand() * (workload.commits.length - after - 2));
    const T = workload.commits[k - 1]!.time;
    const to = join(cluster().baseDir, 'dr-time');
    await mkdir(to, { mode: 0o700 });
    await chown(to, postgresIds().uid, postgresIds().gid);
    restoredDirs.add(to);
    const port = await freePort();
    const r = await dr(['restore', '--repo', LOCATION, '--to', to, '--target-time', T, '--start', '--port', String(port), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ promoted: true, started: true });
    expect(out.plan.base.backup_bk).toBe(bks.full);
    expect(await workloadChecksums(restoredUrl(port, 'shop'))).toEqual(workload.expected(k));
    console.log(`[s3restore] time target: commit ${k} of ${workload.commits.length} at ${T}, restored in ${out.seconds} s`);
    await stopRestored(to);
  });

  it('restores to the latest archived WAL, exactly, and records the recovery in the S3 repository', async () => {
    const to = join(cluster().baseDir, 'dr-latest');
    await mkdir(to, { mode: 0o700 });
    await chown(to, postgresIds().uid, postgresIds().gid);
    restoredDirs.add(to);
    const port = await freePort();
    const r = await dr(['restore', '--repo', LOCATION, '--to', to, '--latest', '--start', '--port', String(port), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ promoted: true });
    expect(await workloadChecksums(restoredUrl(port, 'shop'))).toEqual(workload.expected(workload.commits.length));
    const raw = await openBackend(LOCATION);
    const records: string[] = [];
    for await (const o of raw.list(`${env.sysid}/recoveries/`)) records.push(o.key);
    expect(records.length).toBeGreaterThanOrEqual(2);
    await stopRestored(to);
  });
});
