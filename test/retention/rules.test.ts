// The retention rules one by one on small histories: chains, backups in use
// or still being taken, failed backups, the DELETE result contract, WAL
// across timelines (history files stay), schedule policies
// (set_schedule_retention: retention_period, max_backup_count,
// min_redundancy), redundancy when verification failed, tenants, settings,
// privileges.
import { describe, expect, it } from 'vitest';
import { DAY, HOUR, type Job, type Made, segName, sqlState, useRetentionPack } from './helpers.js';

const pack = useRetentionPack();

const actions = (rows: { backup_name: string; action_taken?: string; action?: string }[]) =>
  new Map(rows.map((r) => [r.backup_name, r.action_taken ?? r.action]));

/** A fresh database whose policy keeps only the newest verified full backup (and what follows it). */
async function newestFullOnly() {
  const db = await pack.freshDb();
  await db.setting('retention.period', '0');
  await db.setting('retention.min_redundancy', '1');
  await db.setting('retention.recovery_window', '0');
  return db;
}

describe('retention rules', () => {
  it('chains go as a unit; backups in use or still being built on stay; failed backups expire without a job', async () => {
    const db = await pack.freshDb();
    await db.setting('retention.period', '3 days');
    await db.setting('retention.min_redundancy', '1');
    await db.setting('retention.recovery_window', '1 day');
    const start = Date.now() - 10 * DAY;
    const at = (seg: number, min = 0) => new Date(start + seg * 6 * HOUR + min * 60_000);
    const full = (seg: number) => db.fullBackup({ startSeg: seg, start: at(seg, 10), stop: at(seg, 20) });
    const inc = (seg: number) => db.incremental({ stopSeg: seg, stop: at(seg, 59) });
    const f1 = await full(2);
    const i1 = await inc(3);
    const f2 = await full(6);
    const i2 = await inc(7);
    const f3 = await full(10);
    const f4 = await full(14);
    const oldFail = await db.failedFull(at(15), at(15, 5));
    const f5 = await full(36);
    const newFail = await db.failedFull(at(37), at(37, 5));
    await db.applyBackdates();
    await db.archive(Array.from({ length: 38 }, (_, i) => i + 1), (k) => at(k));
    // A verification of F3 is queued; an incremental on I2's chain is being taken right now.
    await db.q('SELECT * FROM backup_mgmt.verify_backup_integrity(decode($1, \'hex\'))', [f3.hex]);
    await db.runningIncremental(i2.hex);

    const plan = await db.plan();
    expect(actions(plan.filter((p) => p.backup_id !== null))).toEqual(
      new Map([
        [f1.bk, 'WOULD_DELETE'], [i1.bk, 'WOULD_DELETE'],
        [f2.bk, 'KEEP_DEPENDENCY'], [i2.bk, 'KEEP_DEPENDENCY'],
        [f3.bk, 'KEEP_IN_USE'],
        [f4.bk, 'KEEP_RECOVERY_WINDOW'],
        [oldFail.bk, 'WOULD_EXPIRE'],
        [f5.bk, 'KEEP_NOT_EXPIRED'],
        [newFail.bk, 'KEEP_NOT_EXPIRED'],
      ]),
    );
    const why = (m: Made) => plan.find((p) => p.backup_name === m.bk)!.reason;
    expect(why(f2)).toMatch(/kept: INCREMENTAL_BACKUP_SYSTEM_\S+ depends on it \(a backup still being taken\)$/);
    expect(why(f3)).toMatch(/kept: in use \(VERIFY job \d+ is QUEUED\)$/);
    expect(why(f4)).toMatch(/kept: base of the 1 day recovery window: the newest verified full backup that ended before /);
    expect(why(i1)).toMatch(/no rule keeps it: it goes together with its full backup FULL_BACKUP_SYSTEM_/);
    expect(why(oldFail)).toMatch(/marked EXPIRED without a job$/);
    expect(plan.find((p) => p.backup_id === null)).toMatchObject({ backup_name: `WAL timeline 1 before ${segName(6)}`, action: 'WOULD_PURGE_WAL' });
    expect(plan.find((p) => p.backup_id === null)!.reason).toMatch(/^5 archived WAL file\(s\) of system \d+, 000000010000000000000001 \.\. 000000010000000000000005: before the start of FULL_/);

    const real = await db.cleanup(false);
    expect(actions(real).get(f1.bk)).toBe('DELETE_QUEUED');
    expect(actions(real).get(i1.bk)).toBe('DELETE_QUEUED');
    expect(actions(real).get(oldFail.bk)).toBe('EXPIRED');
    const jobs = await db.q<Job>(`SELECT * FROM backup_mgmt.job WHERE job_type = 'DELETE' ORDER BY job_id`);
    expect(jobs.map((j) => [j.plan.backup_bk, j.plan.dependents.map((d: { backup_bk: string }) => d.backup_bk)])).toEqual([
      [f1.bk, [i1.bk]],
      [null, []],
    ]);

    // A result that does not match the plan is refused and changes nothing.
    const job = (await db.claim(['DELETE']))!;
    expect(job.plan.backup_bk).toBe(f1.bk);
    expect(await sqlState(db.complete(job, { wal: null }))).toBe('22023');
    expect(await sqlState(db.complete(job, { backup: { removed: 'yes' } }))).toBe('22023');
    expect((await db.status(f1.hex)).backup_status).toBe('COMPLETED');
    await db.complete(job, { backup: { repository_path: job.plan.repository_path, removed: true, trash_removed: 0 }, wal: null });
    expect(await db.status(f1.hex)).toEqual({ backup_status: 'EXPIRED', files_present: false });
    expect(await db.status(i1.hex)).toEqual({ backup_status: 'EXPIRED', files_present: false });
    const [meta] = await db.q(`SELECT additional_metadata->'expired'->>'job_id' AS job, retention_policy, expiration_date::text AS exp
                                 FROM backup_mgmt.backup_execution_current WHERE backup_hk = decode($1, 'hex')`, [f1.hex]);
    expect(meta).toEqual({ job: job.job_id, retention_policy: 'setting retention.period', exp: new Date(f1.finished.getTime() + 3 * DAY).toISOString().slice(0, 10) });

    const purge = (await db.claim(['DELETE']))!;
    expect(purge.plan.wal_purge).toMatchObject({ timeline: 1, before_segment: segName(6), files: 5 });
    await db.complete(purge, { backup: null, wal: { timeline: 1, before_segment: segName(6), files_removed: 5, stored_bytes_removed: 5 } });
    const purged = await db.q<{ file_name: string }>(`SELECT file_name FROM backup_mgmt.wal_archive WHERE purged_at IS NOT NULL ORDER BY 1`);
    expect(purged.map((w) => w.file_name)).toEqual([1, 2, 3, 4, 5].map((k) => segName(k)));
  });

  it('WAL: each timeline is cut at its oldest kept full backup (or a later timeline\'s); history files stay', async () => {
    const db = await newestFullOnly();
    const at = (seg: number) => new Date(Date.now() - 2 * DAY + seg * HOUR);
    const old = await db.fullBackup({ startSeg: 3, start: at(3), stop: new Date(at(3).getTime() + 60_000) });
    const kept = await db.fullBackup({ startSeg: 10, start: at(10), stop: new Date(at(10).getTime() + 60_000), tl: 2 });
    await db.archive([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], at, 1);
    await db.archive([8, 9, 10, 11, 12], at, 2);
    await db.registerWal([{ file_name: '00000002.history', timeline_id: 2, start_lsn: null, bytes: 42, stored_bytes: 40, sha256: 'e'.repeat(64), archived_at: at(8).toISOString() } as never]);

    const rows = await db.cleanup(false);
    expect(actions(rows)).toEqual(
      new Map([
        [old.bk, 'DELETE_QUEUED'],
        [kept.bk, 'KEEP_MIN_REDUNDANCY'],
        [`WAL timeline 1 before ${segName(10, 1)}`, 'WAL_PURGE_QUEUED'],
        [`WAL timeline 2 before ${segName(10, 2)}`, 'WAL_PURGE_QUEUED'],
      ]),
    );
    for (let job = await db.claim(['DELETE']); job; job = await db.claim(['DELETE'])) {
      await db.complete(
        job,
        job.plan.wal_purge
          ? { backup: null, wal: { timeline: job.plan.wal_purge.timeline, before_segment: job.plan.wal_purge.before_segment, files_removed: 0, stored_bytes_removed: 0 } }
          : { backup: { repository_path: job.plan.repository_path, removed: true, trash_removed: 0 }, wal: null },
      );
    }
    const left = await db.q<{ file_name: string }>(`SELECT file_name FROM backup_mgmt.wal_archive WHERE purged_at IS NULL ORDER BY 1`);
    expect(left.map((w) => w.file_name)).toEqual(['00000001000000000000000A', '00000002.history', ...[10, 11, 12].map((k) => segName(k, 2))]);
    expect((await db.cleanup(true)).filter((r) => r.backup_id === null)).toEqual([]);
  });

  it('schedule policies: its retention period, max_backup_count and min_redundancy; redundancy when verification failed', async () => {
    const db = await newestFullOnly();
    const at = (h: number) => new Date(Date.now() - 3 * DAY + h * HOUR);
    const full = (seg: number, verification: 'VERIFIED' | 'FAILED' = 'VERIFIED') =>
      db.fullBackup({ startSeg: seg, start: at(seg), stop: at(seg + 0.5), verification });
    const manual = await full(1);
    const c1 = await full(2);
    const c2 = await full(3);
    const c3 = await full(4);
    await db.q(`SELECT backup_mgmt.create_backup_schedule('ret-nightly', 'FULL', '0 2 * * *')`);
    for (const m of [c1, c2, c3]) {
      await db.q(
        `INSERT INTO backup_mgmt.schedule_execution_l (link_schedule_execution_hk, schedule_hk, backup_hk, record_source)
         VALUES (backup_mgmt.hash_key('ret-nightly', $1), backup_mgmt.hash_key('ret-nightly'), decode($2, 'hex'), 'test')`,
        [m.bk, m.hex],
      );
    }
    await db.q(`SELECT backup_mgmt.set_schedule_retention('ret-nightly', p_retention_period => '1 year', p_max_backup_count => 2)`);
    let plan = await db.plan();
    expect(actions(plan)).toEqual(new Map([[manual.bk, 'WOULD_DELETE'], [c1.bk, 'WOULD_DELETE'], [c2.bk, 'KEEP_NOT_EXPIRED'], [c3.bk, 'KEEP_NOT_EXPIRED']]));
    expect(plan.find((p) => p.backup_name === c1.bk)!.reason).toMatch(/^beyond the newest 2 backups of schedule ret-nightly \(max_backup_count\); no rule keeps it/);
    expect(plan.find((p) => p.backup_name === c2.bk)!.reason).toMatch(/^expires on \d{4}-\d\d-\d\d \(1 year after it ended on .*; schedule ret-nightly\); kept: not expired/);

    await db.q(`SELECT backup_mgmt.set_schedule_retention('ret-nightly', p_min_redundancy => 3)`);
    plan = await db.plan();
    expect(actions(plan).get(c1.bk)).toBe('KEEP_MIN_REDUNDANCY');
    expect(plan.find((p) => p.backup_name === c1.bk)!.reason).toMatch(/one of the 3 full backups always kept for schedule ret-nightly/);
    const policy = await db.q(`SELECT scope, schedule_name, retention_period::text AS period, min_redundancy, max_backup_count FROM backup_mgmt.retention_policy()`);
    expect(policy[0]).toEqual({ scope: 'system', schedule_name: null, period: '00:00:00', min_redundancy: 1, max_backup_count: null });
    expect(policy).toContainEqual({ scope: 'schedule', schedule_name: 'ret-nightly', period: '1 year', min_redundancy: 3, max_backup_count: 2 });
    await db.q(`SELECT backup_mgmt.set_schedule_retention('ret-nightly', p_clear => true)`);
    expect(actions(await db.plan()).get(c1.bk)).toBe('KEEP_NOT_EXPIRED');
    expect(await sqlState(db.q(`SELECT backup_mgmt.set_schedule_retention('ret-nightly', p_min_redundancy => 0)`))).toBe('22023');
    expect(await sqlState(db.q(`SELECT backup_mgmt.set_schedule_retention('no-such-schedule', p_min_redundancy => 2)`))).toBe('42704');

    // With every newer full backup failing verification, min_redundancy still
    // counts the verified one first, and fills up with the newest failed ones.
    const db2 = await pack.freshDb();
    await db2.setting('retention.period', '0');
    await db2.setting('retention.min_redundancy', '2');
    await db2.setting('retention.recovery_window', '0');
    const g1 = await db2.fullBackup({ startSeg: 1, start: at(1), stop: at(1.5), verification: 'FAILED' });
    const g2 = await db2.fullBackup({ startSeg: 2, start: at(2), stop: at(2.5), verification: 'FAILED' });
    const g3 = await db2.fullBackup({ startSeg: 3, start: at(3), stop: at(3.5) });
    const g4 = await db2.fullBackup({ startSeg: 4, start: at(4), stop: at(4.5), verification: 'FAILED' });
    const g5 = await db2.fullBackup({ startSeg: 5, start: at(5), stop: at(5.5), verification: 'FAILED' });
    expect(actions(await db2.plan())).toEqual(
      new Map([[g1.bk, 'WOULD_DELETE'], [g2.bk, 'WOULD_DELETE'], [g3.bk, 'KEEP_MIN_REDUNDANCY'], [g4.bk, 'KEEP_RECOVERY_WINDOW'], [g5.bk, 'KEEP_MIN_REDUNDANCY']]),
    );
  });

  it('tenants, NULLs, settings and privileges', async () => {
    const db = await pack.freshDb();
    await db.setting('retention.period', '0');
    await db.setting('retention.recovery_window', '0');
    // Two days back: the newest of its day whatever the time of day (now − 1 h is yesterday just after midnight).
    await db.fullBackup({ startSeg: 1, start: new Date(Date.now() - 2 * DAY), stop: new Date(Date.now() - 2 * DAY + 60_000) });
    await db.fullBackup({ startSeg: 2, start: new Date(Date.now() - HOUR), stop: new Date(Date.now() - HOUR + 60_000) });
    await db.fullBackup({ startSeg: 3, start: new Date(Date.now() - 60_000), stop: new Date(Date.now() - 30_000) });
    const count = async () => (await db.one(`SELECT (SELECT count(*) FROM backup_mgmt.backup_execution_s) + (SELECT count(*) FROM backup_mgmt.job) AS n`)).n;
    const before = await count();

    // Physical backups are system-wide: a tenant matches none of them.
    expect(await db.q(`SELECT * FROM backup_mgmt.cleanup_expired_backups(backup_mgmt.hash_key('tenant-a'), false)`)).toEqual([]);
    expect(await db.q(`SELECT * FROM backup_mgmt.cleanup_plan(backup_mgmt.hash_key('tenant-a'))`)).toEqual([]);
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.cleanup_expired_backups(NULL, NULL)'))).toBe('22004');
    expect((await db.cleanup(true)).map((r) => r.action_taken)).toEqual(['WOULD_DELETE', 'KEEP_MIN_REDUNDANCY', 'KEEP_MIN_REDUNDANCY']);
    expect(await count()).toBe(before);

    for (const [name, value] of [
      ['retention.min_redundancy', '0'], ['retention.min_redundancy', 'two'], ['retention.period', '-1 day'],
      ['retention.recovery_window', 'a week'], ['retention.keep_weekly', '-1'], ['retention.keep_monthly', '1000001'],
    ]) {
      expect(await sqlState(db.setting(name!, value!)), `${name}=${value}`).toBe('22023');
    }
    await db.setting('retention.keep_daily', ' 7 ');
    expect((await db.one(`SELECT backup_mgmt.setting('retention.keep_daily') AS v`)).v).toBe('7');
    expect((await db.cleanup(true)).map((r) => r.action_taken)[0]).toBe('KEEP_GFS_DAILY');
    await db.setting('retention.keep_daily', null);

    // A viewer may look at the plan, not apply it; an operator may apply it.
    await db.q(`DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ret_vic') THEN CREATE ROLE ret_vic IN ROLE backup_viewer; END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ret_olga') THEN CREATE ROLE ret_olga IN ROLE backup_operator; END IF;
      END $$`);
    await db.q('SET ROLE ret_vic');
    try {
      expect((await db.q('SELECT * FROM backup_mgmt.cleanup_plan()')).length).toBe(3);
      expect(await sqlState(db.q('SELECT * FROM backup_mgmt.cleanup_expired_backups(NULL, false)'))).toBe('42501');
    } finally {
      await db.q('RESET ROLE');
    }
    await db.q('SET ROLE ret_olga');
    try {
      const rows = await db.q('SELECT * FROM backup_mgmt.cleanup_expired_backups(NULL, false)');
      expect(rows.map((r) => r.action_taken)).toEqual(['DELETE_QUEUED', 'KEEP_MIN_REDUNDANCY', 'KEEP_MIN_REDUNDANCY']);
    } finally {
      await db.q('RESET ROLE');
    }
    expect((await db.q(`SELECT 1 FROM backup_mgmt.job WHERE job_type = 'DELETE'`)).length).toBe(1);
  });
});
