// What an operator reads about schedules (issue #13): next runs and
// backup-age thresholds follow the execution window; pg_cron installed after
// the schedules were defined gets their jobs from `migrate up`, and the
// cron_jobs health check counts the jobs the schedules need, not those that
// exist.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateUp } from '../../src/migrate/runner.js';
import { useCluster } from '../harness/cluster.js';

const cluster = useCluster({ name: 'sched-operator' });
let client: pg.Client;
let url: string;

beforeAll(async () => {
  // The pack first, pg_cron later: the order a DBA who enables pg_cron afterwards has.
  url = cluster().connectionString('postgres');
  await migrateUp(url);
  client = await cluster().connect('postgres');
});
afterAll(async () => {
  await client?.end();
});

const one = async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []) => (await client.query<T>(text, params)).rows[0]!;
const hhmm = (d: Date) => d.toISOString().slice(11, 16);

describe('execution windows', () => {
  it('get_next_scheduled_backups shows the run at the window, not a slot outside it', async () => {
    await client.query(`SELECT backup_mgmt.create_backup_schedule('every4h', 'FULL', '0 */4 * * *', NULL, '7 days', '01:00', '05:00')`);
    await client.query(`SELECT backup_mgmt.create_backup_schedule('hourly-late', 'INCREMENTAL', '0 * * * *', NULL, '7 days', '23:00', '23:30')`);
    const rows = (await client.query<{ schedule_name: string; next_execution_time: Date }>(
      `SELECT schedule_name, next_execution_time FROM backup_mgmt.get_next_scheduled_backups(10)`)).rows;
    const next = Object.fromEntries(rows.map((r) => [r.schedule_name, r.next_execution_time]));
    // 0 */4 inside 01:00-05:00: a slot outside (08:00, 12:00 …) is deferred to 01:00; 04:00 runs as it is.
    expect(['01:00', '04:00']).toContain(hhmm(next['every4h']!));
    expect(hhmm(next['hourly-late']!)).toBe('23:00');
    for (const t of Object.values(next)) {
      expect(t.getTime()).toBeGreaterThan(Date.now() - 1000);
      expect(t.getTime()).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);
    }
    // The deferral run_schedule() applies to a slot outside the window lands at the same time.
    const { at } = await one<{ at: Date }>(
      `SELECT backup_mgmt._schedule_next_run('0 */4 * * *', '2026-12-07 05:30+00', 'UTC', '01:00', '05:00') AS at`);
    expect(at.toISOString()).toBe('2026-12-08T01:00:00.000Z');
  });

  it('full_backup_age measures an hourly schedule with a 30-minute window in days, not hours', async () => {
    // A full backup that ended at 23:10 today (UTC), as the window allows.
    const ended = new Date();
    ended.setUTCHours(23, 10, 0, 0);
    if (ended.getTime() > Date.now()) ended.setUTCDate(ended.getUTCDate() - 1);
    await client.query(`SELECT backup_mgmt.drop_backup_schedule('every4h')`);
    await client.query(`SELECT backup_mgmt.create_backup_schedule('hourly-full', 'FULL', '0 * * * *', NULL, '7 days', '23:00', '23:30')`);
    const { threshold } = await one<{ threshold: string }>(
      `SELECT threshold FROM backup_mgmt._health_backup_age('FULL')`);
    // No backup yet: the threshold is in schedule intervals.
    expect(threshold).toBe('warning > 1.5, critical > 3 schedule intervals');
    const hk = Buffer.alloc(32, 7);
    await client.query(`INSERT INTO backup_mgmt.backup_execution_h (backup_hk, backup_bk, record_source) VALUES ($1, 'FULL_BACKUP_SYSTEM_20261122_010000_000001', 'test')`, [hk]);
    await client.query(`SELECT backup_mgmt.backup_execution_s_load($1, $2::jsonb)`, [
      hk,
      JSON.stringify({ backup_type: 'FULL', backup_scope: 'SYSTEM', backup_method: 'PG_BASEBACKUP', backup_location: '/repo', backup_status: 'COMPLETED', verification_status: 'VERIFIED', backup_start_time: new Date(ended.getTime() - 60_000), backup_end_time: ended }),
    ]);
    const c = await one<{ status: string; threshold: string; detail: string }>(`SELECT status, threshold, detail FROM backup_mgmt._health_backup_age('FULL')`);
    // Next runs 23:00 tomorrow and the day after: 1.5 and 3 days, not 31 min and 2 h.
    expect(c.threshold).toMatch(/^warning > 1 d 11 h(?: \d+ min)?, critical > 2 d 23 h(?: \d+ min)?$/);
    expect(c.status).toBe('OK');
    expect(c.detail).toContain('(0 * * * * UTC window 23:00-23:30, every 1 d there)');
  });
});

describe('pg_cron enabled after the schedules were defined', () => {
  it('health counts the jobs the schedules need; migrate up registers them', async () => {
    await client.query(`CREATE EXTENSION pg_cron`);
    let c = await one<{ status: string; value: string; detail: string }>(`SELECT status, value, detail FROM backup_mgmt._health_cron_jobs()`);
    expect(c.status).toBe('WARNING');
    expect(c.value).toBe('2 of 2 jobs missing, 0 inactive, 0 failing');
    expect(c.detail).toContain('run backup-mgmt migrate up');

    const r = await migrateUp(url);
    expect(r.cronJobsRegistered.sort()).toEqual(['backup_mgmt:hourly-full', 'backup_mgmt:hourly-late']);
    const jobs = (await client.query<{ jobname: string; active: boolean }>(`SELECT jobname, active FROM cron.job ORDER BY jobname`)).rows;
    expect(jobs).toEqual([
      { jobname: 'backup_mgmt:hourly-full', active: true },
      { jobname: 'backup_mgmt:hourly-late', active: true },
    ]);
    c = await one(`SELECT status, value, detail FROM backup_mgmt._health_cron_jobs()`);
    expect(c).toMatchObject({ status: 'OK', value: '0 of 2 jobs missing, 0 inactive, 0 failing' });
    // Idempotent: nothing more to register.
    expect((await migrateUp(url)).cronJobsRegistered).toEqual([]);
  });
});
