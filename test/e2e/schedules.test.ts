// A schedule due every minute takes real backups through the real agent:
// fired by pg_cron where the pack shares pg_cron's database, and by the agent
// itself (run_due_schedules) where pg_cron is absent. Pausing stops the runs;
// dropping removes the pg_cron job.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateUp } from '../../src/migrate/runner.js';
import { useCluster } from '../harness/cluster.js';
import { installedDatabase } from '../harness/pack.js';
import { AgentProcess, ensureBuilt, postgresDir, query, stopAllAgents, waitFor } from './support.js';

const cluster = useCluster({ name: 'e2e-schedules' });
let cronUrl = '';
let plainUrl = '';

interface Run {
  backup_bk: string;
  backup_status: string;
}

/** Backups linked to the schedule through schedule_execution_l, oldest first. */
function scheduledRuns(url: string, schedule: string): Promise<Run[]> {
  return query<Run>(
    url,
    `SELECT b.backup_bk, b.backup_status
       FROM backup_mgmt.schedule_execution_l AS l
       JOIN backup_mgmt.backup_schedule_current AS s ON s.schedule_hk = l.schedule_hk
       JOIN backup_mgmt.backup_execution_current AS b ON b.backup_hk = l.backup_hk
      WHERE s.schedule_name = $1
      ORDER BY b.backup_start_time`,
    [schedule],
  );
}

/** The runs of 'every-minute' once one of them COMPLETED (waiting up to 150 s). */
function completedRuns(url: string, what: string): Promise<Run[]> {
  return waitFor(
    what,
    async () => {
      const r = await scheduledRuns(url, 'every-minute');
      return r.some((x) => x.backup_status === 'COMPLETED') && r;
    },
    150_000,
    1_000,
  );
}

/** Milliseconds until `seconds` past the next minute boundary. */
function untilAfterNextMinute(seconds: number): number {
  const now = Date.now();
  return 60_000 - (now % 60_000) + seconds * 1000;
}

beforeAll(async () => {
  await ensureBuilt();
  // pg_cron lives in "postgres" (cron.database_name): the pack goes there too.
  await cluster().query('CREATE EXTENSION pg_cron');
  cronUrl = cluster().connectionString('postgres');
  await migrateUp(cronUrl);
  // A database without pg_cron: the agent drives its schedules.
  plainUrl = await installedDatabase(cluster(), 'plain');

  for (const [url, id] of [[cronUrl, 'sched-cron'], [plainUrl, 'sched-plain']] as const) {
    const repo = await postgresDir(join(cluster().baseDir, `repo-${id}`));
    await AgentProcess.start({ databaseUrl: url, repo, agentId: id, logFile: join(cluster().baseDir, `${id}.log`) });
  }
  await query(cronUrl, `SELECT backup_mgmt.create_backup_schedule('every-minute', 'FULL', '* * * * *')`);
  await query(plainUrl, `SELECT backup_mgmt.create_backup_schedule('every-minute', 'FULL', '* * * * *')`);
}, 240_000);

afterAll(async () => {
  await stopAllAgents();
});

describe('schedules through the agent', () => {
  it('with pg_cron: the job fires, the agent takes the backup, the run is linked', async () => {
    const [job] = await query<{ jobname: string; schedule: string; command: string; active: boolean }>(
      cronUrl,
      `SELECT jobname, schedule, command, active FROM cron.job WHERE jobname = 'backup_mgmt:every-minute'`,
    );
    expect(job).toMatchObject({ schedule: '* * * * *', active: true });
    expect(job!.command).toContain(`backup_mgmt.run_schedule(`);

    const runs = await completedRuns(cronUrl, 'a completed scheduled backup');
    expect(runs.length).toBeGreaterThanOrEqual(1);
    // pg_cron really ran the job (not only the agent's fallback).
    const [fired] = await query<{ n: number }>(
      cronUrl,
      `SELECT count(*)::int AS n FROM cron.job_run_details d JOIN cron.job j USING (jobid)
        WHERE j.jobname = 'backup_mgmt:every-minute' AND d.status = 'succeeded'`,
    );
    expect(fired!.n).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('without pg_cron: the agent runs the due schedule itself', async () => {
    const [sched] = await query<{ cron_job_name: string | null }>(
      plainUrl,
      `SELECT cron_job_name FROM backup_mgmt.backup_schedule_current WHERE schedule_name = 'every-minute'`,
    );
    expect(sched!.cron_job_name).toBeNull();
    const runs = await completedRuns(plainUrl, 'a completed backup started by the agent');
    expect(runs[0]!.backup_bk).toMatch(/^FULL_BACKUP_SYSTEM_/);
  }, 180_000);

  it('pausing stops the runs; dropping removes the pg_cron job', async () => {
    await query(cronUrl, `SELECT backup_mgmt.pause_backup_schedule('every-minute')`);
    await query(plainUrl, `SELECT backup_mgmt.pause_backup_schedule('every-minute')`);
    // Whatever was already started may finish; nothing new may start.
    await waitFor(
      'in-flight scheduled backups to settle',
      async () => {
        const all = [...(await scheduledRuns(cronUrl, 'every-minute')), ...(await scheduledRuns(plainUrl, 'every-minute'))];
        return all.every((r) => !['PENDING', 'RUNNING'].includes(r.backup_status));
      },
      120_000,
      1_000,
    );
    const before = [(await scheduledRuns(cronUrl, 'every-minute')).length, (await scheduledRuns(plainUrl, 'every-minute')).length];
    await new Promise((r) => setTimeout(r, untilAfterNextMinute(15)));
    const after = [(await scheduledRuns(cronUrl, 'every-minute')).length, (await scheduledRuns(plainUrl, 'every-minute')).length];
    expect(after).toEqual(before);

    await query(cronUrl, `SELECT backup_mgmt.drop_backup_schedule('every-minute')`);
    const jobs = await query(cronUrl, `SELECT 1 FROM cron.job WHERE jobname = 'backup_mgmt:every-minute'`);
    expect(jobs).toEqual([]);
    // History is kept: the schedule's versions remain, the last one inactive.
    const versions = await query<{ is_active: boolean }>(
      cronUrl,
      `SELECT s.is_active FROM backup_mgmt.backup_schedule_s s JOIN backup_mgmt.backup_schedule_h h USING (schedule_hk)
        WHERE h.schedule_bk = 'every-minute' ORDER BY s.load_date`,
    );
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect(versions.at(-1)!.is_active).toBe(false);
  }, 240_000);
});
