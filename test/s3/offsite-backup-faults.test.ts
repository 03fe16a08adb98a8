// Faults of backups to the off-host repository (issue #16, acceptance 3,
// backup half): the S3 server killed mid-upload, wrong credentials, a
// missing bucket, and storage type S3 with no off-host repository configured.
// Each ends in a one-line reason, leaves no backup visible as complete (in the
// catalog and in the bucket's listing), and the retry succeeds.
import { chown, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll } from '../../src/storage/backends/index.js';
import { S3Backend } from '../../src/storage/backends/s3.js';
import { generateIdentity } from '../../src/storage/crypto/index.js';
import { isRoot } from '../../src/util/process.js';
import { startS3Server, useS3Environment, type S3Server } from '../../tools/bench/s3-server.js';
import { useCluster } from '../harness/cluster.js';
import { installedDatabase } from '../harness/pack.js';
import { AgentProcess, ensureBuilt, postgresDir, postgresIds, query, runCli, stopAllAgents, waitFor, withDatabase } from '../e2e/support.js';

const S3 = 's3://pgbackups/faults';
// ~64 MB of random bytes: at 8 MB/s the upload is in flight for seconds.
const SEED_DATA = `
CREATE TABLE blobs (id int PRIMARY KEY, payload bytea NOT NULL);
INSERT INTO blobs SELECT g, decode(string_agg(md5(random()::text || g || i), ''), 'hex') FROM generate_series(1, 4000) g, generate_series(1, 1000) i GROUP BY g;
`;

const cluster = useCluster({ name: 's3-faults' });
let server: S3Server;
let url = '';
let repo = '';
let sysid = '';
let raw: S3Backend;
let agent: AgentProcess | undefined;
let agentN = 0;

/** (Re)start the one agent with `env` over the test's environment. */
async function startAgent(env: Record<string, string | undefined>): Promise<void> {
  await agent?.stop();
  const saved = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    agent = await AgentProcess.start({ databaseUrl: url, repo, agentId: `s3-faults-${++agentN}`, logFile: join(cluster().baseDir, `agent-${agentN}.log`) });
  } finally {
    process.env = saved;
  }
}

async function requestS3(): Promise<Buffer> {
  const [q] = await query<{ backup_id: Buffer }>(url, `SELECT * FROM backup_mgmt.create_full_backup(p_storage_type => 'S3')`);
  return q!.backup_id;
}

async function outcome(hk: Buffer): Promise<{ backup_status: string; verification_status: string; error_message: string | null; backup_bk: string }> {
  await query(url, `SELECT 1 FROM backup_mgmt.await_backup($1, '4 minutes')`, [hk]);
  const [r] = await query<{ backup_status: string; verification_status: string; error_message: string | null; backup_bk: string }>(
    url,
    'SELECT backup_status, verification_status, error_message, backup_bk FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1',
    [hk],
  );
  return r!;
}

async function storageRows(hk: Buffer): Promise<number> {
  const [r] = await query<{ n: string }>(url, 'SELECT count(*) AS n FROM backup_mgmt.backup_storage_s WHERE backup_hk = $1', [hk]);
  return Number(r!.n);
}

const keys = async (prefix = '') => (await listAll(raw, prefix)).map((o) => o.key);

beforeAll(async () => {
  await ensureBuilt();
  server = await startS3Server(['pgbackups']);
  useS3Environment(server);
  url = await installedDatabase(cluster(), 'bm_s3_faults');
  repo = await postgresDir(join(cluster().baseDir, 'repo'));
  const { identity, secret } = generateIdentity();
  const keyFile = join(await postgresDir(join(cluster().baseDir, 'keys'), 0o700), 'key.txt');
  await writeFile(keyFile, `${secret}\n`, { mode: 0o600 });
  if (isRoot()) await chown(keyFile, postgresIds().uid, postgresIds().gid);
  process.env.BACKUP_MGMT_ENCRYPT_RECIPIENT = identity.recipient.text;
  process.env.BACKUP_MGMT_DECRYPT_IDENTITY_FILE = keyFile;
  raw = new S3Backend(S3);
  await cluster().createDatabase('shop');
  await query(withDatabase(url, 'shop'), SEED_DATA);
  [{ id: sysid }] = (await query<{ id: string }>(url, 'SELECT system_identifier::text AS id FROM pg_control_system()')) as [{ id: string }];
  // One attempt: a failure is the backup's outcome, not a retry in the background.
  await query(url, `SELECT backup_mgmt.set_setting('job.max_attempts', '1')`);
});

afterAll(async () => {
  await stopAllAgents();
  await server?.stop();
});

describe('faults of backups to S3', () => {
  it('storage type S3 with no off-host repository configured: the SQL error, and the CLI says it in one line', async () => {
    await startAgent({ BACKUP_MGMT_REPO_S3: undefined });
    const e = await query(url, `SELECT * FROM backup_mgmt.create_full_backup(p_storage_type => 'S3')`).catch((x: { code: string; hint: string }) => x);
    expect(e).toMatchObject({ code: '55000', hint: expect.stringMatching(/BACKUP_MGMT_REPO_S3/) });
    const r = await runCli(['backup', 'full', '--storage', 's3'], { env: { DATABASE_URL: url } });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/storage type S3 needs an off-host repository/);
    const [n] = await query<{ n: string }>(url, 'SELECT count(*) AS n FROM backup_mgmt.backup_execution_h');
    expect(Number(n!.n)).toBe(0);
  });

  it('the S3 server killed mid-upload: FAILED with the reason, nothing visible as complete, the retry after the restart succeeds', async () => {
    await startAgent({ BACKUP_MGMT_REPO_S3: S3 });
    await query(url, `SELECT backup_mgmt.set_setting('backup.max_rate', '8M')`);
    const hk = await requestS3();
    // In flight: pg_basebackup has sent more than two multipart parts' worth.
    await waitFor(
      'the upload to be under way',
      async () => {
        const [j] = await query<{ done: string | null; status: string }>(url, `SELECT progress_done AS done, status FROM backup_mgmt.job WHERE subject_hk = $1 AND job_type = 'BACKUP'`, [hk]);
        if (j!.status !== 'RUNNING' && j!.status !== 'QUEUED') throw new Error(`the backup job ended before the kill: ${j!.status}`);
        return Number(j!.done ?? 0) > 24 * 1024 * 1024;
      },
      120_000,
      100,
    );
    await server.kill();
    const failed = await outcome(hk);
    expect(failed.backup_status).toBe('FAILED');
    console.log(`[s3backup] killed mid-upload: ${failed.error_message}`);
    expect(failed.error_message).toMatch(/^upload to the off-host repository failed: put s3:\/\/pgbackups\/faults\/\S+ S3 endpoint http:\/\/127\.0\.0\.1:\d+ unreachable/);
    expect(failed.error_message).not.toContain('\n');
    expect(await storageRows(hk)).toBe(0);
    expect(await readdir(join(repo, sysid, 'staging'))).toEqual([]);

    await server.restart();
    // No object of the failed backup is complete: its base archive's upload never completed, no manifest.
    const failedPrefix = `${sysid}/backups/${failed.backup_bk}/`;
    expect((await keys(failedPrefix)).filter((k) => /backup_manifest|base\.tar/.test(k))).toEqual([]);

    await query(url, `SELECT backup_mgmt.set_setting('backup.max_rate', NULL)`);
    // The retry through the CLI, as an operator would.
    const cli = await runCli(['backup', 'full', '--storage', 's3', '--wait', '--json'], { env: { DATABASE_URL: url } });
    expect(cli.code, cli.stderr).toBe(0);
    const ok = JSON.parse(cli.stdout) as { backup_status: string; verification_status: string; backup_bk: string };
    expect(ok).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
    expect(await keys(`${sysid}/backups/${ok.backup_bk}/`)).toEqual([
      `${sysid}/backups/${ok.backup_bk}/backup_manifest.age`,
      `${sysid}/backups/${ok.backup_bk}/base.tar.zst.age`,
    ]);
    expect(await keys(failedPrefix)).toEqual([]);
    // The backup is described in its own repository's metadata, written after the job: only then is the bucket at rest.
    await waitFor('its metadata in S3', async () => (await keys(`${sysid}/backups/${ok.backup_bk}.json`)).length === 1, 60_000);
  }, 400_000);

  it('wrong credentials and a missing bucket: the job fails with one line naming the cause; nothing changed', async () => {
    const before = await keys();
    // s3rver knows one key id; a wrong id is refused (it does not check secrets).
    await startAgent({ BACKUP_MGMT_REPO_S3: S3, AWS_ACCESS_KEY_ID: 'WRONGKEY', AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    const denied = await outcome(await requestS3());
    expect(denied.backup_status).toBe('FAILED');
    expect(denied.error_message).toMatch(/^off-host repository s3:\/\/pgbackups\/faults: check s3:\/\/pgbackups\/faults\/?: access denied .*check the AWS credentials/);
    expect(denied.error_message).not.toMatch(/not-the-secret|WRONGKEY/);

    await startAgent({ BACKUP_MGMT_REPO_S3: 's3://no-such-bucket/faults' });
    const missing = await outcome(await requestS3());
    expect(missing.backup_status).toBe('FAILED');
    expect(missing.error_message).toMatch(/^off-host repository s3:\/\/no-such-bucket\/faults: bucket no-such-bucket does not exist/);
    expect(await keys()).toEqual(before);
    for (const e of [denied, missing]) expect(e.error_message).not.toContain('\n');
    console.log(`[s3backup] wrong credentials: ${denied.error_message}\n[s3backup] missing bucket: ${missing.error_message}`);
  }, 300_000);
});
