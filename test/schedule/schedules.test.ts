// Backup schedules on a real cluster where pg_cron lives in another database
// (the harness preloads pg_cron for the postgres database; the pack is in
// bm_test): definitions with full history, the run_schedule() decisions on
// controlled data, run_due_schedules() as agents use it, and bad input.
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { usePackDatabase } from '../harness/pack.js';

const pack = usePackDatabase({ name: 'schedules' });
let client: pg.Client;

beforeAll(async () => {
  client = await pack.connect();
});

async function q<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await client.query<T>(sql, params)).rows;
}
async function one<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T> {
  const rows = await q<T>(sql, params);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}
async function failure(sql: string, params: unknown[] = []): Promise<{ code?: string; message?: string }> {
  try {
    await client.query(sql, params);
  } catch (e) {
    return e as { code?: string; message?: string };
  }
  throw new Error(`expected an error from: ${sql}`);
}

interface ScheduleRow {
  schedule_name: string;
  backup_type: string;
  schedule_expression: string;
  timezone: string;
  execution_window_start: string | null;
  execution_window_end: string | null;
  is_active: boolean;
  next_execution_time: Date | null;
  last_execution_time: Date | null;
  execution_count: number;
  cron_job_name: string | null;
  tags: { last_run?: { outcome: string; detail: string; backup_hk: string | null }; dropped_at?: string } | null;
}
const current = (name: string) => one<ScheduleRow>('SELECT * FROM backup_mgmt.backup_schedule_current WHERE schedule_name = $1', [name]);
const versions = async (name: string) =>
  Number((await one<{ n: string }>(`SELECT count(*) AS n FROM backup_mgmt.backup_schedule_s WHERE schedule_hk = backup_mgmt.hash_key($1)`, [name])).n);
const run = async (name: string) => (await one<{ r: string }>('SELECT backup_mgmt.run_schedule($1) AS r', [name])).r;
/** Controlled data: make a schedule due (its next run this long ago). */
const makeDue = (name: string, ago = '1 minute') =>
  q(`SELECT backup_mgmt.backup_schedule_s_load(backup_mgmt.hash_key($1),
        jsonb_build_object('next_execution_time', now() - $2::interval), 'test')`, [name, ago]);
/** The catalog as a fingerprint: any write changes it. */
const catalog = async () =>
  one(`SELECT (SELECT count(*) FROM backup_mgmt.backup_schedule_h) AS hubs,
              (SELECT md5(coalesce(string_agg(encode(hash_diff, 'hex') || coalesce(load_end_date::text, ''), ',' ORDER BY schedule_hk, load_date), ''))
                 FROM backup_mgmt.backup_schedule_s) AS sats,
              (SELECT count(*) FROM backup_mgmt.schedule_execution_l) AS links,
              (SELECT count(*) FROM backup_mgmt.backup_execution_h) AS backups,
              (SELECT count(*) FROM backup_mgmt.job) AS jobs`);
/** An Etc/GMT zone in which it is now about this local hour. */
function zoneAtLocalHour(hour: number): string {
  let k = (((hour - new Date().getUTCHours()) % 24) + 24) % 24;
  if (k > 14) k -= 24;
  return k === 0 ? 'Etc/GMT' : k > 0 ? `Etc/GMT-${k}` : `Etc/GMT+${-k}`;
}
const hasFunction = async (name: string) =>
  (await one<{ ok: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                                WHERE n.nspname = 'backup_mgmt' AND p.proname = $1) AS ok`, [name])).ok;

describe('defining schedules', () => {
  it('create stores hub and first version, next run from the cron expression, no pg_cron job here', async () => {
    const { hk } = await one<{ hk: Buffer }>(`SELECT backup_mgmt.create_backup_schedule('Nightly-Full', 'full', '0 2 * * *') AS hk`);
    const { expected } = await one<{ expected: Buffer }>(`SELECT backup_mgmt.hash_key('nightly-full') AS expected`);
    expect(hk.equals(expected)).toBe(true);
    const s = await current('nightly-full');
    expect(s).toMatchObject({
      backup_type: 'FULL', schedule_expression: '0 2 * * *', timezone: 'UTC', is_active: true, execution_count: 0,
      cron_job_name: null, // pg_cron lives in the postgres database, not here
    });
    expect(s.next_execution_time!.getUTCHours()).toBe(2);
    expect(s.next_execution_time!.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(s.next_execution_time!.getTime()).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);
    const hub = await one(`SELECT schedule_bk, tenant_hk, record_source FROM backup_mgmt.backup_schedule_h WHERE schedule_hk = $1`, [hk]);
    expect(hub).toEqual({ schedule_bk: 'nightly-full', tenant_hk: null, record_source: 'backup_mgmt.create_backup_schedule' });
  });

  it('get_next_scheduled_backups lists active schedules by next run', async () => {
    await q(`SELECT backup_mgmt.create_backup_schedule('every-5', 'HEALTH_CHECK', '*/5 * * * *', NULL, '30 days', '06:00', '05:00')`);
    const rows = await q<{ schedule_name: string; next_execution_time: Date; execution_window_start: string; execution_window_end: string }>(
      'SELECT * FROM backup_mgmt.get_next_scheduled_backups(10)');
    expect(rows.map((r) => r.schedule_name)).toEqual(['every-5', 'nightly-full']);
    expect(rows[0]).toMatchObject({ execution_window_start: '06:00:00', execution_window_end: '05:00:00' });
    expect(await q('SELECT * FROM backup_mgmt.get_next_scheduled_backups(1)')).toHaveLength(1);
    // the seed's own call
    expect(await q('SELECT backup_mgmt.get_next_scheduled_backups(1)')).toHaveLength(1);
    expect((await failure('SELECT * FROM backup_mgmt.get_next_scheduled_backups(0)')).code).toBe('22023');
    expect((await failure('SELECT * FROM backup_mgmt.get_next_scheduled_backups(NULL)')).code).toBe('22004');
  });

  it('the next-run query can use the partial index', async () => {
    await client.query('BEGIN');
    try {
      await client.query('SET LOCAL enable_seqscan = off');
      const plan = (await q<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT s.schedule_hk FROM backup_mgmt.backup_schedule_s AS s
         WHERE s.load_end_date IS NULL AND s.is_active AND s.next_execution_time IS NOT NULL
         ORDER BY s.next_execution_time LIMIT 10`)).map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain('idx_backup_schedule_s_next_execution');
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it('alter, pause, resume and drop each add a version; history is kept', async () => {
    await q(`SELECT backup_mgmt.alter_backup_schedule('nightly-full', p_cron_expression => '30 1 * * *', p_timezone => 'europe/berlin',
                                                       p_execution_window_start => '01:00', p_execution_window_end => '05:00')`);
    let s = await current('nightly-full');
    expect(s).toMatchObject({ schedule_expression: '30 1 * * *', timezone: 'Europe/Berlin', execution_window_start: '01:00:00', execution_window_end: '05:00:00' });
    const { expected } = await one<{ expected: Date }>(`SELECT backup_mgmt.cron_next('30 1 * * *', now(), 'Europe/Berlin') AS expected`);
    expect(s.next_execution_time).toEqual(expected);

    // the same values again: no new version
    const before = await versions('nightly-full');
    await q(`SELECT backup_mgmt.alter_backup_schedule('nightly-full', p_cron_expression => '30 1 * * *')`);
    expect(await versions('nightly-full')).toBe(before);

    await q(`SELECT backup_mgmt.pause_backup_schedule('NIGHTLY-FULL')`);
    s = await current('nightly-full');
    expect(s).toMatchObject({ is_active: false, next_execution_time: null });
    expect((await q('SELECT * FROM backup_mgmt.get_next_scheduled_backups()')).map((r) => r.schedule_name)).toEqual(['every-5']);
    expect(await run('nightly-full')).toBe('skipped: paused');
    await q(`SELECT backup_mgmt.pause_backup_schedule('nightly-full')`);
    expect(await versions('nightly-full')).toBe(before + 1);

    await q(`SELECT backup_mgmt.resume_backup_schedule('nightly-full')`);
    s = await current('nightly-full');
    expect(s.is_active).toBe(true);
    expect(s.next_execution_time!.getTime()).toBeGreaterThan(Date.now() - 60_000);

    await q(`SELECT backup_mgmt.alter_backup_schedule('nightly-full', p_clear_execution_window => true)`);
    expect(await current('nightly-full')).toMatchObject({ execution_window_start: null, execution_window_end: null });

    await q(`SELECT backup_mgmt.drop_backup_schedule('nightly-full')`);
    s = await current('nightly-full');
    expect(s).toMatchObject({ is_active: false, next_execution_time: null, cron_job_name: null });
    expect(s.tags?.dropped_at).toBeTruthy();
    expect(await run('nightly-full')).toBe('skipped: dropped');
    expect((await failure(`SELECT backup_mgmt.alter_backup_schedule('nightly-full', '0 3 * * *')`)).code).toBe('42704');
    expect((await failure(`SELECT backup_mgmt.resume_backup_schedule('nightly-full')`)).code).toBe('42704');

    const history = await q<{ schedule_expression: string; is_active: boolean; load_end_date: Date | null }>(
      `SELECT schedule_expression, is_active, load_end_date FROM backup_mgmt.backup_schedule_s
        WHERE schedule_hk = backup_mgmt.hash_key('nightly-full') ORDER BY load_date`);
    expect(history.map((h) => [h.schedule_expression, h.is_active])).toEqual([
      ['0 2 * * *', true], ['30 1 * * *', true], ['30 1 * * *', false], ['30 1 * * *', true], ['30 1 * * *', true], ['30 1 * * *', false],
    ]);
    expect(history.filter((h) => h.load_end_date === null)).toHaveLength(1);

    // the name can be defined again: same hub, a new version, dropped marker gone
    await q(`SELECT backup_mgmt.create_backup_schedule('nightly-full', 'FULL', '0 2 * * *')`);
    s = await current('nightly-full');
    expect(s.is_active).toBe(true);
    expect(s.tags?.dropped_at).toBeUndefined();
    expect(await versions('nightly-full')).toBe(history.length + 1);
    expect(Number((await one<{ n: string }>(`SELECT count(*) AS n FROM backup_mgmt.backup_schedule_h WHERE schedule_bk = 'nightly-full'`)).n)).toBe(1);
  });

  it('a name in use is refused with 42710 and nothing written', async () => {
    const before = await catalog();
    expect((await failure(`SELECT backup_mgmt.create_backup_schedule('NIGHTLY-full', 'CLEANUP', '0 3 * * *')`)).code).toBe('42710');
    expect(await catalog()).toEqual(before);
  });

  it('create_default_schedules creates the seed defaults once', async () => {
    const first = await q<{ hk: Buffer }>('SELECT backup_mgmt.create_default_schedules() AS hk');
    expect(first).toHaveLength(4);
    const defaults = await q<ScheduleRow>(
      `SELECT * FROM backup_mgmt.backup_schedule_current WHERE schedule_name IN ('daily-full', 'incremental-4h', 'weekly-cleanup', 'health-check') ORDER BY schedule_name`);
    expect(defaults.map((d) => [d.schedule_name, d.backup_type, d.schedule_expression])).toEqual([
      ['daily-full', 'FULL', '0 2 * * *'],
      ['health-check', 'HEALTH_CHECK', '*/30 * * * *'],
      ['incremental-4h', 'INCREMENTAL', '0 */4 * * *'],
      ['weekly-cleanup', 'CLEANUP', '0 3 * * 0'],
    ]);
    const before = await catalog();
    const second = await q<{ hk: Buffer }>('SELECT backup_mgmt.create_default_schedules() AS hk');
    expect(second.map((r) => r.hk.toString('hex'))).toEqual(first.map((r) => r.hk.toString('hex')));
    expect(await catalog()).toEqual(before);
  });

  it('a tenant schedule keeps its tenant; physical backups cannot be tenant-scoped', async () => {
    await q(`SELECT backup_mgmt.create_backup_schedule('tenant-a-cleanup', 'CLEANUP', '0 4 * * *', backup_mgmt.hash_key('tenant-a'))`);
    const row = await one<{ tenant_id: Buffer }>(`SELECT tenant_id FROM backup_mgmt.get_next_scheduled_backups(100) WHERE schedule_name = 'tenant-a-cleanup'`);
    expect(row.tenant_id.equals((await one<{ k: Buffer }>(`SELECT backup_mgmt.hash_key('tenant-a') AS k`)).k)).toBe(true);
    const before = await catalog();
    for (const type of ['FULL', 'INCREMENTAL']) {
      expect((await failure(`SELECT backup_mgmt.create_backup_schedule('t-' || lower($1), $1, '0 4 * * *', backup_mgmt.hash_key('tenant-a'))`, [type])).code).toBe('0A000');
    }
    expect(await catalog()).toEqual(before);
  });
});

describe('bad input', () => {
  const create = `SELECT backup_mgmt.create_backup_schedule($1, $2, $3, $4::bytea, $5::interval, $6::time, $7::time)`;
  const cases: [string, string, unknown[]][] = [
    ['name with a quote', '22023', ["it's", 'FULL', '0 2 * * *']],
    ['name with ../', '22023', ['../etc', 'FULL', '0 2 * * *']],
    ['name with a slash', '22023', ['a/b', 'FULL', '0 2 * * *']],
    ['name with a newline', '22023', ['a\nb', 'FULL', '0 2 * * *']],
    ['name with a NUL-like control character', '22023', ['a\u0001b', 'FULL', '0 2 * * *']],
    ['name with a space', '22023', ['a b', 'FULL', '0 2 * * *']],
    ['name with SQL', '22023', ["x'); DROP TABLE backup_mgmt.job; --", 'FULL', '0 2 * * *']],
    ['non-ASCII name', '22023', ['nächtlich', 'FULL', '0 2 * * *']],
    ['Kelvin-sign name', '22023', ['\u212Aelvin', 'FULL', '0 2 * * *']],
    ['name of 64 characters', '22023', ['a'.repeat(64), 'FULL', '0 2 * * *']],
    ['oversized name', '22023', ['a'.repeat(5000), 'FULL', '0 2 * * *']],
    ['empty name', '22023', ['', 'FULL', '0 2 * * *']],
    ['name starting with -', '22023', ['-x', 'FULL', '0 2 * * *']],
    ['NULL name', '22004', [null, 'FULL', '0 2 * * *']],
    ['unknown type', '22023', ['ok-name', 'SNAPSHOT', '0 2 * * *']],
    ['oversized type', '22023', ['ok-name', 'F'.repeat(500), '0 2 * * *']],
    ['NULL type', '22004', ['ok-name', null, '0 2 * * *']],
    ['differential', '0A000', ['ok-name', 'DIFFERENTIAL', '0 2 * * *']],
    ['invalid cron', '22023', ['ok-name', 'FULL', '61 2 * * *']],
    ['cron with seconds', '22023', ['ok-name', 'FULL', '0 0 2 * * *']],
    ['cron with SQL', '22023', ['ok-name', 'FULL', "0 2 * * *'; SELECT 1; --"]],
    ['NULL cron', '22004', ['ok-name', 'FULL', null]],
    ['tenant key of the wrong size', '22023', ['ok-name', 'CLEANUP', '0 2 * * *', '\\x0102']],
    ['negative retention', '22023', ['ok-name', 'FULL', '0 2 * * *', null, '-1 day']],
    ['window end == start', '22023', ['ok-name', 'FULL', '0 2 * * *', null, '7 years', '02:00', '02:00']],
    ['window without end', '22023', ['ok-name', 'FULL', '0 2 * * *', null, '7 years', '02:00', null]],
    ['window with seconds', '22023', ['ok-name', 'FULL', '0 2 * * *', null, '7 years', '02:00:30', '04:00']],
  ];

  it.each(cases)('create_backup_schedule: %s -> %s, nothing written', async (_what, code, args) => {
    const params = [...args, ...Array(7 - args.length).fill(null)];
    if (args.length < 5) params[4] = '7 years';
    const before = await catalog();
    expect((await failure(create, params)).code).toBe(code);
    expect(await catalog()).toEqual(before);
  });

  it('the other functions check names and values the same way, writing nothing', async () => {
    const before = await catalog();
    for (const fn of ['pause_backup_schedule', 'resume_backup_schedule', 'drop_backup_schedule', 'run_schedule', 'alter_backup_schedule']) {
      expect((await failure(`SELECT backup_mgmt.${fn}($1)`, ["x'; --"])).code, fn).toBe('22023');
      expect((await failure(`SELECT backup_mgmt.${fn}($1)`, ['../../etc'])).code, fn).toBe('22023');
      expect((await failure(`SELECT backup_mgmt.${fn}($1)`, [null])).code, fn).toBe('22004');
      expect((await failure(`SELECT backup_mgmt.${fn}($1)`, ['no-such-schedule'])).code, fn).toBe('42704');
    }
    const alter = (args: string) => failure(`SELECT backup_mgmt.alter_backup_schedule('every-5', ${args})`);
    expect((await alter(`p_timezone => '+03'`)).code).toBe('22023');
    expect((await alter(`p_timezone => 'Mars/Olympus'`)).code).toBe('22023');
    expect((await alter(`p_timezone => 'PST'`)).code).toBe('22023');
    expect((await alter(`p_cron_expression => '* * * * 8'`)).code).toBe('22023');
    expect((await alter(`p_backup_type => 'NOPE'`)).code).toBe('22023');
    expect((await alter(`p_execution_window_start => '01:00', p_execution_window_end => '01:00'`)).code).toBe('22023');
    expect((await alter(`p_execution_window_start => '01:00'`)).code).toBe('22023');
    expect((await alter(`p_clear_execution_window => true, p_execution_window_start => '01:00', p_execution_window_end => '02:00'`)).code).toBe('22023');
    expect((await alter(`p_description => E'bell\\x07'`)).code).toBe('22023');
    expect((await alter(`p_retention_period => '0 days'`)).code).toBe('22023');
    expect(await catalog()).toEqual(before);
  });
});

describe('run_schedule decisions', () => {
  it('a schedule that is not due is left alone, without a new version', async () => {
    await q(`SELECT backup_mgmt.create_backup_schedule('hourly-check', 'HEALTH_CHECK', '0 * * * *')`);
    const before = await versions('hourly-check');
    expect(await run('hourly-check')).toMatch(/^skipped: not due until /);
    expect(await versions('hourly-check')).toBe(before);
  });

  it('a missed run is made up once, and the next slot is counted from now', async () => {
    await makeDue('hourly-check', '3 days'); // 72 missed hourly slots
    const result = await run('hourly-check');
    expect(result).not.toMatch(/^(skipped: not due|deferred)/);
    const s = await current('hourly-check');
    expect(s.tags?.last_run).toBeTruthy();
    const next = s.next_execution_time!.getTime();
    expect(next).toBeGreaterThan(Date.now() - 5_000);
    expect(next).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect(new Date(next).getUTCMinutes()).toBe(0);
    expect(await run('hourly-check')).toMatch(/^skipped: not due until /);
  });

  it('a type whose work function is not installed is skipped with a clear message and recorded', async () => {
    const types: [string, string, string][] = [
      ['INCREMENTAL', 'create_incremental_backup', 'incremental backups not available'],
      ['DRILL', 'create_restore_drill', 'restore drills not available'],
      ['HEALTH_CHECK', 'health_check', 'health checks not available'],
    ];
    let tested = 0;
    for (const [type, fn, message] of types) {
      if (await hasFunction(fn)) continue;
      const name = `missing-${type.toLowerCase().replace('_', '-')}`;
      await q(`SELECT backup_mgmt.create_backup_schedule($1, $2, '0 4 * * *')`, [name, type]);
      await makeDue(name);
      const before = await versions(name);
      expect(await run(name)).toMatch(new RegExp(`^skipped: ${message} \\(backup_mgmt\\.${fn}\\(\\) is not installed\\)$`));
      const s = await current(name);
      expect(s.tags?.last_run).toMatchObject({ outcome: 'SKIPPED' });
      expect(s.execution_count).toBe(0);
      expect(s.next_execution_time!.getTime()).toBeGreaterThan(Date.now() - 5_000);
      expect(await versions(name)).toBe(before + 1);
      tested++;
    }
    if (tested === 0) console.log('[schedules] every work function is installed; the not-installed path was not exercised');
  });

  it('FULL: starts a backup, links it, then skips while that backup is still pending', async () => {
    await q(`SELECT backup_mgmt.set_setting('repository.root', '/var/tmp/bm-schedule-test-repo')`);
    await q(`SELECT backup_mgmt.create_backup_schedule('full-run', 'FULL', '15 3 * * *')`);
    await makeDue('full-run');
    const started = await run('full-run');
    expect(started).toMatch(/^started: full backup FULL_BACKUP_SYSTEM_\d{8}_\d{6}/);
    const links = await q<{ backup_bk: string; backup_status: string }>(
      `SELECT h.backup_bk, c.backup_status FROM backup_mgmt.schedule_execution_l AS l
         JOIN backup_mgmt.backup_execution_h AS h ON h.backup_hk = l.backup_hk
         JOIN backup_mgmt.backup_execution_current AS c ON c.backup_hk = l.backup_hk
        WHERE l.schedule_hk = backup_mgmt.hash_key('full-run')`);
    expect(links).toHaveLength(1);
    expect(started).toContain(links[0]!.backup_bk);
    expect(links[0]!.backup_status).toBe('PENDING');
    let s = await current('full-run');
    expect(s).toMatchObject({ execution_count: 1 });
    expect(s.last_execution_time).not.toBeNull();
    expect(s.tags?.last_run).toMatchObject({ outcome: 'STARTED' });

    await makeDue('full-run');
    const before = await catalog();
    expect(await run('full-run')).toBe(`skipped: previous run still running (backup ${links[0]!.backup_bk} is PENDING)`);
    s = await current('full-run');
    expect(s.tags?.last_run).toMatchObject({ outcome: 'SKIPPED' });
    expect(s.execution_count).toBe(1);
    const after = await catalog();
    expect([after.links, after.backups, after.jobs]).toEqual([before.links, before.backups, before.jobs]);

    // once that backup has finished, the next due run starts a new one
    await q(`SELECT backup_mgmt.backup_execution_s_load(l.backup_hk,
                jsonb_build_object('backup_status', 'COMPLETED', 'backup_end_time', clock_timestamp()), 'test')
               FROM backup_mgmt.schedule_execution_l AS l WHERE l.schedule_hk = backup_mgmt.hash_key('full-run')`);
    await makeDue('full-run');
    expect(await run('full-run')).toMatch(/^started: full backup /);
    expect((await current('full-run')).execution_count).toBe(2);
    expect(Number((await one<{ n: string }>(`SELECT count(*) AS n FROM backup_mgmt.schedule_execution_l WHERE schedule_hk = backup_mgmt.hash_key('full-run')`)).n)).toBe(2);
  });

  it('a failure of the work is recorded and the schedule moves on', async () => {
    await q(`SELECT backup_mgmt.set_setting('repository.root', NULL)`);
    await q(`SELECT backup_mgmt.create_backup_schedule('full-no-repo', 'FULL', '45 3 * * *')`);
    await makeDue('full-no-repo');
    const before = await catalog();
    const result = await run('full-no-repo');
    expect(result).toMatch(/^failed: .* \(SQLSTATE 55000\)$/);
    const s = await current('full-no-repo');
    expect(s.tags?.last_run).toMatchObject({ outcome: 'FAILED' });
    expect(s.next_execution_time!.getTime()).toBeGreaterThan(Date.now() - 5_000);
    const after = await catalog();
    expect([after.links, after.backups, after.jobs]).toEqual([before.links, before.backups, before.jobs]);
  });

  it('due outside its window: deferred to the window start and recorded', async () => {
    const zone = zoneAtLocalHour(12);
    await q(`SELECT backup_mgmt.create_backup_schedule('windowed', 'CLEANUP', '* * * * *', NULL, '7 years', '01:00', '03:00')`);
    await q(`SELECT backup_mgmt.alter_backup_schedule('windowed', p_timezone => $1)`, [zone]);
    await makeDue('windowed');
    const result = await run('windowed');
    expect(result).toMatch(/^deferred: outside execution window 01:00-03:00 /);
    const s = await current('windowed');
    const { expected } = await one<{ expected: Date }>(`SELECT backup_mgmt.cron_next('0 1 * * *', now(), $1) AS expected`, [zone]);
    expect(s.next_execution_time).toEqual(expected);
    expect(s.tags?.last_run).toMatchObject({ outcome: 'DEFERRED' });
    expect(s.execution_count).toBe(0);
    expect(await run('windowed')).toMatch(/^skipped: not due until /);
  });

  it('windows across midnight: deferred outside them, run inside them', async () => {
    await q(`SELECT backup_mgmt.create_backup_schedule('night-window', 'CLEANUP', '* * * * *', NULL, '7 years', '22:00', '04:00')`);
    // about noon local: outside 22:00-04:00
    let zone = zoneAtLocalHour(12);
    await q(`SELECT backup_mgmt.alter_backup_schedule('night-window', p_timezone => $1)`, [zone]);
    await makeDue('night-window');
    expect(await run('night-window')).toMatch(/^deferred: outside execution window 22:00-04:00 /);
    const { expected } = await one<{ expected: Date }>(`SELECT backup_mgmt.cron_next('0 22 * * *', now(), $1) AS expected`, [zone]);
    expect((await current('night-window')).next_execution_time).toEqual(expected);
    // about 23:00 local: inside
    zone = zoneAtLocalHour(23);
    await q(`SELECT backup_mgmt.alter_backup_schedule('night-window', p_timezone => $1)`, [zone]);
    await makeDue('night-window');
    const result = await run('night-window');
    expect(result).not.toMatch(/^(deferred|skipped: not due)/);
    expect((await current('night-window')).tags?.last_run?.outcome).not.toBe('DEFERRED');
    // about 01:00 local (after midnight, before the end): inside
    zone = zoneAtLocalHour(1);
    await q(`SELECT backup_mgmt.alter_backup_schedule('night-window', p_timezone => $1)`, [zone]);
    await makeDue('night-window');
    expect(await run('night-window')).not.toMatch(/^(deferred|skipped: not due)/);
  });
});

describe('run_due_schedules (agents without pg_cron)', () => {
  it('runs what is due, once, even with two agents at the same time', async () => {
    // only the two schedules of this test may be due
    await q(`SELECT backup_mgmt.pause_backup_schedule(schedule_name) FROM backup_mgmt.backup_schedule_current WHERE is_active`);
    for (const name of ['agent-a', 'agent-b']) {
      await q(`SELECT backup_mgmt.create_backup_schedule($1, 'CLEANUP', '0 5 * * *')`, [name]);
      await makeDue(name, '2 hours');
    }
    const agent1 = new pg.Client(pack.url());
    const agent2 = new pg.Client(pack.url());
    await agent1.connect();
    await agent2.connect();
    try {
      await agent1.query('BEGIN');
      const first = Number((await agent1.query<{ n: number }>('SELECT backup_mgmt.run_due_schedules() AS n')).rows[0]!.n);
      // agent 1 still holds both schedules: agent 2 skips them instead of waiting
      const second = Number((await agent2.query<{ n: number }>('SELECT backup_mgmt.run_due_schedules() AS n')).rows[0]!.n);
      await agent1.query('COMMIT');
      const third = Number((await agent2.query<{ n: number }>('SELECT backup_mgmt.run_due_schedules() AS n')).rows[0]!.n);
      expect([first, second, third]).toEqual([2, 0, 0]);
    } finally {
      await agent1.end();
      await agent2.end();
    }
    for (const name of ['agent-a', 'agent-b']) {
      const runs = await one<{ n: string }>(`SELECT count(DISTINCT tags->'last_run'->>'at') AS n FROM backup_mgmt.backup_schedule_s
                                              WHERE schedule_hk = backup_mgmt.hash_key($1) AND tags ? 'last_run'`, [name]);
      expect(Number(runs.n)).toBe(1);
      expect((await current(name)).next_execution_time!.getTime()).toBeGreaterThan(Date.now());
    }
  });
});
