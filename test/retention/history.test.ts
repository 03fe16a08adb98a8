// Acceptance 3 of the operations issue: 120 days of history (a full backup
// every day at 02:00, incrementals at 10:00 and 18:00, some failed,
// cancelled or failing verification, hourly archived WAL) cleaned by a dry
// run and a real run under retention 30 days, min_redundancy 2, recovery
// window 7 days, GFS weekly 4 / monthly 3. The expected outcome is computed
// here from the rules, independently of the SQL; the test then plays the
// agent for the DELETE jobs and checks what went, what stayed, that every
// kept incremental's chain is intact and that PITR plans across the window.
import { beforeAll, describe, expect, it } from 'vitest';
import { DAY, HOUR, type Job, type Made, type RetentionDb, segName, segOf, sqlState, useRetentionPack } from './helpers.js';

const pack = useRetentionPack();
const BASE_SEG = 16; // segment of hour 0 of the history
const RETENTION_DAYS = 30;
const MIN_REDUNDANCY = 2;
const WINDOW_DAYS = 7;
const KEEP_WEEKLY = 4;
const KEEP_MONTHLY = 3;

let db: RetentionDb;
let now: Date;
let d0: Date; // 00:00 UTC, 120 days ago
let lastSeg: number;

const at = (hour: number, minutes = 0) => new Date(d0.getTime() + hour * HOUR + minutes * 60_000);
const segAt = (seg: number) => at(seg - BASE_SEG);
const utcDay = (d: Date) => d.toISOString().slice(0, 10);
const addDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
function isoWeekStart(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  return addDays(day, -((d.getUTCDay() + 6) % 7));
}
const monthStart = (day: string) => `${day.slice(0, 7)}-01`;
function monthsBefore(day: string, n: number): string {
  const d = new Date(`${monthStart(day)}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() - n);
  return d.toISOString().slice(0, 10);
}

async function buildHistory(): Promise<void> {
  const hours = Math.floor((now.getTime() - d0.getTime()) / HOUR);
  lastSeg = BASE_SEG + hours - 1; // the last segment whose hour is over
  for (let d = 0; d <= 120; d++) {
    const h0 = 24 * d;
    if (h0 + 2 + BASE_SEG > lastSeg) break;
    await db.fullBackup({
      startSeg: BASE_SEG + h0 + 2,
      start: at(h0 + 2, 10),
      stop: at(h0 + 2, 20),
      verification: d % 17 === 5 ? 'FAILED' : 'VERIFIED',
    });
    if (d % 23 === 7 && h0 + 3 + BASE_SEG <= lastSeg) await db.failedFull(at(h0 + 3, 5), at(h0 + 3, 15));
    if (d % 31 === 11 && h0 + 4 + BASE_SEG <= lastSeg) await db.cancelledFull(at(h0 + 4));
    for (const [i, h] of [10, 18].entries()) {
      const seg = BASE_SEG + h0 + h;
      if (seg > lastSeg) break;
      await db.incremental({
        stopSeg: seg,
        stop: at(h0 + h, 59.5),
        verification: (2 * d + i) % 13 === 6 ? 'FAILED' : 'VERIFIED',
        fail: d % 19 === 3 && h === 18,
      });
    }
  }
  await db.applyBackdates();
  // Hourly segments, and the .backup file of every full backup.
  const segs = Array.from({ length: lastSeg - BASE_SEG + 1 }, (_, i) => BASE_SEG + i);
  await db.archive(segs, segAt);
  await db.registerWal(
    db.made
      .filter((m) => m.type === 'FULL' && m.status === 'COMPLETED')
      .map((m) => ({
        file_name: `${segName(m.startSeg!)}.00000028.backup`,
        timeline_id: 1,
        start_lsn: null,
        bytes: 300,
        stored_bytes: 250,
        sha256: `${m.startSeg!.toString(16)}`.padStart(63, '0') + 'b',
        archived_at: m.end.toISOString(),
      })),
  );
}

interface Expected {
  action: Map<string, string>;
  deletedFulls: Map<string, string[]>; // full bk -> its COMPLETED incrementals
  expiredAtOnce: Set<string>;
  keptFulls: Made[];
  cutoffSeg: number;
}

/** The rules of sql/60-retention/README.md, computed from what the test made. */
function expectedOutcome(): Expected {
  const today = utcDay(now);
  const windowStart = new Date(now.getTime() - WINDOW_DAYS * DAY);
  const byHex = new Map(db.made.map((m) => [m.hex, m]));
  const expired = (m: Made) => addDays(utcDay(m.finished), RETENTION_DAYS) <= today;
  const fulls = db.made.filter((m) => m.type === 'FULL' && m.status === 'COMPLETED');
  const newestFirst = (a: Made, b: Made) => b.end.getTime() - a.end.getTime();
  const rank = (m: Made) => (m.verification === 'VERIFIED' ? 0 : m.verification === 'FAILED' ? 2 : 1);

  const redundancy = new Set([...fulls].sort((a, b) => rank(a) - rank(b) || newestFirst(a, b)).slice(0, MIN_REDUNDANCY));
  const anchor = fulls.filter((m) => m.end < windowStart && m.verification === 'VERIFIED').sort(newestFirst)[0]!;
  const inWindow = (m: Made) => m.status === 'COMPLETED' && m.end >= anchor.end;
  const newestOf = (key: (m: Made) => string) => {
    const best = new Map<string, Made>();
    for (const m of fulls.filter((f) => f.verification !== 'FAILED')) {
      const k = key(m);
      if (!best.has(k) || best.get(k)!.end < m.end) best.set(k, m);
    }
    return best;
  };
  const weekly = new Set(
    [...newestOf((m) => isoWeekStart(utcDay(m.end))).entries()].filter(([w]) => w > addDays(isoWeekStart(today), -7 * KEEP_WEEKLY)).map(([, m]) => m),
  );
  const monthly = new Set(
    [...newestOf((m) => monthStart(utcDay(m.end))).entries()].filter(([mo]) => mo > monthsBefore(today, KEEP_MONTHLY)).map(([, m]) => m),
  );
  const ownRules = (m: Made): string[] => {
    if (m.status !== 'COMPLETED') return expired(m) ? [] : ['KEEP_NOT_EXPIRED'];
    const r: string[] = [];
    if (!expired(m)) r.push('KEEP_NOT_EXPIRED');
    if (redundancy.has(m)) r.push('KEEP_MIN_REDUNDANCY');
    if (inWindow(m)) r.push('KEEP_RECOVERY_WINDOW');
    if (weekly.has(m)) r.push('KEEP_GFS_WEEKLY');
    if (monthly.has(m)) r.push('KEEP_GFS_MONTHLY');
    return r;
  };
  const root = (m: Made): Made => (m.parentHex ? root(byHex.get(m.parentHex)!) : m);
  const ancestors = (m: Made): Made[] => (m.parentHex ? [byHex.get(m.parentHex)!, ...ancestors(byHex.get(m.parentHex)!)] : []);
  const completed = db.made.filter((m) => m.status === 'COMPLETED');
  const keepers = completed.filter((m) => ownRules(m).length > 0);
  const neededBy = new Set(keepers.flatMap(ancestors));
  const chainKept = new Set(keepers.map(root));

  const action = new Map<string, string>();
  const deletedFulls = new Map<string, string[]>();
  const expiredAtOnce = new Set<string>();
  for (const m of db.made) {
    const rules = ownRules(m);
    if (m.status === 'COMPLETED') {
      if (neededBy.has(m)) rules.push('KEEP_DEPENDENCY');
      if (m.parentHex && chainKept.has(root(m))) rules.push('KEEP_CHAIN');
    }
    if (rules.length > 0) action.set(m.bk, rules[0]!);
    else if (m.status === 'COMPLETED') {
      action.set(m.bk, 'WOULD_DELETE');
      if (m.type === 'FULL') deletedFulls.set(m.bk, deletedFulls.get(m.bk) ?? []);
      else deletedFulls.set(root(m).bk, [...(deletedFulls.get(root(m).bk) ?? []), m.bk]);
    } else {
      action.set(m.bk, 'WOULD_EXPIRE');
      expiredAtOnce.add(m.bk);
    }
  }
  const keptFulls = fulls.filter((m) => !deletedFulls.has(m.bk));
  const cutoffSeg = Math.min(...keptFulls.map((m) => m.startSeg!));
  return { action, deletedFulls, expiredAtOnce, keptFulls, cutoffSeg };
}

const DELETE_JOBS = `SELECT * FROM backup_mgmt.job WHERE job_type = 'DELETE' ORDER BY job_id`;

describe('retention over 120 days of history', () => {
  let expected: Expected;

  beforeAll(async () => {
    db = await pack.freshDb();
    await db.setting('retention.period', `${RETENTION_DAYS} days`);
    await db.setting('retention.min_redundancy', String(MIN_REDUNDANCY));
    await db.setting('retention.recovery_window', `${WINDOW_DAYS} days`);
    await db.setting('retention.keep_weekly', String(KEEP_WEEKLY));
    await db.setting('retention.keep_monthly', String(KEEP_MONTHLY));
    now = (await db.one<{ now: Date }>('SELECT now() AS now')).now;
    d0 = new Date(Date.parse(`${addDays(utcDay(now), -120)}T00:00:00Z`));
    await buildHistory();
    expected = expectedOutcome();
  });

  it('the history is what the rules need: every rule decides something', async () => {
    // The action is the first rule that keeps a backup; younger than 30 days comes first.
    const actions = [...expected.action.values()];
    for (const a of ['KEEP_NOT_EXPIRED', 'KEEP_GFS_MONTHLY', 'KEEP_CHAIN', 'WOULD_DELETE', 'WOULD_EXPIRE']) {
      expect(actions, a).toContain(a);
    }
    const rules = new Set((await db.plan()).flatMap((p) => p.keep_rules));
    for (const r of ['KEEP_NOT_EXPIRED', 'KEEP_MIN_REDUNDANCY', 'KEEP_RECOVERY_WINDOW', 'KEEP_GFS_WEEKLY', 'KEEP_GFS_MONTHLY', 'KEEP_DEPENDENCY', 'KEEP_CHAIN']) {
      expect(rules, r).toContain(r);
    }
    expect(db.made.filter((m) => m.type === 'FULL' && m.status === 'COMPLETED').length).toBeGreaterThanOrEqual(119);
    expect(db.made.filter((m) => m.type === 'INCREMENTAL').length).toBeGreaterThanOrEqual(230);
    expect(expected.deletedFulls.size).toBeGreaterThan(50);
  });

  it('a dry run lists every candidate with the action the rules give, and writes nothing', async () => {
    const before = await db.one('SELECT (SELECT count(*) FROM backup_mgmt.backup_execution_s) AS v, (SELECT count(*) FROM backup_mgmt.job) AS j');
    const rows = await db.cleanup(true);
    const backups = rows.filter((r) => r.backup_id !== null);
    expect(new Map(backups.map((r) => [r.backup_name, r.action_taken]))).toEqual(expected.action);
    expect(backups).toHaveLength(db.made.length);
    const wal = rows.filter((r) => r.backup_id === null);
    expect(wal).toHaveLength(1);
    const purged = db.wal.filter((w) => segOf(w.file_name) < expected.cutoffSeg);
    expect(wal[0]).toMatchObject({
      backup_name: `WAL timeline 1 before ${segName(expected.cutoffSeg)}`,
      backup_size_bytes: String(purged.reduce((n, w) => n + w.stored_bytes, 0)),
      action_taken: 'WOULD_PURGE_WAL',
    });
    // The expiry date is the end date + the period.
    const some = db.made.find((m) => m.status === 'COMPLETED' && m.type === 'FULL')!;
    const row = backups.find((r) => r.backup_name === some.bk)!;
    expect(utcDay(row.expiration_date!)).toBe(addDays(utcDay(some.finished), RETENTION_DAYS));
    // cleanup_plan explains.
    const plan = await db.plan();
    const anchorRows = plan.filter((p) => p.reason.includes('base of the 7 days recovery window'));
    expect(anchorRows).toHaveLength(1);
    expect(anchorRows[0]!.keep_rules).toContain('KEEP_RECOVERY_WINDOW');
    expect(plan.filter((p) => p.keep_rules.includes('KEEP_RECOVERY_WINDOW')).length).toBeGreaterThanOrEqual(3 * 6);
    const dep = plan.find((p) => p.keep_rules.includes('KEEP_DEPENDENCY'))!;
    expect(dep.reason).toMatch(/kept: .*INCREMENTAL_BACKUP_SYSTEM_\S+ (and \d+ more )?depends? on it/);
    const chain = plan.find((p) => p.action === 'KEEP_CHAIN')!;
    expect(chain.reason).toMatch(/^expired on .*; kept: its full backup FULL_BACKUP_SYSTEM_\S+ is kept, and an incremental goes only together with its full backup$/);
    const gone = plan.find((p) => p.action === 'WOULD_DELETE' && p.backup_type === 'FULL')!;
    expect(gone.reason).toMatch(/^expired on \d{4}-\d\d-\d\d \(30 days after it ended on .*; setting retention.period\); no rule keeps it: a DELETE job removes \//);
    const after = await db.one('SELECT (SELECT count(*) FROM backup_mgmt.backup_execution_s) AS v, (SELECT count(*) FROM backup_mgmt.job) AS j');
    expect(after).toEqual(before);
  });

  it('a real run queues exactly the deletions and the WAL purge; a second run queues nothing new', async () => {
    const rows = await db.cleanup(false);
    const real = new Map([...expected.action].map(([bk, a]) => [bk, a === 'WOULD_DELETE' ? 'DELETE_QUEUED' : a === 'WOULD_EXPIRE' ? 'EXPIRED' : a]));
    expect(new Map(rows.filter((r) => r.backup_id !== null).map((r) => [r.backup_name, r.action_taken]))).toEqual(real);
    expect(rows.filter((r) => r.backup_id === null).map((r) => r.action_taken)).toEqual(['WAL_PURGE_QUEUED']);

    const jobs = await db.q<Job>(DELETE_JOBS);
    const backupJobs = jobs.filter((j) => j.plan.backup_bk !== null);
    expect(new Map(backupJobs.map((j) => [j.plan.backup_bk as string, (j.plan.dependents as { backup_bk: string }[]).map((d) => d.backup_bk).sort()])))
      .toEqual(new Map([...expected.deletedFulls].map(([bk, deps]) => [bk, [...deps].sort()])));
    for (const j of backupJobs) {
      expect(j.plan).toMatchObject({ kind: 'delete', system_identifier: db.sysid, wal_purge: null });
      expect(j.plan.repository_path).toBe(`${j.plan.repository_root}/${db.sysid}/backups/${j.plan.backup_bk}`);
      expect(j.priority).toBe(8);
    }
    const purge = jobs.filter((j) => j.plan.backup_bk === null);
    expect(purge).toHaveLength(1);
    expect(purge[0]!.priority).toBe(9);
    expect(purge[0]!.plan.wal_purge).toMatchObject({ system_identifier: db.sysid, timeline: 1, before_segment: segName(expected.cutoffSeg) });
    // Failed and cancelled backups without files are EXPIRED at once.
    for (const bk of expected.expiredAtOnce) {
      const m = db.made.find((x) => x.bk === bk)!;
      expect((await db.status(m.hex)).backup_status).toBe('EXPIRED');
    }

    const again = await db.cleanup(false);
    expect((await db.q<Job>(DELETE_JOBS)).length).toBe(jobs.length);
    for (const r of again.filter((x) => x.backup_id !== null)) {
      const a = expected.action.get(r.backup_name)!;
      if (a === 'WOULD_DELETE') expect(r.action_taken, r.backup_name).toBe('DELETE_PENDING');
      else if (a !== 'WOULD_EXPIRE') expect(r.action_taken).toBe(a);
    }
    // What was EXPIRED is no longer a candidate.
    expect(again.filter((r) => expected.expiredAtOnce.has(r.backup_name))).toEqual([]);
    expect(again.filter((r) => r.backup_id === null).map((r) => r.action_taken)).toEqual(['WAL_PURGE_PENDING']);
  });

  it('the DELETE jobs complete: exactly the planned backups are EXPIRED (history kept) and exactly the old WAL is purged', async () => {
    const order: Job[] = [];
    for (let job = await db.claim(['DELETE']); job; job = await db.claim(['DELETE'])) {
      order.push(job);
      await db.complete(
        job,
        job.plan.backup_bk !== null
          ? { backup: { repository_path: job.plan.repository_path, removed: true, trash_removed: 0 }, wal: null }
          : { backup: null, wal: { timeline: 1, before_segment: job.plan.wal_purge.before_segment, files_removed: 10, stored_bytes_removed: 1 } },
      );
    }
    // Backups first, the WAL purge last.
    expect(order.at(-1)!.plan.backup_bk).toBeNull();
    expect(order.slice(0, -1).every((j) => j.plan.backup_bk !== null)).toBe(true);

    const gone = new Set([...expected.deletedFulls].flatMap(([bk, deps]) => [bk, ...deps]));
    const states = await db.q<{ backup_bk: string; backup_status: string; files_present: boolean | null; versions: string; expired_versions: string }>(
      `SELECT c.backup_bk, c.backup_status, st.files_present,
              (SELECT count(*) FROM backup_mgmt.backup_execution_s AS s WHERE s.backup_hk = c.backup_hk) AS versions,
              (SELECT count(*) FROM backup_mgmt.backup_execution_s AS s WHERE s.backup_hk = c.backup_hk AND s.backup_status = 'EXPIRED') AS expired_versions
         FROM backup_mgmt.backup_execution_current AS c
         LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk`,
    );
    for (const s of states) {
      const m = db.made.find((x) => x.bk === s.backup_bk)!;
      if (gone.has(s.backup_bk)) {
        expect(s, s.backup_bk).toMatchObject({ backup_status: 'EXPIRED', files_present: false, expired_versions: '1' });
        expect(Number(s.versions)).toBeGreaterThan(2);
      } else if (expected.expiredAtOnce.has(s.backup_bk)) {
        expect(s.backup_status).toBe('EXPIRED');
      } else {
        expect(s.backup_status, s.backup_bk).toBe(m.status);
        if (m.status === 'COMPLETED') expect(s.files_present).toBe(true);
      }
    }
    // The COMPLETED version before EXPIRED is still there, end-dated.
    const full = [...expected.deletedFulls.keys()][0]!;
    const history = await db.q<{ backup_status: string; load_end_date: Date | null }>(
      `SELECT s.backup_status, s.load_end_date FROM backup_mgmt.backup_execution_s AS s
         JOIN backup_mgmt.backup_execution_h AS h USING (backup_hk) WHERE h.backup_bk = $1 ORDER BY s.load_date`,
      [full],
    );
    expect(history.map((h) => h.backup_status).slice(-2)).toEqual(['COMPLETED', 'EXPIRED']);
    expect(history.at(-2)!.load_end_date).not.toBeNull();

    const wal = await db.q<{ file_name: string; purged: boolean }>(
      `SELECT file_name, purged_at IS NOT NULL AS purged FROM backup_mgmt.wal_archive WHERE system_identifier = $1 ORDER BY file_name`,
      [db.sysid],
    );
    expect(wal).toHaveLength(db.wal.length);
    const wrong = wal.filter((w) => w.purged !== segOf(w.file_name) < expected.cutoffSeg);
    expect(wrong).toEqual([]);
    expect(wal.filter((w) => w.purged).length).toBeGreaterThan(24 * 30);
  });

  it('every kept incremental has its whole chain, and its WAL, still there', async () => {
    const kept = await db.q<{ backup_hk: Buffer; backup_bk: string }>(
      `SELECT c.backup_hk, c.backup_bk FROM backup_mgmt.backup_execution_current AS c
        WHERE c.backup_type = 'INCREMENTAL' AND c.backup_status = 'COMPLETED'`,
    );
    expect(kept.length).toBeGreaterThan(30);
    for (const k of kept) {
      const chain = await db.q<{ backup_bk: string; backup_type: string; backup_status: string; files_present: boolean; start_lsn: string; stop_lsn: string }>(
        `WITH RECURSIVE up (hk) AS (
             SELECT $1::bytea
             UNION
             SELECT l.source_backup_hk FROM backup_mgmt.backup_dependency_l AS l JOIN up ON l.dependent_backup_hk = up.hk)
         SELECT c.backup_bk, c.backup_type, c.backup_status, st.files_present, l.start_lsn::text, l.stop_lsn::text
           FROM up JOIN backup_mgmt.backup_execution_current AS c ON c.backup_hk = up.hk
           JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = up.hk
           LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = up.hk`,
        [k.backup_hk],
      );
      expect(chain.every((c) => c.backup_status === 'COMPLETED' && c.files_present === true), k.backup_bk).toBe(true);
      const full = chain.filter((c) => c.backup_type === 'FULL');
      expect(full, k.backup_bk).toHaveLength(1);
      const [{ missing }] = (await db.q<{ missing: string | null }>(
        `SELECT backup_mgmt._wal_first_missing($1, 1, backup_mgmt.wal_segno_of_lsn($2::pg_lsn), backup_mgmt.wal_segno_of_lsn($3::pg_lsn - 1)) AS missing`,
        [db.sysid, full[0]!.start_lsn, chain.find((c) => c.backup_bk === k.backup_bk)!.stop_lsn],
      )) as [{ missing: string | null }];
      expect(missing, k.backup_bk).toBeNull();
    }
  });

  it('PITR still plans for any time in the recovery window (and from the oldest kept backup on), not before it', async () => {
    const windowStart = now.getTime() - WINDOW_DAYS * DAY;
    const samples = [windowStart + 60_000, windowStart + 3 * HOUR + 17 * 60_000];
    for (let i = 1; i <= 8; i++) samples.push(windowStart + (i / 9) * (now.getTime() - 2 * HOUR - windowStart));
    const oldest = expected.keptFulls.filter((m) => m.verification === 'VERIFIED').sort((a, b) => a.end.getTime() - b.end.getTime())[0]!;
    samples.push(oldest.end.getTime() + HOUR, (oldest.end.getTime() + windowStart) / 2);
    for (const t of samples) {
      const iso = new Date(t).toISOString();
      const plan = await db.one<{ p: Record<string, any> }>(`SELECT backup_mgmt.plan_recovery('time', $1) AS p`, [iso]);
      expect(plan.p.base.backup_bk, iso).toBeDefined();
      expect(new Date(plan.p.base.stop_time).getTime()).toBeLessThan(t);
    }
    // Before the oldest kept full backup ended, nothing is left to recover from.
    expect(await sqlState(db.q(`SELECT backup_mgmt.plan_recovery('time', $1)`, [new Date(oldest.end.getTime() - HOUR).toISOString()]))).toBe('22023');
    const [rec] = await db.q<{ missing_segments: string; earliest_backup_bk: string }>(
      `SELECT missing_segments, earliest_backup_bk FROM backup_mgmt.recoverability WHERE system_identifier = $1 AND timeline_id = 1`,
      [db.sysid],
    );
    expect(rec).toEqual({ missing_segments: '0', earliest_backup_bk: oldest.bk });
  });

  it('a third run finds nothing more to do', async () => {
    const rows = await db.cleanup(false);
    expect(rows.filter((r) => !r.action_taken.startsWith('KEEP_'))).toEqual([]);
    expect(rows.filter((r) => r.backup_id === null)).toEqual([]);
    expect((await db.q(`SELECT 1 FROM backup_mgmt.job WHERE job_type = 'DELETE' AND status <> 'SUCCEEDED'`)).length).toBe(0);
  });
});
