// How backups fail, each on a real cluster with real agents: 20 concurrent
// requests, a queued backup cancelled, no replication permission, an
// unwritable repository, a graceful shutdown mid-backup, and agents killed
// mid-backup until the job runs out of attempts.
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.js';
import { installedDatabase } from '../harness/pack.js';
import { AgentProcess, ensureBuilt, postgresDir, query, runCli, stopAllAgents, waitFor } from './support.js';

const cluster = useCluster({ name: 'e2e-fail' });
let url = '';
let repo = '';
let sysid = '';
let logNo = 0;

beforeAll(async () => {
  await ensureBuilt();
  url = await installedDatabase(cluster(), 'bm_fail');
  repo = await postgresDir(join(cluster().baseDir, 'repo'));
  [{ id: sysid }] = (await query<{ id: string }>(url, 'SELECT system_identifier::text AS id FROM pg_control_system()')) as [{ id: string }];
});

afterEach(async () => {
  await stopAllAgents();
});

afterAll(async () => {
  await stopAllAgents();
});

function startAgent(agentId: string, opts: { databaseUrl?: string; repo?: string; extraArgs?: string[] } = {}): Promise<AgentProcess> {
  return AgentProcess.start({
    databaseUrl: opts.databaseUrl ?? url,
    catalogUrl: url,
    repo: opts.repo ?? repo,
    agentId,
    logFile: join(cluster().baseDir, `agent-${++logNo}-${agentId}.log`),
    extraArgs: opts.extraArgs,
  });
}

interface Row {
  backup_id: Buffer;
  backup_status: string;
  verification_status: string | null;
  error_message: string | null;
}

async function createBackup(args = 'p_verify_backup => false'): Promise<Buffer> {
  const [r] = await query<Row>(url, `SELECT * FROM backup_mgmt.create_full_backup(${args})`);
  return r!.backup_id;
}

async function awaitBackup(hk: Buffer, timeout = '3 minutes'): Promise<Row> {
  const [r] = await query<Row>(url, 'SELECT * FROM backup_mgmt.await_backup($1, $2::interval)', [hk, timeout]);
  return r!;
}

interface JobRow {
  job_id: string;
  status: string;
  attempts: number;
  locked_by: string | null;
  progress_done: string | null;
}

async function backupJob(hk: Buffer): Promise<JobRow> {
  const [j] = await query<JobRow>(url, `SELECT * FROM backup_mgmt.job WHERE subject_hk = $1 AND job_type = 'BACKUP' ORDER BY job_id DESC LIMIT 1`, [hk]);
  return j!;
}

/** Wait until `agentId` is streaming attempt `attempt` of the backup's job. */
function runningBy(hk: Buffer, agentId: string, attempt: number): Promise<JobRow> {
  return waitFor(`${agentId} to stream attempt ${attempt}`, async () => {
    const j = await backupJob(hk);
    return j.status === 'RUNNING' && j.locked_by === agentId && j.attempts === attempt && Number(j.progress_done) > 0 ? j : undefined;
  });
}

const backupsDir = () => join(repo, sysid, 'backups');
const stagingDir = () => join(repo, sysid, 'staging');
const listDir = (d: string) => (existsSync(d) ? readdirSync(d) : []);

describe('failure behaviour', () => {
  it('20 concurrent create_full_backup calls: every call answered, at most one backup running, nothing duplicated', async () => {
    await startAgent('fail-concurrent');
    const clients = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        return c;
      }),
    );
    let maxRunning = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [r] = await query<{ n: string }>(url, `SELECT count(*) AS n FROM backup_mgmt.job WHERE job_type = 'BACKUP' AND status = 'RUNNING'`);
        maxRunning = Math.max(maxRunning, Number(r!.n));
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    try {
      const answers = await Promise.all(
        clients.map((c) => c.query<Row>('SELECT * FROM backup_mgmt.create_full_backup(p_verify_backup => false)').then((r) => r.rows)),
      );
      expect(answers.every((rows) => rows.length === 1)).toBe(true);
      const ids = [...new Set(answers.map((rows) => rows[0]!.backup_id.toString('hex')))];
      const finals = await Promise.all(ids.map((id) => awaitBackup(Buffer.from(id, 'hex'))));
      expect(finals.map((f) => f.backup_status)).toEqual(ids.map(() => 'COMPLETED'));

      // One job per distinct backup, no backup without a job.
      const jobs = await query<{ subject: string; n: string }>(
        url,
        `SELECT encode(subject_hk, 'hex') AS subject, count(*) AS n FROM backup_mgmt.job
          WHERE job_type = 'BACKUP' AND encode(subject_hk, 'hex') = ANY($1) GROUP BY 1`,
        [ids],
      );
      expect(jobs.map((j) => j.subject).sort()).toEqual([...ids].sort());
      expect(jobs.every((j) => j.n === '1')).toBe(true);
      // One directory per backup (beside each, its repository metadata file <bk>.json).
      expect(listDir(backupsDir()).filter((n) => !n.endsWith('.json')).length).toBe(ids.length);
    } finally {
      sampling = false;
      await sampler;
      await Promise.all(clients.map((c) => c.end()));
    }
    expect(maxRunning).toBeLessThanOrEqual(1);
  });

  it('a queued backup is cancelled through the CLI', async () => {
    // No agent runs: the request stays queued.
    const env = { DATABASE_URL: url };
    const q = await runCli(['backup', 'full', '--json'], { env });
    expect(q.code, q.stderr).toBe(0);
    const bk = JSON.parse(q.stdout).backup_bk;
    const c = await runCli(['cancel', bk, '--json'], { env });
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout).backup_status).toBe('CANCELLED');
    const again = await runCli(['cancel', bk], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/nothing to cancel.*SQLSTATE 55000/);
  });

  it('pg_basebackup without replication permission: FAILED with the tool\'s own reason, not retried', async () => {
    await query(url, `CREATE ROLE agent_norepl LOGIN NOREPLICATION IN ROLE backup_agent`);
    const u = new URL(url);
    u.username = 'agent_norepl';
    await startAgent('fail-norepl', { databaseUrl: u.toString() });
    const hk = await createBackup();
    const r = await awaitBackup(hk);
    expect(r.backup_status).toBe('FAILED');
    expect(r.error_message).toMatch(/^pg_basebackup failed: .*must be superuser or replication role/);
    expect((await backupJob(hk)).attempts).toBe(1);
    expect(listDir(stagingDir())).toEqual([]);
  });

  it('an unwritable repository: the agent refuses to start on it; a backup into it FAILS clearly; the database is unaffected', async () => {
    // Root-owned, read-only for the postgres OS user the agent runs as.
    const locked = join(cluster().baseDir, 'locked-repo');
    await mkdir(locked, { recursive: true });
    await chmod(locked, 0o555);
    await expect(startAgent('fail-locked', { repo: locked })).rejects.toThrow(/is not writable/);

    // Writable at start, then the cluster's directory inside it is not.
    const repo2 = await postgresDir(join(cluster().baseDir, 'repo2'));
    await startAgent('fail-unwritable', { repo: repo2 });
    await mkdir(join(repo2, sysid), { mode: 0o555 });
    await chmod(join(repo2, sysid), 0o555);
    const hk = await createBackup();
    const r = await awaitBackup(hk);
    expect(r.backup_status).toBe('FAILED');
    expect(r.error_message).toMatch(new RegExp(`^repository ${repo2} is not writable: EACCES`));
    expect((await backupJob(hk)).attempts).toBe(1);
    // The server carries on as before.
    await query(url, 'CREATE TABLE after_failure (x int)');
    await query(url, 'INSERT INTO after_failure VALUES (1)');
    const [n] = await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM after_failure');
    expect(n!.n).toBe(1);
  });

  it('SIGTERM mid-backup releases the job and removes partial files; another agent then completes it', async () => {
    const slow = await startAgent('fail-graceful', { extraArgs: ['--max-rate', '1M'] });
    const hk = await createBackup();
    await runningBy(hk, 'fail-graceful', 1);
    await waitFor('staging to fill', async () => listDir(stagingDir()).length > 0);
    const exit = await slow.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(slow.log()).toMatch(/released for another agent/);
    const job = await backupJob(hk);
    expect(job).toMatchObject({ status: 'QUEUED', attempts: 0, locked_by: null });
    const [cur] = await query(url, 'SELECT backup_status FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [hk]);
    expect(cur!.backup_status).toBe('PENDING');
    expect(listDir(stagingDir())).toEqual([]);
    const [agent] = await query(url, `SELECT stopped_at FROM backup_mgmt.agent WHERE agent_id = 'fail-graceful'`);
    expect(agent!.stopped_at).not.toBeNull();

    await startAgent('fail-finisher');
    expect((await awaitBackup(hk)).backup_status).toBe('COMPLETED');
  });

  it('cancelling a running backup stops pg_basebackup, removes its files, and the backup ends CANCELLED', async () => {
    const a = await startAgent('fail-cancel', { extraArgs: ['--max-rate', '1M'] });
    const hk = await createBackup();
    await runningBy(hk, 'fail-cancel', 1);
    await query(url, 'SELECT * FROM backup_mgmt.cancel_backup($1)', [hk]);
    const r = await awaitBackup(hk, '1 minute');
    expect(r.backup_status).toBe('CANCELLED');
    expect((await backupJob(hk)).status).toBe('CANCELLED');
    expect(listDir(stagingDir())).toEqual([]);
    expect(a.log()).toMatch(/no longer ours/);
  });

  it('an agent restarted under the same id takes back the job its killed predecessor held', async () => {
    const a = await startAgent('fail-same-id', { extraArgs: ['--max-rate', '1M'] });
    const hk = await createBackup();
    await runningBy(hk, 'fail-same-id', 1);
    await a.kill();
    // The default lease is 30 s; re-registration expires it at once, so this is quick.
    const t0 = Date.now();
    await startAgent('fail-same-id');
    const r = await awaitBackup(hk, '1 minute');
    expect(r.backup_status).toBe('COMPLETED');
    expect((await backupJob(hk)).attempts).toBe(2);
    expect(Date.now() - t0).toBeLessThan(25_000);
  });

  it('agents SIGKILLed mid-backup: the lease expires, the job is retried, then FAILED; nothing partial is published', async () => {
    await query(url, `SELECT backup_mgmt.set_setting('job.lease_seconds', '3')`);
    try {
      const hk = await createBackup();
      const [{ bk }] = (await query<{ bk: string }>(url, 'SELECT backup_bk AS bk FROM backup_mgmt.backup_execution_h WHERE backup_hk = $1', [hk])) as [
        { bk: string },
      ];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const a = await startAgent(`fail-kill-${attempt}`, { extraArgs: ['--max-rate', '1M'] });
        await runningBy(hk, `fail-kill-${attempt}`, attempt);
        const pid = Number(/pg_basebackup started \(pid (\d+)\)/.exec(a.log())?.[1]);
        await a.kill();
        // PR_SET_PDEATHSIG (and the closed pipe) take pg_basebackup down with the agent.
        await waitFor(`pg_basebackup ${pid} to die with its agent`, async () => !existsSync(`/proc/${pid}/cmdline`) || !(await procIsBasebackup(pid)), 10_000);
        if (attempt < 3) {
          const [cur] = await query(url, 'SELECT backup_status FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [hk]);
          expect(['RUNNING', 'PENDING']).toContain(cur!.backup_status);
        }
      }
      // A healthy agent finds the last lease expired and no attempts left.
      await startAgent('fail-kill-last');
      const r = await awaitBackup(hk);
      expect(r.backup_status).toBe('FAILED');
      expect(r.error_message).toMatch(/agent lost \(lease expired\) after 3 attempts/);
      const history = await query<{ backup_status: string }>(
        url,
        'SELECT backup_status FROM backup_mgmt.backup_execution_s WHERE backup_hk = $1 ORDER BY load_date',
        [hk],
      );
      expect(history.map((h) => h.backup_status)).not.toContain('COMPLETED');
      expect(history.map((h) => h.backup_status)).toContain('RUNNING');
      expect(listDir(backupsDir())).not.toContain(bk);
    } finally {
      await query(url, `SELECT backup_mgmt.set_setting('job.lease_seconds', NULL)`);
    }
  });
});

async function procIsBasebackup(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('pg_basebackup');
  } catch {
    return false;
  }
}
