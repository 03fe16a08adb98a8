// Findings 9 and 11: the catalog does not contradict itself. A verification
// behind a queued delete is refused; health_check stops crying wolf (a
// failure followed by a success, the verification status of a failed backup)
// and stops missing what pg_cron says (every run failing).
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrateUp } from '../../src/migrate/runner.js';
import { useCluster } from '../harness/cluster.js';
import { AgentProcess, ensureBuilt, postgresDir, query, stopAllAgents, waitFor } from '../e2e/support.js';
import { leftovers, NOTHING_LEFT } from './support.js';

const cluster = useCluster({ name: 'fault-catalog' });
let url = '';
let repo = '';
let sysid = '';
let logNo = 0;

beforeAll(async () => {
  // pg_cron lives in the postgres database of the harness's clusters: the pack goes there.
  await cluster().query('CREATE EXTENSION pg_cron');
  url = cluster().connectionString('postgres');
  await Promise.all([migrateUp(url), ensureBuilt()]);
  repo = await postgresDir(join(cluster().baseDir, 'repo'));
  [{ id: sysid }] = (await query<{ id: string }>(url, 'SELECT system_identifier::text AS id FROM pg_control_system()')) as [{ id: string }];
});

afterEach(async () => {
  expect(await leftovers(url, repo, sysid)).toEqual(NOTHING_LEFT);
});

afterAll(async () => {
  await stopAllAgents();
});

function startAgent(agentId: string, databaseUrl = url): Promise<AgentProcess> {
  return AgentProcess.start({ databaseUrl, catalogUrl: url, repo, agentId, logFile: join(cluster().baseDir, `agent-${++logNo}.log`) });
}

async function backup(): Promise<{ hk: Buffer; status: string; verification: string | null; bk: string }> {
  const [r] = await query<{ backup_id: Buffer }>(url, 'SELECT backup_id FROM backup_mgmt.create_full_backup()');
  const [o] = await query<{ backup_status: string; verification_status: string | null; backup_bk: string }>(
    url,
    `SELECT b.*, h.backup_bk FROM backup_mgmt.await_backup($1, '2 minutes') AS b JOIN backup_mgmt.backup_execution_h AS h ON h.backup_hk = $1`,
    [r!.backup_id],
  );
  return { hk: r!.backup_id, status: o!.backup_status, verification: o!.verification_status, bk: o!.backup_bk };
}

async function check(name: string): Promise<{ status: string; value: string; detail: string }> {
  const [r] = await query<{ status: string; value: string; detail: string }>(url, 'SELECT status, value, detail FROM backup_mgmt.health_check() WHERE check_name = $1', [name]);
  return r!;
}

describe('health noise', () => {
  it('a failed backup has no verification status, and a later success clears failed_backups', async () => {
    await query(url, `CREATE ROLE fault_norepl LOGIN NOREPLICATION IN ROLE backup_agent`);
    const u = new URL(url);
    u.username = 'fault_norepl';
    const weak = await startAgent('fault-norepl', u.toString());
    const failed = await backup();
    expect(failed.status).toBe('FAILED');
    // Verification was requested, but a failed backup stored nothing: not "SKIPPED" (as if not requested).
    expect(failed.verification).toBeNull();
    expect((await check('failed_backups')).status).toBe('WARNING');
    await weak.stop();

    await startAgent('fault-catalog');
    const ok = await backup();
    expect(ok).toMatchObject({ status: 'COMPLETED', verification: 'VERIFIED' });
    expect(await check('failed_backups')).toMatchObject({ status: 'OK', value: '0' });
  });

  it('cron_jobs: a schedule whose pg_cron runs all fail is WARNING with pg_cron\'s message; a good run clears it', async () => {
    // Fires only on 29 February at midnight: pg_cron itself never runs it here.
    await query(url, `SELECT backup_mgmt.create_backup_schedule('fault-cron', 'VERIFY', '0 0 29 2 *')`);
    expect((await check('cron_jobs')).status).toBe('OK');
    const [job] = await query<{ jobid: string }>(url, `SELECT jobid FROM cron.job WHERE jobname = 'backup_mgmt:fault-cron'`);
    // What pg_cron 1.4 records when its libpq connection is refused (cron.host, pg_hba.conf).
    const run = (status: string, message: string) =>
      query(
        url,
        `INSERT INTO cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
         VALUES ($1, nextval('cron.runid_seq'), 0, 'postgres', 'postgres', 'SELECT 1', $2, $3, now(), now())`,
        [job!.jobid, status, message],
      );
    await run('failed', 'connection failed');
    await run('failed', 'connection failed');
    const c = await check('cron_jobs');
    expect(c.status).toBe('WARNING');
    expect(c.value).toBe('0 of 1 jobs missing, 0 inactive, 1 failing');
    expect(c.detail).toMatch(/^latest run failed: fault-cron \(job backup_mgmt:fault-cron\): connection failed; /);
    await run('succeeded', '1 row');
    expect((await check('cron_jobs')).status).toBe('OK');
    await query(url, `SELECT backup_mgmt.drop_backup_schedule('fault-cron')`);
  });
});

describe('verify against a queued delete', () => {
  it('is refused like a verify of an EXPIRED backup; the delete then runs and the history shows no failed verification', async () => {
    // Two verified full backups (the previous test left one); only the newest must stay.
    await backup();
    for (const [k, v] of [['retention.period', '0'], ['retention.min_redundancy', '1'], ['retention.recovery_window', '0']]) {
      await query(url, 'SELECT backup_mgmt.set_setting($1, $2)', [k, v]);
    }
    await stopAllAgents();
    const rows = await query<{ backup_id: Buffer; action_taken: string }>(url, 'SELECT * FROM backup_mgmt.cleanup_expired_backups(NULL, false)');
    const queued = rows.filter((r) => r.action_taken === 'DELETE_QUEUED');
    expect(queued.length).toBeGreaterThanOrEqual(1);
    const hk = queued[0]!.backup_id;
    const err = await query(url, 'SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [hk]).then(
      () => undefined,
      (e: { code: string; message: string }) => e,
    );
    expect(err?.code).toBe('55000');
    expect(err?.message).toMatch(/is being deleted \(DELETE job \d+ is queued or running\)/);
    expect(await query(url, `SELECT 1 FROM backup_mgmt.job WHERE subject_hk = $1 AND job_type = 'VERIFY'`, [hk])).toEqual([]);

    await startAgent('fault-catalog');
    await waitFor('the delete to run', async () => {
      const [j] = await query<{ status: string }>(url, `SELECT status FROM backup_mgmt.job WHERE subject_hk = $1 AND job_type = 'DELETE'`, [hk]);
      return j!.status === 'SUCCEEDED';
    });
    const history = await query<{ b: string; v: string | null }>(
      url,
      'SELECT backup_status AS b, verification_status AS v FROM backup_mgmt.backup_execution_s WHERE backup_hk = $1 ORDER BY load_date',
      [hk],
    );
    expect(history.at(-1)?.b).toBe('EXPIRED');
    expect(history.map((h) => h.v)).not.toContain('FAILED');
  });
});
