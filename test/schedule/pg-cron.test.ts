// Schedules with pg_cron in the same database: the pack is installed into the
// postgres database, where the harness's cluster runs pg_cron 1.4. Each
// schedule gets a job backup_mgmt:<name> that calls run_schedule(); pause,
// resume, alter and drop keep the job in step; pg_cron really fires it; and
// `migrate down` removes the jobs.
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrateDown } from '../../src/migrate/runner.js';
import { usePackWithPgCron } from '../harness/pack.js';

const pack = usePackWithPgCron({ name: 'pgcron' });
const cluster = pack.cluster;
let client: pg.Client;

beforeAll(async () => {
  client = await pack.connect();
});

interface Job {
  jobname: string;
  schedule: string;
  command: string;
  active: boolean;
  database: string;
  username: string;
}
const job = async (name: string) =>
  (await client.query<Job>(`SELECT jobname, schedule, command, active, database, username FROM cron.job WHERE jobname = $1`, [`backup_mgmt:${name}`])).rows[0];
const sql = (text: string, params: unknown[] = []) => client.query(text, params);

describe('pg_cron jobs follow the schedules', () => {
  it('create registers backup_mgmt:<name> running run_schedule(<name>) on the schedule', async () => {
    await sql(`SELECT backup_mgmt.create_backup_schedule('nightly-full', 'FULL', '0 2 29 2 *')`);
    expect(await job('nightly-full')).toEqual({
      jobname: 'backup_mgmt:nightly-full', schedule: '0 2 29 2 *', command: `SELECT backup_mgmt.run_schedule('nightly-full')`,
      active: true, database: 'postgres', username: 'postgres',
    });
    const { rows } = await sql(`SELECT cron_job_name FROM backup_mgmt.backup_schedule_current WHERE schedule_name = 'nightly-full'`);
    expect(rows).toEqual([{ cron_job_name: 'backup_mgmt:nightly-full' }]);
  });

  it('aliases and names reach pg_cron as plain fields', async () => {
    await sql(`SELECT backup_mgmt.create_backup_schedule('yearly-cleanup', 'CLEANUP', '@yearly')`);
    await sql(`SELECT backup_mgmt.create_backup_schedule('weekday-check', 'HEALTH_CHECK', '15 6 * jan-Mar mon-fri')`);
    expect((await job('yearly-cleanup'))?.schedule).toBe('0 0 1 1 *');
    expect((await job('weekday-check'))?.schedule).toBe('15 6 * JAN-MAR MON-FRI');
  });

  it('a zone other than UTC or a window: the job fires at every UTC time the schedule can be due', async () => {
    await sql(`SELECT backup_mgmt.alter_backup_schedule('nightly-full', p_timezone => 'Europe/Berlin')`);
    // 02:00 Berlin is 00:00 or 01:00 UTC
    expect((await job('nightly-full'))?.schedule).toBe('0 0,1 * * *');
    await sql(`SELECT backup_mgmt.alter_backup_schedule('nightly-full', p_timezone => 'Asia/Kolkata',
                                                       p_execution_window_start => '03:15', p_execution_window_end => '05:00')`);
    // 02:00 and 03:15 Kolkata are 20:30 and 21:45 UTC
    expect((await job('nightly-full'))?.schedule).toBe('30,45 20,21 * * *');
    await sql(`SELECT backup_mgmt.alter_backup_schedule('nightly-full', p_timezone => 'UTC', p_clear_execution_window => true)`);
    expect((await job('nightly-full'))?.schedule).toBe('0 2 29 2 *');
  });

  it('pause makes the job inactive, resume active again, drop removes it', async () => {
    await sql(`SELECT backup_mgmt.pause_backup_schedule('nightly-full')`);
    expect((await job('nightly-full'))?.active).toBe(false);
    await sql(`SELECT backup_mgmt.alter_backup_schedule('nightly-full', '0 2 28 2 *')`);
    expect(await job('nightly-full')).toMatchObject({ schedule: '0 2 28 2 *', active: false });
    await sql(`SELECT backup_mgmt.resume_backup_schedule('nightly-full')`);
    expect((await job('nightly-full'))?.active).toBe(true);
    await sql(`SELECT backup_mgmt.drop_backup_schedule('nightly-full')`);
    expect(await job('nightly-full')).toBeUndefined();
    const { rows } = await sql(`SELECT is_active, cron_job_name FROM backup_mgmt.backup_schedule_current WHERE schedule_name = 'nightly-full'`);
    expect(rows).toEqual([{ is_active: false, cron_job_name: null }]);
    // defined again: the job is back
    await sql(`SELECT backup_mgmt.create_backup_schedule('nightly-full', 'FULL', '0 2 29 2 *')`);
    expect((await job('nightly-full'))?.active).toBe(true);
  });

  it('bad input leaves cron.job alone', async () => {
    const before = (await sql('SELECT jobname, schedule, active FROM cron.job ORDER BY jobid')).rows;
    for (const [text, params] of [
      [`SELECT backup_mgmt.create_backup_schedule($1, 'FULL', '0 2 * * *')`, ["x'); SELECT cron.unschedule('backup_mgmt:nightly-full'); --"]],
      [`SELECT backup_mgmt.create_backup_schedule('ok-name', 'FULL', $1)`, ['0 2 * * * ; SELECT 1']],
      [`SELECT backup_mgmt.alter_backup_schedule('nightly-full', p_timezone => $1)`, ['+02']],
      [`SELECT backup_mgmt.create_backup_schedule('nightly-full', 'FULL', '0 3 * * *')`, []],
    ] as [string, unknown[]][]) {
      await expect(sql(text, params)).rejects.toMatchObject({ code: expect.stringMatching(/^(22023|42710)$/) });
    }
    expect((await sql('SELECT jobname, schedule, active FROM cron.job ORDER BY jobid')).rows).toEqual(before);
  });
});

describe('pg_cron runs the job', () => {
  it('fires run_schedule() every minute for a * * * * * schedule, and the run is recorded', async () => {
    await sql(`SELECT backup_mgmt.create_backup_schedule('every-minute', 'HEALTH_CHECK', '* * * * *')`);
    const deadline = Date.now() + 150_000;
    let details: { status: string; return_message: string }[] = [];
    while (Date.now() < deadline) {
      details = (await sql(`SELECT d.status, d.return_message FROM cron.job_run_details AS d JOIN cron.job AS j USING (jobid)
                             WHERE j.jobname = 'backup_mgmt:every-minute' AND d.status IN ('succeeded', 'failed')`)).rows;
      if (details.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(details[0]?.status, details[0]?.return_message).toBe('succeeded');
    const { rows } = await sql(`SELECT tags->'last_run'->>'outcome' AS outcome, next_execution_time > now() - interval '5 seconds' AS moved_on
                                  FROM backup_mgmt.backup_schedule_current WHERE schedule_name = 'every-minute'`);
    expect(rows[0].outcome).toMatch(/^(COMPLETED|SKIPPED|FAILED)$/);
    expect(rows[0].moved_on).toBe(true);
    await sql(`SELECT backup_mgmt.pause_backup_schedule('every-minute')`);
  }, 180_000);
});

describe('migrate down', () => {
  it('removes the backup_mgmt: jobs it created', async () => {
    expect(Number((await sql(`SELECT count(*) AS n FROM cron.job WHERE jobname LIKE 'backup_mgmt:%'`)).rows[0].n)).toBeGreaterThan(0);
    await client.end();
    await migrateDown(cluster().connectionString('postgres'));
    client = await pack.connect();
    expect(Number((await sql(`SELECT count(*) AS n FROM cron.job WHERE jobname LIKE 'backup_mgmt:%'`)).rows[0].n)).toBe(0);
  });
});
