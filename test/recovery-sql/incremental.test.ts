// Incremental (WAL-range) backups in SQL: choosing the parent, the job plan,
// the dependency link, applying the agent's result, and how incrementals
// show up in recovery plans.
import { describe, expect, it } from 'vitest';
import { REPO, type Job, type RecoveryDb, lsn, segName, sqlError, sqlState, useRecoveryPack } from './helpers.js';

const pack = useRecoveryPack();

interface IncRow {
  backup_id: Buffer;
  backup_status: string;
  backup_size_bytes: string | null;
  base_backup_id: Buffer | null;
  changes_captured: string | null;
}

const incremental = (db: RecoveryDb, base: Buffer | null = null, location: string | null = null) =>
  db.one<IncRow>('SELECT * FROM backup_mgmt.create_incremental_backup(NULL, $1, $2)', [base, location]);

/** The result the agent reports after switching the WAL at `stop` (PROTOCOL.md). */
function incResult(job: Job, stop: string, stopSeg: number, overrides: Record<string, unknown> = {}) {
  const toNum = (l: string) => {
    const [hi, lo] = l.split('/');
    return BigInt(`0x${hi}`) * 0x100000000n + BigInt(`0x${lo}`);
  };
  const first = Number(toNum(job.plan.chain_start_lsn) / 0x1000000n);
  return {
    stop_lsn: stop,
    stop_wal_file: segName(stopSeg),
    stop_time: new Date().toISOString(),
    next_xid: '5000',
    changes_captured: Number(toNum(stop) - toNum(job.plan.range_start_lsn)),
    wal_files_checked: stopSeg - first + 1,
    started_at: new Date(Date.now() - 2000).toISOString(),
    ended_at: new Date().toISOString(),
    pg_version: 'PostgreSQL 15.18',
    pg_version_num: 150018,
    verification: { status: 'VERIFIED', detail: `segments ${segName(first)}..${segName(stopSeg)} present and intact`, verified_at: new Date().toISOString() },
    ...overrides,
  };
}

describe('create_incremental_backup', () => {
  it('refuses without a valid base, for a tenant, and writes nothing', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const before = await db.counts();
    const none = await sqlError(incremental(db));
    expect(none.code).toBe('55000');
    expect(none.hint).toBe('take a full backup first: SELECT * FROM backup_mgmt.create_full_backup()');
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.create_incremental_backup($1)', [Buffer.alloc(32, 1)]))).toBe('0A000');

    // A full backup whose verification failed is no base either.
    await db.fullBackup({ startSeg: 2, stopSeg: 2, stopAt: 122, verification: 'FAILED' });
    const mid = await db.counts();
    expect(await sqlState(incremental(db))).toBe('55000');
    expect(await db.counts()).toEqual(mid);
    expect(mid.backups).toBe(before.backups + 1);
    expect(await sqlState(incremental(db, Buffer.alloc(32, 7)))).toBe('P0002');
    expect(await sqlState(incremental(db, null, '/elsewhere'))).toBe('22023');
  });

  it('takes a location as the name of its repository and refuses one that is not its chain\'s', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    await db.q(`SELECT backup_mgmt.set_setting('repository.roots', '/srv/other')`);
    await db.archive([1, 2, 3]);
    await db.fullBackup({ startSeg: 2, stopSeg: 2, stopAt: 122 });

    // The seed guide's '<root>/incremental/': the agent's repository, where its WAL is.
    const other = await db.counts();
    const elsewhere = await sqlError(incremental(db, null, '/srv/other/incremental'));
    expect(elsewhere.code).toBe('22023');
    expect(elsewhere.message).toMatch(/names repository '\/srv\/other'.*stored in repository/);
    expect(await db.counts()).toEqual(other);

    const r = await incremental(db, null, `${REPO}//incremental/`);
    const job = (await db.claim(['BACKUP']))!;
    expect(job.plan.repository_root).toBe(REPO);
    const cur = await db.backup(r.backup_id);
    expect(cur.backup_location).toBe(REPO);
    expect(cur.additional_metadata).toMatchObject({ location: `${REPO}/incremental` });
  });

  it('chains on the newest verified full backup, links it, and plans the WAL range', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    await db.archive([1, 2, 3, 4, 5, 6]);
    const b1 = await db.fullBackup({ startSeg: 2, stopSeg: 2, stopAt: 122, nextXid: 900 });

    const r1 = await incremental(db);
    expect(r1).toMatchObject({ backup_status: 'PENDING', backup_size_bytes: null, changes_captured: null });
    expect(r1.base_backup_id).toEqual(b1.hk);
    // Repeated and concurrent calls (the seed's load test runs five at once)
    // coalesce onto the one still queued.
    const again = await Promise.all(Array.from({ length: 5 }, () => incremental(db)));
    for (const a of again) expect(a.backup_id).toEqual(r1.backup_id);
    expect((await db.counts()).backups).toBe(2);

    const cur = await db.backup(r1.backup_id);
    expect(cur).toMatchObject({ backup_type: 'INCREMENTAL', backup_scope: 'SYSTEM', backup_method: 'WAL_ARCHIVE', verification_status: 'PENDING', backup_location: REPO, initiated_by: 'postgres' });
    expect(cur.backup_bk).toMatch(/^INCREMENTAL_BACKUP_SYSTEM_\d{8}_\d{6}_\d{6}$/);
    const [link] = await db.q('SELECT * FROM backup_mgmt.backup_dependency_l');
    expect(link).toMatchObject({ source_backup_hk: b1.hk, dependent_backup_hk: r1.backup_id });

    const job = (await db.claim(['BACKUP']))!;
    expect(job.subject_hk).toEqual(r1.backup_id);
    expect(job.plan).toMatchObject({
      kind: 'incremental',
      method: 'WAL_ARCHIVE',
      backup_hk: r1.backup_id.toString('hex'),
      backup_bk: cur.backup_bk,
      parent_backup_hk: b1.hex,
      chain_full_backup_hk: b1.hex,
      chain_start_lsn: b1.startLsn,
      range_start_lsn: b1.stopLsn,
      timeline_id: 1,
      system_identifier: db.sysid,
      repository_root: REPO,
    });
    expect((await db.backup(r1.backup_id)).backup_status).toBe('RUNNING');

    // The agent switched WAL at the end of segment 3.
    const before = await db.counts();
    const bad = [
      incResult(job, lsn(4), 3, { changes_captured: 1 }),
      incResult(job, lsn(4), 4),
      incResult(job, lsn(4), 3, { wal_files_checked: 1 }),
      incResult(job, lsn(1), 0),
      incResult(job, lsn(4), 3, { verification: { status: 'MAYBE' } }),
      incResult(job, lsn(4), 3, { next_xid: 'x' }),
      incResult(job, lsn(4), 3, { stop_time: undefined }),
    ];
    for (const result of bad) {
      const err = await sqlError(db.complete(job, result));
      expect(err.code, JSON.stringify(result)).toBe('22023');
    }
    expect(await db.counts()).toEqual(before);

    const result = incResult(job, lsn(4), 3);
    await db.complete(job, result);
    const done = await db.backup(r1.backup_id);
    expect(done).toMatchObject({
      backup_status: 'COMPLETED',
      verification_status: 'VERIFIED',
      integrity_verified: true,
      backup_size_bytes: String(result.changes_captured),
      changes_captured: String(result.changes_captured),
    });
    expect(result.changes_captured).toBe(0x4000000 - 0x2000138);
    const l = await db.one('SELECT * FROM backup_mgmt.backup_lsn_current WHERE backup_hk = $1', [r1.backup_id]);
    expect(l).toMatchObject({ start_lsn: b1.stopLsn, stop_lsn: lsn(4), timeline_id: 1, start_wal_file: segName(2), stop_wal_file: segName(3), next_xid: '5000', system_identifier: db.sysid });
    const s = await db.one('SELECT * FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1', [r1.backup_id]);
    expect(s).toMatchObject({ repository_root: REPO, repository_path: `${REPO}/${db.sysid}/wal`, files_present: true });
    const versions = await db.q('SELECT backup_status, verification_status FROM backup_mgmt.backup_execution_s WHERE backup_hk = $1 ORDER BY load_date', [r1.backup_id]);
    expect(versions.map((v) => `${v.backup_status}/${v.verification_status}`)).toEqual(['PENDING/PENDING', 'RUNNING/PENDING', 'COMPLETED/PENDING', 'COMPLETED/VERIFIED']);

    // The next one extends the chain from this incremental.
    const r2 = await incremental(db);
    expect(r2.base_backup_id).toEqual(r1.backup_id);
    const job2 = (await db.claim(['BACKUP']))!;
    expect(job2.plan).toMatchObject({ parent_backup_hk: r1.backup_id.toString('hex'), chain_full_backup_hk: b1.hex, chain_start_lsn: b1.startLsn, range_start_lsn: lsn(4) });
    // A failed incremental does not extend the chain.
    await db.fail(job2, 'archive_command is failing: segment 000000010000000000000005 not archived after 300 s');
    expect(await db.backup(r2.backup_id)).toMatchObject({ backup_status: 'FAILED', verification_status: null });
    expect((await incremental(db)).base_backup_id).toEqual(r1.backup_id);

    // A newer verified full backup starts a new chain.
    const job3 = (await db.claim(['BACKUP']))!;
    await db.fail(job3, 'stopped');
    const b2 = await db.fullBackup({ startSeg: 5, stopSeg: 5, stopAt: 330 });
    const r4 = await incremental(db);
    expect(r4.base_backup_id).toEqual(b2.hk);
    // Explicit bases: a verified incremental is fine, a failed one is not.
    const job4 = (await db.claim(['BACKUP']))!;
    await db.fail(job4, 'stopped');
    expect((await incremental(db, r1.backup_id)).base_backup_id).toEqual(r1.backup_id);
    expect(await sqlState(incremental(db, r2.backup_id))).toBe('55000');
  });

  it('records a failed verification and lists incrementals in recovery plans', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    await db.archive([1, 2, 3, 4, 5, 6, 7, 8]);
    const b1 = await db.fullBackup({ startSeg: 2, stopSeg: 2, stopAt: 122, nextXid: 900 });
    const i1 = await incremental(db);
    const j1 = (await db.claim(['BACKUP']))!;
    await db.complete(j1, incResult(j1, lsn(4), 3, { stop_time: db.at(239) }));
    const i2 = await incremental(db);
    const j2 = (await db.claim(['BACKUP']))!;
    await db.complete(j2, incResult(j2, lsn(6), 5, {
      stop_time: db.at(359),
      wal_files_checked: 3,
      verification: { status: 'FAILED', detail: `${segName(4)} missing from the repository` },
    }));
    expect(await db.backup(i2.backup_id)).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'FAILED', integrity_verified: false });
    // A failed incremental is no parent: the chain continues from i1.
    expect((await incremental(db)).base_backup_id).toEqual(i1.backup_id);

    // Restoring is always the full backup plus WAL; the chain lists the
    // incrementals that end before the target.
    const p1 = await db.plan('time', db.at(300));
    expect(p1.base.backup_hk).toBe(b1.hex);
    expect(p1.chain).toEqual([b1.hex, i1.backup_id.toString('hex')]);
    const p2 = await db.plan('latest', null);
    expect(p2.chain).toEqual([b1.hex, i1.backup_id.toString('hex'), i2.backup_id.toString('hex')]);
    expect(p2.warnings.join(' ')).toContain('failed its verification');
    expect((await db.plan('lsn', lsn(3, 0x10))).chain).toEqual([b1.hex]);
    // An incremental is not a base of its own.
    expect(await sqlState(db.plan('immediate', null, i1.backup_id))).toBe('22023');

    await db.q(`SELECT backup_mgmt.set_setting('restore.root', '/var/lib/backup-mgmt-test/restore')`);
    const [rec] = await db.q('SELECT * FROM backup_mgmt.initiate_recovery($1, $2)', ['latest', null]);
    const links = await db.q('SELECT backup_hk FROM backup_mgmt.recovery_backup_l WHERE recovery_hk = $1', [rec.recovery_id]);
    expect(links.map((x) => x.backup_hk.toString('hex')).sort()).toEqual([b1.hex, i1.backup_id.toString('hex'), i2.backup_id.toString('hex')].sort());
  });
});
