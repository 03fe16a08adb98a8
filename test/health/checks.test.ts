// health_check() on a real cluster that archives WAL: every check starts OK
// on a healthy history, turns WARNING/CRITICAL when its condition is
// provoked (archiving stopped, a backup failed, the agent silent, ...) and
// is OK again once the condition is fixed. The tests run in order on one
// database; each leaves every check OK for the next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installedDatabase } from '../harness/pack.js';
import { useCluster } from '../harness/cluster.js';
import { AGENT, DAY, HOUR, HealthDb, LAST_SEG, ago, segName, sqlState, waitFor } from './helpers.js';

const cluster = useCluster({ name: 'health', pgCron: false, settings: { archive_mode: 'on', archive_command: 'true' } });
let db: HealthDb;
let b2: { hk: Buffer; bk: string };

beforeAll(async () => {
  db = await HealthDb.open(await installedDatabase(cluster(), 'health'));
});
afterAll(async () => {
  await db?.close();
});

/** ALTER SYSTEM + reload, as a DBA changes archive_command. */
async function archiveCommand(cmd: string): Promise<void> {
  await db.q(`ALTER SYSTEM SET archive_command = ${cmd === '' ? "''" : `'${cmd.replace(/'/g, "''")}'`}`);
  await db.q('SELECT pg_reload_conf()');
  await waitFor('archive_command to change', async () => (await db.one('SHOW archive_command')).archive_command === cmd);
}

/** A new WAL segment with row `n` in it, switched; then the wal_archiving check once it reports `status`. */
async function walArchivingAfterSwitch(n: number, status: string, what: string) {
  await db.q('INSERT INTO public.health_wal_filler VALUES ($1)', [n]);
  await db.q('SELECT pg_switch_wal()');
  return waitFor(what, async () => {
    const c = await db.check('wal_archiving');
    return c.status === status && c;
  });
}

describe('a fresh install', () => {
  it('says what is missing: no backup, no WAL, no agent, no drill; the rest is OK', async () => {
    const h = await db.health(false);
    expect(Object.keys(h)).toEqual([
      'full_backup_age', 'incremental_backup_age', 'failed_backups', 'wal_archiving', 'rpo', 'recovery_window',
      'verification', 'restore_drill', 'agent_heartbeat', 'pending_approvals', 'cron_jobs', 'repository_space', 'policy_drift',
      'wal_integrity', 'leftovers', 'repository_copies', 'stream_slot',
    ]);
    expect(Object.fromEntries(Object.values(h).map((r) => [r.check_name, r.status]))).toEqual({
      full_backup_age: 'CRITICAL', incremental_backup_age: 'OK', failed_backups: 'OK', wal_archiving: 'OK', rpo: 'CRITICAL',
      recovery_window: 'CRITICAL', verification: 'OK', restore_drill: 'OK', agent_heartbeat: 'CRITICAL',
      pending_approvals: 'OK', cron_jobs: 'OK', repository_space: 'OK', policy_drift: 'OK', wal_integrity: 'OK', leftovers: 'OK', repository_copies: 'OK', stream_slot: 'OK',
    });
    expect(h.stream_slot).toMatchObject({ value: 'no slot', detail: 'WAL streaming is off (wal.streaming)' });
    expect(h.full_backup_age).toMatchObject({ value: 'never', threshold: 'warning > 1 d 2 h, critical > 2 d 2 h' });
    expect(h.incremental_backup_age!.detail).toBe('no incremental backup is scheduled or has been taken');
    expect(h.agent_heartbeat!.detail).toMatch(/no agent has ever registered/);
    // Nothing could have been drilled yet: due health.drill_max_age after the install.
    expect(h.restore_drill).toMatchObject({ value: 'never' });
    expect(h.restore_drill!.detail).toMatch(/^no restore drill yet; the first is due by \S+Z \(installed \S+Z \+ health.drill_max_age\)/);
    // Installed longer ago than health.drill_max_age (30 days) without a drill: now it is overdue.
    await db.q(`UPDATE backup_mgmt.pgmigrations SET run_on = run_on - interval '31 days'`);
    try {
      expect((await db.health(false)).restore_drill).toMatchObject({ status: 'WARNING', value: 'never' });
    } finally {
      await db.q(`UPDATE backup_mgmt.pgmigrations SET run_on = run_on + interval '31 days'`);
    }
    expect(h.cron_jobs!.detail).toMatch(/pg_cron is not installed in this database/);
    expect(h.repository_space).toMatchObject({ value: 'not reported' });
    expect(await db.one('SELECT * FROM backup_mgmt.health_summary()')).toEqual({
      status: 'CRITICAL', checks: 17, ok: 13, warning: 0, critical: 4,
      problems: 'full_backup_age=CRITICAL, rpo=CRITICAL, recovery_window=CRITICAL, agent_heartbeat=CRITICAL',
    });
  });

  it('is all OK on a healthy history', async () => {
    ({ b2 } = await db.baseline());
    await db.expectAllOk();
    const h = await db.health();
    expect(h.full_backup_age!.detail).toContain(`newest: ${b2.bk}`);
    expect(h.full_backup_age!.value).toMatch(/^(59 min|1 h)/);
    expect(h.rpo!.value).toMatch(/^3\d s$/);
    expect(h.recovery_window!.value).toMatch(/^(1 d 23 h|2 d)$/);
    expect(h.repository_space).toMatchObject({ value: '50.0% free' });
    // The window the checks compute from indexes is the recoverability view's.
    const view = await db.one('SELECT * FROM backup_mgmt.recoverable_window()');
    expect(await db.one('SELECT * FROM backup_mgmt._health_recoverability()')).toEqual({
      timeline_id: view.timeline_id, newest_segment: view.newest_segment, newest_archived_at: view.newest_archived_at,
      earliest_recoverable_time: view.earliest_recoverable_time, earliest_backup_bk: view.earliest_backup_bk,
      latest_recoverable_time: view.latest_recoverable_time, missing_segments: '0', first_missing_segment: null,
    });
    expect(view.missing_segments).toBe('0');
    expect(await db.one('SELECT * FROM backup_mgmt.health_summary()')).toEqual({ status: 'OK', checks: 17, ok: 17, warning: 0, critical: 0, problems: null });
  });
});

describe('each check', () => {
  it('full_backup_age: late against its schedule (1.5 and 3 intervals) or the settings; a new backup fixes it', async () => {
    // B2 ended an hour ago. Every 30 min: the first run after it is 30-60 min
    // ago, so 1.5 intervals have passed and 3 have not.
    await db.q(`SELECT backup_mgmt.create_backup_schedule('hc-full', 'FULL', '*/30 * * * *')`);
    let c = await db.check('full_backup_age');
    expect(c).toMatchObject({ status: 'WARNING', threshold: expect.stringMatching(/^warning > \d+ min( \d+ s)?, critical > \d+ (min|h)/) });
    expect(c.detail).toContain('schedule hc-full (*/30 * * * * UTC, every 30 min there)');
    // Every 20 min: 3 intervals have passed.
    await db.q(`SELECT backup_mgmt.alter_backup_schedule('hc-full', p_cron_expression => '*/20 * * * *')`);
    expect((await db.check('full_backup_age')).status).toBe('CRITICAL');
    // A weekday-only or rarer schedule is not late: every 2 hours.
    await db.q(`SELECT backup_mgmt.alter_backup_schedule('hc-full', p_cron_expression => '0 */2 * * *')`);
    expect((await db.check('full_backup_age')).status).toBe('OK');
    await db.q(`SELECT backup_mgmt.pause_backup_schedule('hc-full')`);

    // No active schedule: the settings (26 h / 50 h by default).
    await db.setSetting('health.full_backup_warning_age', '30 minutes');
    c = await db.check('full_backup_age');
    expect(c).toMatchObject({ status: 'WARNING', threshold: 'warning > 30 min, critical > 2 d 2 h' });
    expect(c.detail).toMatch(/no active FULL schedule/);
    await db.setSetting('health.full_backup_critical_age', '45 minutes');
    expect((await db.check('full_backup_age')).status).toBe('CRITICAL');

    // A backup whose verification failed does not count; a good one fixes it.
    const bad = await db.fullBackup(LAST_SEG, 20, 'FAILED');
    expect((await db.check('full_backup_age')).detail).toContain(`newest: ${b2.bk}`);
    await db.verify(bad.hk, 'VERIFIED');
    c = await db.check('full_backup_age');
    expect(c.status).toBe('OK');
    expect(c.detail).toContain(`newest: ${bad.bk}`);
    await db.setSetting('health.full_backup_warning_age', null);
    await db.setSetting('health.full_backup_critical_age', null);
    await db.q(`SELECT backup_mgmt.drop_backup_schedule('hc-full')`);
    await db.expectAllOk();
  });

  it('incremental_backup_age: scheduled but never taken is CRITICAL; without schedule and backups OK', async () => {
    await db.q(`SELECT backup_mgmt.create_backup_schedule('hc-incr', 'INCREMENTAL', '0 */4 * * *')`);
    const c = await db.check('incremental_backup_age');
    expect(c).toMatchObject({ status: 'CRITICAL', value: 'never', threshold: 'warning > 1.5, critical > 3 schedule intervals' });
    expect(c.detail).toContain('scheduled by hc-incr (0 */4 * * * UTC)');
    await db.q(`SELECT backup_mgmt.drop_backup_schedule('hc-incr')`);
    expect((await db.check('incremental_backup_age')).status).toBe('OK');
  });

  it('failed_backups: WARNING from one failure, CRITICAL at the setting; OK once out of the window', async () => {
    await db.q('SELECT * FROM backup_mgmt.create_full_backup()');
    const job = await db.claim(['BACKUP']);
    await db.q('SELECT backup_mgmt.fail_job($1, $2, $3, false)', [job.job_id, AGENT, 'pg_basebackup: could not connect to server']);
    let c = await db.check('failed_backups');
    expect(c).toMatchObject({ status: 'WARNING', value: '1', threshold: 'warning >= 1, critical >= 3 (in 1 d)' });
    expect(c.detail).toMatch(/^newest: full backup FULL_\S+ failed \S+Z: pg_basebackup: could not connect to server$/);
    await db.setSetting('health.failed_backups_critical', '1');
    expect((await db.check('failed_backups')).status).toBe('CRITICAL');
    await db.setSetting('health.failed_backups_critical', null);
    // A day later the failure no longer counts.
    await db.q(`UPDATE backup_mgmt.backup_execution_s
                   SET backup_start_time = backup_start_time - interval '2 days', backup_end_time = backup_end_time - interval '2 days'
                 WHERE load_end_date IS NULL AND backup_status = 'FAILED'`);
    c = await db.check('failed_backups');
    expect(c).toMatchObject({ status: 'OK', value: '0' });
  });

  it('wal_archiving: a failing archive_command is CRITICAL, a slow one WARNING; fixed, OK', async () => {
    await archiveCommand('false');
    const failing = await walArchivingAfterSwitch(2, 'CRITICAL', 'archiving to fail');
    expect(failing.value).toMatch(/^failing since /);
    expect(failing.detail).toMatch(/^archive_command fails: last failure [0-9A-F]{24} at \S+Z, \d+ failures since/);

    // Slow: the oldest finished segment waits longer than the warning age.
    await db.setSetting('health.wal_archive_warning_age', '1 second');
    await archiveCommand('sleep 3');
    const slow = await walArchivingAfterSwitch(3, 'WARNING', 'a segment to wait');
    expect(slow.value).toMatch(/^oldest waiting \d+ s$/);
    expect(slow.detail).toMatch(/^\d+ segment\(s\) waiting; last archived/);

    await archiveCommand('true');
    await db.q('SELECT pg_switch_wal()');
    await db.setSetting('health.wal_archive_warning_age', null);
    const ok = await waitFor('archiving to catch up', async () => {
      const c = await db.check('wal_archiving');
      return c.status === 'OK' && c.value === 'oldest waiting 0 s' && c;
    });
    expect(ok.detail).toMatch(/^0 segment\(s\) waiting; last archived [0-9A-F]{24} \d+ s ago/);
  });

  it('rpo: the newest archived segment ages while WAL grows; 0 when nothing is unarchived', async () => {
    await db.q(`UPDATE backup_mgmt.wal_archive SET archived_at = now() - interval '10 minutes' WHERE file_name = $1`, [segName(LAST_SEG)]);
    let c = await db.check('rpo');
    expect(c).toMatchObject({ status: 'WARNING', value: '10 min', threshold: 'warning > 5 min, critical > 15 min' });
    expect(c.detail).toMatch(new RegExp(`^newest archived segment ${segName(LAST_SEG)} \\(timeline 1\\) was archived at \\S+Z; the server writes [0-9A-F]{24}; lower archive_timeout`));
    await db.q(`UPDATE backup_mgmt.wal_archive SET archived_at = now() - interval '20 minutes' WHERE file_name = $1`, [segName(LAST_SEG)]);
    expect((await db.check('rpo')).status).toBe('CRITICAL');

    // Everything up to the server's current segment archived long ago, no WAL since: nothing at risk.
    const current = await db.currentSegment();
    const segs = Array.from({ length: current - LAST_SEG }, (_, i) => LAST_SEG + 1 + i);
    await db.archive(segs, () => 20 * 60);
    c = await db.check('rpo');
    expect(c).toMatchObject({ status: 'OK', value: '0 s' });
    expect(c.detail).toMatch(/^all WAL up to the current position is archived \(newest segment [0-9A-F]{24}, archived 20 min ago\)$/);
    // Fixed for what follows: the agent registered them just now.
    await db.q(`UPDATE backup_mgmt.wal_archive SET archived_at = now() WHERE file_name = ANY ($1)`, [[segName(LAST_SEG), ...segs.map(segName)]]);
    await db.expectAllOk();
  });

  it('recovery_window: shorter than the policy or with a WAL gap is WARNING, none at all CRITICAL', async () => {
    await db.setSetting('health.min_recovery_window', '3 days');
    // Installed minutes ago: the window is growing, not short.
    let c = await db.check('recovery_window');
    expect(c).toMatchObject({ status: 'OK', threshold: '>= 3 d' });
    expect(c.detail).toMatch(/; growing to health.min_recovery_window \(3 d\): installed \d+ (s|min) ago$/);
    // Installed 10 days ago: 2 days are too short.
    await db.q(`UPDATE backup_mgmt.pgmigrations SET run_on = run_on - interval '10 days'`);
    try {
      c = await db.check('recovery_window');
      expect(c).toMatchObject({ status: 'WARNING', threshold: '>= 3 d' });
      expect(c.detail).toMatch(/shorter than health.min_recovery_window \(3 d\)$/);
    } finally {
      await db.q(`UPDATE backup_mgmt.pgmigrations SET run_on = run_on + interval '10 days'`);
    }
    await db.setSetting('health.min_recovery_window', null);

    await db.q(`UPDATE backup_mgmt.wal_archive SET purged_at = now() WHERE file_name = $1`, [segName(3)]);
    c = await db.check('recovery_window');
    expect(c).toMatchObject({ status: 'WARNING', value: expect.stringMatching(/^5\d min/) });
    expect(c.detail).toContain(`1 WAL segment(s) missing, first ${segName(3)}`);
    expect(c.detail).toContain(`(backup ${b2.bk})`);
    const view = await db.one('SELECT missing_segments, wal_gaps FROM backup_mgmt.recoverable_window()');
    expect(view).toEqual({ missing_segments: '1', wal_gaps: [segName(3)] });

    // The WAL of both backups gone: no point-in-time recovery at all.
    await db.q(`UPDATE backup_mgmt.wal_archive SET purged_at = now() WHERE file_name <= $1`, [segName(LAST_SEG)]);
    c = await db.check('recovery_window');
    expect(c).toMatchObject({ status: 'CRITICAL', value: 'none' });
    expect(c.detail).toMatch(/^timeline 1 has no verified full backup whose WAL is archived/);

    await db.q(`UPDATE backup_mgmt.wal_archive SET purged_at = NULL`);
    c = await db.check('recovery_window');
    expect(c.status).toBe('OK');
  });

  it('verification: FAILED is CRITICAL until verified again; PENDING too long is WARNING', async () => {
    await db.verify(b2.hk, 'FAILED');
    let c = await db.check('verification');
    expect(c).toMatchObject({ status: 'CRITICAL', value: '1 failed, 0 pending too long', threshold: 'failed in 7 d: critical; pending > 1 h: warning' });
    expect(c.detail).toContain(`verification FAILED: ${b2.bk}`);
    await db.verify(b2.hk, 'VERIFIED');
    expect((await db.check('verification')).status).toBe('OK');

    // Queued two hours ago and never picked up.
    await db.verify(b2.hk, null);
    await db.q(`UPDATE backup_mgmt.job SET created_at = now() - interval '2 hours' WHERE job_type = 'VERIFY' AND status = 'QUEUED'`);
    c = await db.check('verification');
    expect(c).toMatchObject({ status: 'WARNING', value: '0 failed, 1 pending too long' });
    expect(c.detail).toContain(`verification PENDING too long: ${b2.bk}`);
    const job = await db.claim(['VERIFY']);
    await db.complete(job, { verification: { status: 'VERIFIED', detail: 'ok', verified_at: new Date().toISOString() } });
    expect((await db.check('verification')).status).toBe('OK');
  });

  it('restore_drill: the newest successful drill older than the setting is WARNING; a new drill fixes it', async () => {
    await db.q(`UPDATE backup_mgmt.recovery_operation_s
                   SET recovery_start_time = recovery_start_time - interval '40 days', recovery_end_time = recovery_end_time - interval '40 days'
                 WHERE load_end_date IS NULL AND recovery_type = 'RESTORE_DRILL'`);
    const c = await db.check('restore_drill');
    expect(c).toMatchObject({ status: 'WARNING', value: expect.stringMatching(/^40 d/), threshold: 'warning > 30 d' });
    await db.drill();
    expect((await db.check('restore_drill')).status).toBe('OK');
  });

  it('agent_heartbeat: no live agent is CRITICAL, a silent one beside a live one WARNING', async () => {
    await db.q(`UPDATE backup_mgmt.agent SET heartbeat_at = now() - interval '10 minutes' WHERE agent_id = $1`, [AGENT]);
    let c = await db.check('agent_heartbeat', false);
    expect(c).toMatchObject({ status: 'CRITICAL', value: '0 of 1 live; newest heartbeat 10 min ago', threshold: 'silent > 1 min 30 s (3 x job.lease_seconds): warning; no live agent: critical' });
    expect(c.detail).toBe(`no heartbeat within 1 min 30 s from ${AGENT} (10 min ago): the agent is down or cannot reach the database`);

    await db.registerAgent('agent-h2');
    c = await db.check('agent_heartbeat', false);
    expect(c).toMatchObject({ status: 'WARNING', value: '1 of 2 live; newest heartbeat 0 s ago' });
    expect(c.detail).toMatch(new RegExp(`^silent: ${AGENT} \\(10 min ago\\)`));

    await db.q('SELECT backup_mgmt.agent_stopped($1)', ['agent-h2']);
    expect((await db.check('agent_heartbeat', false)).status).toBe('CRITICAL');
    c = await db.check('agent_heartbeat');
    expect(c).toMatchObject({ status: 'OK', value: '1 of 1 live; newest heartbeat 0 s ago' });
  });

  it('pending_approvals: a recovery waiting longer than the setting is WARNING; cancelled, OK', async () => {
    const [r] = await db.q<{ recovery_id: Buffer }>('SELECT * FROM backup_mgmt.initiate_point_in_time_recovery(NULL, $1)', [ago(DAY)]);
    let c = await db.check('pending_approvals');
    expect(c).toMatchObject({ status: 'OK', value: '1 pending, 0 too long' });
    await db.q(`UPDATE backup_mgmt.recovery_operation_h SET load_date = now() - interval '2 hours' WHERE recovery_hk = $1`, [r!.recovery_id]);
    c = await db.check('pending_approvals');
    expect(c).toMatchObject({ status: 'WARNING', value: '1 pending, 1 too long', threshold: 'waiting > 1 h: warning' });
    expect(c.detail).toMatch(/^awaiting approval: RECOVERY_\S+ requested by postgres 2 h ago/);
    await db.q('SELECT * FROM backup_mgmt.cancel_recovery($1)', [r!.recovery_id]);
    expect(await db.check('pending_approvals')).toMatchObject({ status: 'OK', value: '0 pending, 0 too long' });
  });

  it('repository_space: below 20 % free WARNING, below 10 % CRITICAL, as the agent reports it', async () => {
    await db.reportStorage(15, 100);
    let c = await db.check('repository_space');
    expect(c).toMatchObject({ status: 'WARNING', value: '15.0% free', threshold: 'free < 20%: warning, < 10%: critical' });
    expect(c.detail).toMatch(/^\/var\/lib\/backup-mgmt-test\/health-repo: 15 bytes free of 100 bytes, reported by agent-h 0 s ago$/);
    await db.reportStorage(5, 100);
    expect((await db.check('repository_space')).status).toBe('CRITICAL');
    await db.setSetting('health.repository_free_critical_percent', '2.5');
    expect((await db.check('repository_space')).status).toBe('WARNING');
    await db.setSetting('health.repository_free_critical_percent', null);
    await db.reportStorage(60 * 2 ** 30, 100 * 2 ** 30);
    c = await db.check('repository_space');
    expect(c).toMatchObject({ status: 'OK', value: '60.0% free' });

    expect(await sqlState(db.reportStorage(1, 0))).toBe('22023');
    expect(await sqlState(db.reportStorage(101, 100))).toBe('22023');
    expect(await sqlState(db.q('SELECT backup_mgmt.agent_report_storage($1, NULL, 100)', [AGENT]))).toBe('22004');
    expect(await sqlState(db.reportStorage(1, 100, 'nobody'))).toBe('55000');
  });

  it('a check that breaks reports WARNING with its error and leaves the others alone', async () => {
    await db.q(`UPDATE backup_mgmt.agent SET info = info || '{"storage": {"free_bytes": "lots", "total_bytes": 100, "reported_at": "2026-01-01T00:00:00Z"}}' WHERE agent_id = $1`, [AGENT]);
    const h = await db.health();
    expect(h.repository_space).toMatchObject({ status: 'WARNING', value: 'error', threshold: null });
    expect(h.repository_space!.detail).toMatch(/^the check failed: invalid input syntax for type numeric: "lots" \(SQLSTATE 22P02\)$/);
    expect(Object.values(h).filter((r) => r.status !== 'OK').map((r) => r.check_name)).toEqual(['repository_space']);
    await db.reportStorage(60, 100);
    await db.expectAllOk();
  });
});

describe('settings', () => {
  it('health.* thresholds are validated and documented', async () => {
    expect(await sqlState(db.setSetting('health.rpo_warning', '-5 minutes'))).toBe('22023');
    expect(await sqlState(db.setSetting('health.rpo_warning', 'soon'))).toBe('22023');
    expect(await sqlState(db.setSetting('health.schedule_warning_factor', '0.5'))).toBe('22023');
    expect(await sqlState(db.setSetting('health.repository_free_warning_percent', '101'))).toBe('22023');
    expect(await sqlState(db.setSetting('health.failed_backups_critical', '0'))).toBe('22023');
    expect((await db.one(`SELECT backup_mgmt.set_setting('health.schedule_warning_factor', ' 2.50 ') AS v`)).v).toBe('2.5');
    await db.setSetting('health.schedule_warning_factor', null);
    const rows = await db.q<{ name: string; default_value: string }>(
      `SELECT name, default_value FROM backup_mgmt._setting_catalog() WHERE name LIKE 'health.%' ORDER BY name`);
    expect(Object.fromEntries(rows.map((r) => [r.name, r.default_value]))).toEqual({
      'health.approval_max_wait': '1 hour',
      'health.copy_critical_age': '24 hours',
      'health.copy_warning_age': '2 hours',
      'health.drill_max_age': '30 days',
      'health.failed_backup_window': '24 hours',
      'health.failed_backups_critical': '3',
      'health.full_backup_critical_age': '50 hours',
      'health.full_backup_warning_age': '26 hours',
      'health.incremental_backup_critical_age': '12 hours',
      'health.incremental_backup_warning_age': '6 hours',
      'health.min_recovery_window': '1 day',
      'health.repository_free_critical_percent': '10',
      'health.repository_free_warning_percent': '20',
      'health.rpo_critical': '15 minutes',
      'health.rpo_warning': '5 minutes',
      'health.schedule_critical_factor': '3',
      'health.schedule_warning_factor': '1.5',
      'health.stream_slot_critical_size': '8GB',
      'health.stream_slot_warning_size': '1GB',
      'health.verification_failed_window': '7 days',
      'health.verification_max_pending': '1 hour',
      'health.wal_archive_critical_age': '1 hour',
      'health.wal_archive_warning_age': '15 minutes',
    });
  });

  it('a viewer may run the checks and read the summary and metrics, nothing more', async () => {
    await db.q(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'health_vic') THEN
                  CREATE ROLE health_vic LOGIN IN ROLE backup_viewer; END IF; END $$`);
    const vic = await HealthDb.open(cluster().connectionString('health', 'health_vic'));
    try {
      expect(await vic.q('SELECT * FROM backup_mgmt.health_check()')).toHaveLength(17);
      expect((await vic.one('SELECT status FROM backup_mgmt.health_summary()')).status).toBe('OK');
      expect((await vic.one('SELECT backup_mgmt.metrics_snapshot() AS m')).m.health).toHaveLength(17);
      expect(await sqlState(vic.reportStorage(1, 2))).toBe('42501');
      expect(await sqlState(vic.q('SELECT * FROM backup_mgmt._health_rpo()'))).toBe('42501');
    } finally {
      await vic.close();
    }
  });
});

describe('archive_mode', () => {
  it('off is CRITICAL; on again, OK', async () => {
    await db.close();
    await cluster().appendConf({ archive_mode: 'off' });
    await cluster().restart();
    db = await HealthDb.open(cluster().connectionString('health'));
    const c = await db.check('wal_archiving');
    expect(c).toMatchObject({ status: 'CRITICAL', value: 'archive_mode = off' });
    expect(c.detail).toMatch(/^WAL is not archived/);

    await db.close();
    await cluster().appendConf({ archive_mode: 'on' });
    await cluster().restart();
    db = await HealthDb.open(cluster().connectionString('health'));
    expect((await db.check('wal_archiving')).status).toBe('OK');
    await archiveCommand('');
    expect(await db.check('wal_archiving')).toMatchObject({ status: 'CRITICAL', value: 'archive_command is empty' });
    await archiveCommand('true');
    await db.expectAllOk();
  });
});
