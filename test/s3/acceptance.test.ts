// Issue 16, acceptance 1, end to end through the product's own paths: a full
// and an incremental backup with storage type S3 (streamed, encrypted) under
// a recorded workload, WAL reaching S3, then the local repository deleted.
// From S3 alone: the agent's PITR to a random time and to `latest`, and a
// disaster recovery (`restore --repo s3://…`, no database) give exactly the
// recorded state. Nothing is copied into S3 by the test.
import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offsiteConfig, openOffsite, type SealedStore } from '../../src/storage/offsite/index.js';
import { listArchivedWalOffsite } from '../../src/storage/wal-list-offsite.js';
import { startS3Server, useS3Environment, type S3Server } from '../../tools/bench/s3-server.js';
import { useCluster } from '../harness/cluster.js';
import { archiveNow, archivingCluster, dropRestored, micros, prng, restoredUrl, shopWorkload, workloadChecksums, type ArchivingSetup, type Workload } from '../e2e/recovery-support.js';
import { freePort, postgresDir, postgresIds, query, runCli, waitFor } from '../e2e/support.js';
import { endRestoreSuite, useOffsiteKey } from './offsite-env.js';

const SEED = Number(process.env.BM_S3A_SEED ?? 16_2026);
const BUCKET = 'bm-accept';
const LOCATION = `s3://${BUCKET}/cluster-a`;
const cluster = useCluster({ name: 's3accept' });
let server: S3Server;
let env: ArchivingSetup;
let workload: Workload;
let store: SealedStore;
const bks: Record<'full' | 'inc', string> = { full: '', inc: '' };
let fullEnd = '';
const restoredDirs = new Set<string>();
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function s3Backup(sql: string): Promise<string> {
  const [q] = await query<{ backup_id: Buffer }>(env.url, `SELECT backup_id FROM backup_mgmt.${sql}`);
  const [r] = await query<{ backup_bk: string; backup_status: string; verification_status: string; error_message: string | null }>(
    env.url,
    `SELECT w.*, h.backup_bk FROM backup_mgmt.await_backup($1, '4 minutes') w JOIN backup_mgmt.backup_execution_h h ON h.backup_hk = w.backup_id`,
    [q!.backup_id],
  );
  expect([r!.backup_status, r!.verification_status], String(r!.error_message)).toEqual(['COMPLETED', 'VERIFIED']);
  const [st] = await query<{ repository_path: string }>(env.url, 'SELECT repository_path FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1', [q!.backup_id]);
  expect(st!.repository_path.startsWith(`${LOCATION}/`)).toBe(true);
  return r!.backup_bk;
}

async function agentRecovery(kind: string, value: string | null): Promise<Record<string, unknown>> {
  const [r] = await query<{ recovery_id: Buffer }>(env.url, `SELECT * FROM backup_mgmt.initiate_recovery($1, $2, NULL, false)`, [kind, value]);
  const [row] = await query(env.url, `SELECT * FROM backup_mgmt.await_recovery($1, '5 minutes')`, [r!.recovery_id]);
  if (row!.restore_directory) restoredDirs.add(row!.restore_directory as string);
  expect(row, String(row!.error_message)).toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED' });
  const [job] = await query<{ repo: string }>(
    env.url,
    `SELECT result->'repository'->>'name' AS repo FROM backup_mgmt.job WHERE subject_hk = $1 AND job_type = 'RESTORE' AND status = 'SUCCEEDED'`,
    [r!.recovery_id],
  );
  expect(job!.repo).toBe('s3');
  return row!;
}

beforeAll(async () => {
  server = await startS3Server([BUCKET]);
  useS3Environment(server);
  // The agent inherits the off-host repository and its public key; the private key only restores need.
  await useOffsiteKey(await postgresDir(join(cluster().baseDir, 'keys'), 0o700), 'backup.key', LOCATION);
  store = await openOffsite(offsiteConfig(process.env)!);
  env = await archivingCluster(cluster(), 'bm_s3a', 's3accept');
  ({ workload } = await shopWorkload(cluster(), env.url, SEED));
  console.log(`[s3accept] seed ${SEED} (BM_S3A_SEED)`);
}, 180_000);

afterAll(() => endRestoreSuite({ workload, restoredDirs, server }));

describe('full and incremental backups to S3, then the local repository deleted', () => {
  it('backs up into S3 under a workload; WAL and metadata reach S3', async () => {
    workload.start();
    await pause(700);
    bks.full = await s3Backup(`create_full_backup(p_storage_type => 'S3')`);
    await pause(700);
    bks.inc = await s3Backup('create_incremental_backup()');
    await pause(700);
    await workload.close();
    const last = await archiveNow(env.url);
    expect(workload.commits.length).toBeGreaterThan(20);
    await waitFor(`WAL through ${last} in S3`, async () => (await listArchivedWalOffsite(store, env.sysid)).some((w) => w.fileName === last), 120_000);
    await waitFor('metadata of both backups in S3', async () => (await store.backend.exists(`${env.sysid}/backups/${bks.full}.json`)) && (await store.backend.exists(`${env.sysid}/backups/${bks.inc}.json`)), 120_000);
    const [f] = await query<{ t: string }>(env.url, `SELECT to_char(backup_end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t FROM backup_mgmt.backup_execution_current WHERE backup_bk = $1`, [bks.full]);
    fullEnd = f!.t;

    // Nothing of the backups is local; now the local repository goes entirely.
    expect(existsSync(join(env.repo, env.sysid, 'backups', bks.full))).toBe(false);
    await rm(join(env.repo, env.sysid), { recursive: true, force: true });
  }, 420_000);

  it("the agent's PITR to a random time restores exactly, from S3 only", async () => {
    const rand = prng(SEED + 1);
    const after = workload.commits.findIndex((c) => micros(c.time) > micros(fullEnd));
    expect(after).toBeGreaterThan(0);
    const k = after + 1 + Math.floor(rand() * (workload.commits.length - after - 2));
    const row = await agentRecovery('time', workload.commits[k - 1]!.time);
    expect(await workloadChecksums(restoredUrl(row.restore_port as number, 'shop'))).toEqual(workload.expected(k));
    console.log(`[s3accept] agent PITR to commit ${k} of ${workload.commits.length}`);
    await dropRestored(row.restore_directory as string);
    restoredDirs.delete(row.restore_directory as string);
  }, 360_000);

  it("the agent's restore to latest restores every commit, from S3 only", async () => {
    const row = await agentRecovery('latest', null);
    expect(await workloadChecksums(restoredUrl(row.restore_port as number, 'shop'))).toEqual(workload.expected(workload.commits.length));
    await dropRestored(row.restore_directory as string);
    restoredDirs.delete(row.restore_directory as string);
    // The local repository stayed gone: restores read S3 and wrote only their data directories.
    expect(existsSync(join(env.repo, env.sysid, 'backups'))).toBe(false);
  }, 360_000);

  it('disaster recovery: restore --repo s3://… with no database restores a random time exactly', async () => {
    await env.agent.stop();
    const rand = prng(SEED + 2);
    const after = workload.commits.findIndex((c) => micros(c.time) > micros(fullEnd));
    const k = after + 1 + Math.floor(rand() * (workload.commits.length - after - 2));
    const to = join(cluster().baseDir, 'dr-accept');
    await mkdir(to, { mode: 0o700 });
    await chown(to, postgresIds().uid, postgresIds().gid);
    restoredDirs.add(to);
    const port = await freePort();
    const r = await runCli(['restore', '--repo', LOCATION, '--to', to, '--target-time', workload.commits[k - 1]!.time, '--start', '--port', String(port), '--json'], {
      env: { DATABASE_URL: '', BACKUP_MGMT_REPO: '' },
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ promoted: true, started: true });
    // The base is the full backup whose home is S3 (found through its metadata there, no catalog).
    expect(out.plan.base.backup_bk).toBe(bks.full);
    expect(await workloadChecksums(restoredUrl(port, 'shop'))).toEqual(workload.expected(k));
    expect((await readdir(to)).length).toBeGreaterThan(0);
  }, 300_000);
});
