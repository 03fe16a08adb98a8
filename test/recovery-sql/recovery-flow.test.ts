// Recovery requests end to end on the SQL side: initiate, approve / reject /
// cancel by the right people, the RESTORE job as the agent sees it, results
// and failures, restore drills, restore directories, waiting and looking up.
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { RESTORE_ROOT, type Job, type RecoveryDb, ensureRoles, lsn, message, segName, sqlError, sqlState, useRecoveryPack } from './helpers.js';

const pack = useRecoveryPack();

interface SeedRow {
  recovery_id: Buffer;
  recovery_status: string;
  estimated_duration_minutes: number;
  approval_required: boolean;
  backup_source_id: Buffer;
}

async function setup(): Promise<{ db: RecoveryDb } & Awaited<ReturnType<RecoveryDb['history']>>> {
  const db = await pack.freshDb();
  await ensureRoles(db);
  const h = await db.history();
  return { db, ...h };
}

/** One connection per login role, opened in order. */
async function connectAs<R extends string[]>(db: RecoveryDb, ...roles: R): Promise<{ [K in keyof R]: pg.Client }> {
  const clients: pg.Client[] = [];
  for (const role of roles) clients.push(await db.connect(role));
  return clients as { [K in keyof R]: pg.Client };
}

/** What the agent reports after a successful restore (PROTOCOL.md "RESTORE job"). */
function restoreResult(job: Job, overrides: Record<string, unknown> = {}) {
  return {
    restore_directory: job.plan.restore_directory,
    restore_port: 54399,
    recovery_end_time: new Date().toISOString(),
    recovery_duration_seconds: 42.5,
    reached: { lsn: job.plan.target.lsn ?? job.plan.base.stop_lsn, time: new Date().toISOString() },
    validation: { status: 'PASSED', records_recovered: 12345, data_size_recovered: 98765432, detail: '17 tables counted' },
    kept_running: !job.plan.drill,
    ...overrides,
  };
}

describe('initiating', () => {
  it('records a PENDING point-in-time recovery with its plan, links and estimate, and queues nothing', async () => {
    const { db, b1, b2 } = await setup();
    const olga = await db.connect('rec_olga');
    const { rows: [r] } = await olga.query<SeedRow>(`SELECT * FROM backup_mgmt.initiate_point_in_time_recovery(NULL, $1)`, [db.at(400)]);
    expect(r).toMatchObject({ recovery_status: 'PENDING', approval_required: true, estimated_duration_minutes: 1 });
    expect(r!.backup_source_id).toEqual(b2.hk);

    const rec = await db.recovery(r!.recovery_id);
    expect(rec).toMatchObject({
      recovery_type: 'POINT_IN_TIME', recovery_target: 'FULL_DATABASE', target_kind: 'time', initiated_by: 'rec_olga',
      is_drill: false, approved_by: null, source_backup_bk: b2.bk, job_id: null, estimated_duration_minutes: 1,
    });
    expect(new Date(rec.target_point_in_time).toISOString()).toBe(db.at(400));
    expect(rec.recovery_bk).toMatch(/^RECOVERY_POINT_IN_TIME_\d{8}_\d{6}_\d{6}$/);
    expect(rec.restore_directory).toBe(`${RESTORE_ROOT}/${rec.recovery_bk}`);
    expect(rec.plan.base.backup_bk).toBe(b2.bk);
    // 1 GiB per minute until a restore has been measured.
    expect(rec.plan.estimate).toMatchObject({ basis: 'default', throughput_bytes_per_second: 17895697, minutes: 1 });
    const links = await db.q('SELECT backup_hk FROM backup_mgmt.recovery_backup_l WHERE recovery_hk = $1', [r!.recovery_id]);
    expect(links.map((l) => l.backup_hk)).toEqual([b2.hk]);
    expect(await db.q(`SELECT 1 FROM backup_mgmt.job WHERE job_type = 'RESTORE'`)).toEqual([]);

    // The seed's own call (approval required) and an LSN recovery to a chosen directory.
    const { rows: [seed] } = await olga.query<SeedRow>(
      `SELECT * FROM backup_mgmt.initiate_point_in_time_recovery(NULL::BYTEA, $1::timestamptz, 'FULL_DATABASE', true)`, [db.at(200)]);
    expect(seed!.backup_source_id).toEqual(b1.hk);
    const { rows: [own] } = await olga.query(`SELECT * FROM backup_mgmt.initiate_recovery('lsn', $1, $2)`, [lsn(7), `${RESTORE_ROOT}/incident-42//`]);
    expect(own).toMatchObject({ recovery_status: 'PENDING', restore_directory: `${RESTORE_ROOT}/incident-42` });
  });

  it('refuses bad requests with the right SQLSTATE and leaves no recovery row behind', async () => {
    const { db } = await setup();
    const olga = await db.connect('rec_olga');
    const before = await db.counts();
    const pitr = (t: unknown, tenant: unknown = null, target: unknown = 'FULL_DATABASE', approval: unknown = true) =>
      olga.query('SELECT * FROM backup_mgmt.initiate_point_in_time_recovery($1, $2, $3, $4)', [tenant, t, target, approval]);

    const early = await sqlError(pitr(db.at(60)));
    expect(early.code).toBe('22023');
    expect(message(early)).toMatch(/^target .* is outside the recoverable window \d{4}-.* \.\. \d{4}-/);
    expect(await sqlState(pitr(db.at(900)))).toBe('22023');
    expect(await sqlState(pitr(db.at(400), Buffer.alloc(32, 1)))).toBe('0A000');
    expect(await sqlState(pitr(db.at(400), null, 'SINGLE_TABLE'))).toBe('0A000');
    expect(await sqlState(pitr(null))).toBe('22004');
    expect(await sqlState(pitr(db.at(400), null, 'FULL_DATABASE', null))).toBe('22004');
    // Skipping approval is for admins only.
    expect(await sqlState(pitr(db.at(400), null, 'FULL_DATABASE', false))).toBe('42501');
    const init = (kind: string, value: string | null, dir: string | null = null) =>
      olga.query('SELECT * FROM backup_mgmt.initiate_recovery($1, $2, $3)', [kind, value, dir]);
    expect(await sqlState(init('name', 'nope'))).toBe('P0002');
    expect(await sqlState(init('lsn', lsn(13, 5)))).toBe('22023');
    expect(await sqlState(init('lsn', lsn(7), '/tmp/elsewhere'))).toBe('22023');
    expect(await sqlState(init('lsn', lsn(7), RESTORE_ROOT))).toBe('22023');
    expect(await sqlState(init('lsn', lsn(7), `${RESTORE_ROOT}/../etc`))).toBe('22023');
    expect(await sqlState(init('lsn', lsn(7), 'relative/dir'))).toBe('22023');
    // Viewers and approvers cannot request recoveries at all.
    const vic = await db.connect('rec_vic');
    expect(await sqlState(vic.query(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL)`))).toBe('42501');
    const al = await db.connect('rec_al');
    expect(await sqlState(al.query(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL)`))).toBe('42501');
    expect(await db.counts()).toEqual(before);
  });

  it('never restores into, around or inside the running cluster, nor into a claimed directory', async () => {
    const db = await pack.freshDb();
    await db.history();
    const dataDir = (await db.one(`SELECT current_setting('data_directory') AS d`)).d as string;
    const parent = dataDir.replace(/\/[^/]+$/, '');
    const grand = parent.replace(/\/[^/]+$/, '');
    await db.q(`SELECT backup_mgmt.set_setting('restore.root', $1)`, [grand]);
    const before = await db.counts();
    for (const dir of [dataDir, `${dataDir}/restored`, parent]) {
      const err = await sqlError(db.q(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, $1)`, [dir]));
      expect(err.code, dir).toBe('22023');
      expect(message(err)).toMatch(/overlaps the data directory/);
    }
    expect(await db.counts()).toEqual(before);

    const [first] = await db.q(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, $1)`, [`${grand}/restore-a`]);
    expect(first.restore_directory).toBe(`${grand}/restore-a`);
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, $1)`, [`${grand}/restore-a/sub`]))).toBe('22023');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, $1)`, [grand]))).toBe('22023');
  });

  it('needs a restore root to choose a directory', async () => {
    const db = await pack.freshDb();
    await db.registerAgent(null);
    await db.archive([1, 2, 3]);
    await db.fullBackup({ startSeg: 2, stopSeg: 2, stopAt: 122 });
    const err = await sqlError(db.q(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL)`));
    expect(err.code).toBe('55000');
    expect(err.hint).toMatch(/restore\.root/);
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, '/srv/restore/x')`))).toBe('22023');
    expect(await db.one(`SELECT backup_mgmt.set_setting('restore.root', '/srv/restore//') AS v`)).toEqual({ v: '/srv/restore' });
    expect(await sqlState(db.q(`SELECT backup_mgmt.set_setting('restore.root', 'srv')`))).toBe('22023');
    const [r] = await db.q(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, '/srv/restore/x')`);
    expect(r.restore_directory).toBe('/srv/restore/x');
  });
});

describe('approval', () => {
  it('needs a different member of recovery_approver; then the RESTORE job is queued and announced', async () => {
    const { db } = await setup();
    const [olga, amy, al, vic] = await connectAs(db, 'rec_olga', 'rec_amy', 'rec_al', 'rec_vic');
    const { rows: [r] } = await olga.query<SeedRow>(`SELECT * FROM backup_mgmt.initiate_point_in_time_recovery(NULL, $1)`, [db.at(400)]);
    const id = r!.recovery_id;

    expect(await sqlState(olga.query('SELECT * FROM backup_mgmt.approve_recovery($1)', [id]))).toBe('42501');
    expect(await sqlState(vic.query('SELECT * FROM backup_mgmt.approve_recovery($1)', [id]))).toBe('42501');
    // Amy is an approver, but may not approve her own request.
    const { rows: [own] } = await amy.query(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL)`);
    const self = await sqlError(amy.query('SELECT * FROM backup_mgmt.approve_recovery($1)', [own.recovery_id]));
    expect(self.code).toBe('42501');
    expect(self.message).toMatch(/a different person must approve/);
    expect((await db.recovery(id)).recovery_status).toBe('PENDING');

    const listener = await db.connect();
    const notes: string[] = [];
    listener.on('notification', (n) => notes.push(n.payload ?? ''));
    await listener.query('LISTEN backup_mgmt_jobs');
    const { rows: [approved] } = await al.query('SELECT * FROM backup_mgmt.approve_recovery($1, $2)', [id, 'INC-42: restore to before the bad deploy']);
    expect(approved).toMatchObject({ recovery_status: 'APPROVED', approved_by: 'rec_al', approval_comment: 'INC-42: restore to before the bad deploy', job_status: 'QUEUED' });
    expect(approved.approval_date).not.toBeNull();
    for (let i = 0; i < 50 && notes.length === 0; i++) await new Promise((res) => setTimeout(res, 100));
    expect(notes).toEqual([String(approved.job_id)]);

    const job = await db.one<Job>(`SELECT * FROM backup_mgmt.job WHERE subject_hk = $1`, [id]);
    expect(job).toMatchObject({ job_type: 'RESTORE', status: 'QUEUED' });
    const rec = await db.recovery(id);
    expect(job.plan).toMatchObject({
      kind: 'restore', recovery_hk: id.toString('hex'), recovery_bk: rec.recovery_bk, restore_directory: rec.restore_directory,
      drill: false, keep_running: true, validation: { compare_table_counts: true },
      base: rec.plan.base, wal: rec.plan.wal, target: rec.plan.target, restore_settings: rec.plan.restore_settings,
    });
    // Approving twice, or after a decision: 55000.
    expect(await sqlState(al.query('SELECT * FROM backup_mgmt.approve_recovery($1)', [id]))).toBe('55000');
    expect(await sqlState(al.query('SELECT * FROM backup_mgmt.approve_recovery($1)', [Buffer.alloc(32, 3)]))).toBe('P0002');
  });

  it('rejects: the recovery never runs', async () => {
    const { db } = await setup();
    const olga = await db.connect('rec_olga');
    const al = await db.connect('rec_al');
    const { rows: [r] } = await olga.query<SeedRow>(`SELECT * FROM backup_mgmt.initiate_recovery('time', $1)`, [db.at(600)]);
    const id = r!.recovery_id;
    expect(await sqlState(olga.query('SELECT * FROM backup_mgmt.reject_recovery($1, $2)', [id, 'no']))).toBe('42501');
    expect(await sqlState(al.query('SELECT * FROM backup_mgmt.reject_recovery($1, $2)', [id, ' ']))).toBe('22004');
    const { rows: [rej] } = await al.query('SELECT * FROM backup_mgmt.reject_recovery($1, $2)', [id, 'restore a copy of one table instead']);
    expect(rej).toMatchObject({ recovery_status: 'REJECTED', approval_comment: 'restore a copy of one table instead', job_id: null });
    expect(await sqlState(al.query('SELECT * FROM backup_mgmt.approve_recovery($1)', [id]))).toBe('55000');
    expect(await sqlState(olga.query('SELECT * FROM backup_mgmt.cancel_recovery($1)', [id]))).toBe('55000');
    expect(await db.claim(['RESTORE'])).toBeUndefined();
    expect(await db.q(`SELECT 1 FROM backup_mgmt.job WHERE job_type = 'RESTORE'`)).toEqual([]);
    const [done] = await db.q('SELECT * FROM backup_mgmt.await_recovery($1, $2)', [id, '1 second']);
    expect(done.recovery_status).toBe('REJECTED');
  });

  it('lets admins skip approval: queued at once', async () => {
    const { db } = await setup();
    const ada = await db.connect('rec_ada');
    const { rows: [r] } = await ada.query(`SELECT * FROM backup_mgmt.initiate_recovery('lsn', $1, NULL, false)`, [lsn(7, 0x10)]);
    expect(r).toMatchObject({ recovery_status: 'APPROVED', approval_required: false });
    const rec = await db.recovery(r.recovery_id);
    expect(rec).toMatchObject({ approval_required: false, approved_by: null, job_status: 'QUEUED', initiated_by: 'rec_ada' });
    const { rows: [seed] } = await ada.query(`SELECT * FROM backup_mgmt.initiate_point_in_time_recovery(NULL, $1, 'FULL_DATABASE', false)`, [db.at(400)]);
    expect(seed.recovery_status).toBe('APPROVED');
  });

  it('cancels: the requester or an admin, pending or queued', async () => {
    const { db } = await setup();
    const [olga, otto, al, ada] = await connectAs(db, 'rec_olga', 'rec_otto', 'rec_al', 'rec_ada');
    const mk = async () => (await olga.query(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL)`)).rows[0].recovery_id as Buffer;

    const a = await mk();
    expect(await sqlState(otto.query('SELECT * FROM backup_mgmt.cancel_recovery($1)', [a]))).toBe('42501');
    const { rows: [ca] } = await olga.query('SELECT * FROM backup_mgmt.cancel_recovery($1)', [a]);
    expect(ca).toMatchObject({ recovery_status: 'CANCELLED', error_code: 'CANCELLED' });
    expect(ca.error_message).toMatch(/^cancelled by rec_olga at /);

    const b = await mk();
    await al.query('SELECT * FROM backup_mgmt.approve_recovery($1)', [b]);
    const { rows: [cb] } = await ada.query('SELECT * FROM backup_mgmt.cancel_recovery($1)', [b]);
    expect(cb).toMatchObject({ recovery_status: 'CANCELLED', job_status: 'CANCELLED' });
    expect(await db.claim(['RESTORE'])).toBeUndefined();
    expect(await sqlState(ada.query('SELECT * FROM backup_mgmt.cancel_recovery($1)', [b]))).toBe('55000');

    // Running: the agent learns it from job_progress and acknowledges.
    const c = await mk();
    await al.query('SELECT * FROM backup_mgmt.approve_recovery($1)', [c]);
    const job = (await db.claim(['RESTORE']))!;
    expect((await db.recovery(c)).recovery_status).toBe('RUNNING');
    await olga.query('SELECT * FROM backup_mgmt.cancel_recovery($1)', [c]);
    expect((await db.one('SELECT backup_mgmt.job_progress($1, $2, 1, 2, $3) AS ok', [job.job_id, 'agent-r', 'restoring'])).ok).toBe(false);
    await db.fail(job, 'stopped: cancelled; restore directory removed');
    const rec = await db.recovery(c);
    expect(rec).toMatchObject({ recovery_status: 'CANCELLED', error_code: 'CANCELLED' });
    expect(rec.error_message).toMatch(/agent: stopped/);
  });
});

describe('the RESTORE job', () => {
  it('runs: RUNNING on claim, COMPLETED with the measured RTO and validation', async () => {
    const { db, b2 } = await setup();
    const ada = await db.connect('rec_ada');
    const { rows: [r] } = await ada.query(`SELECT * FROM backup_mgmt.initiate_recovery('time', $1, NULL, false)`, [db.at(400)]);
    const id = r.recovery_id as Buffer;
    const job = (await db.claim(['RESTORE']))!;
    expect(job.subject_hk).toEqual(id);
    const running = await db.recovery(id);
    expect(running).toMatchObject({ recovery_status: 'RUNNING', agent_id: 'agent-r', job_status: 'RUNNING' });

    const before = await db.counts();
    for (const bad of [
      restoreResult(job, { restore_directory: '/somewhere/else' }),
      restoreResult(job, { recovery_duration_seconds: -1 }),
      restoreResult(job, { validation: { status: 'GREAT' } }),
      restoreResult(job, { restore_port: 70000 }),
      restoreResult(job, { reached: { lsn: lsn(5) } }),
      restoreResult(job, { validation: undefined }),
    ]) {
      expect(await sqlState(db.complete(job, bad)), JSON.stringify(bad)).toBe('22023');
    }
    expect(await db.counts()).toEqual(before);

    await db.complete(job, restoreResult(job, { reached: { lsn: lsn(6, 0x2000), time: db.at(405) } }));
    const [done] = await db.q('SELECT * FROM backup_mgmt.await_recovery($1)', [id]);
    expect(done).toMatchObject({
      recovery_status: 'COMPLETED', validation_status: 'PASSED', records_recovered: '12345', data_size_recovered: '98765432',
      recovery_duration_seconds: '42.500', restore_port: 54399, kept_running: true, reached_lsn: lsn(6, 0x2000), job_status: 'SUCCEEDED',
      source_backup_bk: b2.bk,
    });
    const s = await db.one('SELECT * FROM backup_mgmt.recovery_operation_current WHERE recovery_hk = $1', [id]);
    expect(s).toMatchObject({ data_integrity_verified: true, validation_performed: true, recovery_success_rate: '100.00' });
    // Not a drill: the backup's drill columns stay untouched.
    expect((await db.backup(b2.hk)).recovery_tested).toBeNull();
    const statuses = await db.q('SELECT recovery_status FROM backup_mgmt.recovery_operation_s WHERE recovery_hk = $1 ORDER BY load_date', [id]);
    expect(statuses.map((x) => x.recovery_status)).toEqual(['APPROVED', 'RUNNING', 'COMPLETED']);

    // The next estimate uses the measured throughput.
    const p = await db.plan('time', db.at(400));
    expect(p.estimate.basis).toBe('measured');
    expect(p.estimate.throughput_bytes_per_second).toBe(Math.round(p.estimate.bytes / 42.5));
  });

  it("fails: FAILED with the agent's error; retries go back to APPROVED", async () => {
    const { db } = await setup();
    const ada = await db.connect('rec_ada');
    const { rows: [r] } = await ada.query(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, NULL, false)`);
    const id = r.recovery_id as Buffer;
    const j1 = (await db.claim(['RESTORE']))!;
    await db.fail(j1, 'wal-fetch: 00000001000000000000000B checksum mismatch', true);
    expect(await db.recovery(id)).toMatchObject({ recovery_status: 'APPROVED', error_code: 'RETRYING' });
    await db.q(`UPDATE backup_mgmt.job SET run_after = now() WHERE job_id = $1`, [j1.job_id]);
    const j2 = (await db.claim(['RESTORE']))!;
    expect(j2.job_id).toBe(j1.job_id);
    await db.fail(j2, 'FATAL: recovery ended before configured recovery target was reached');
    const rec = await db.recovery(id);
    expect(rec).toMatchObject({ recovery_status: 'FAILED', error_code: 'AGENT_ERROR', error_message: 'FATAL: recovery ended before configured recovery target was reached' });
    expect(Number(rec.recovery_duration_seconds)).toBeGreaterThanOrEqual(0);
  });
});

describe('restore drills', () => {
  it('drills the newest completed backup, verified or not, and records the outcome on it', async () => {
    const { db, b1, b3 } = await setup();
    const olga = await db.connect('rec_olga');
    const { rows: [d] } = await olga.query('SELECT * FROM backup_mgmt.create_restore_drill()');
    expect(d).toMatchObject({ recovery_status: 'APPROVED' });
    // B3's verification FAILED: a drill must still be able to run and tell.
    expect(d.backup_source_id).toEqual(b3.hk);
    const rec = await db.recovery(d.recovery_id);
    expect(rec).toMatchObject({ recovery_type: 'RESTORE_DRILL', is_drill: true, approval_required: false, target_kind: 'immediate', target_value: b3.bk, initiated_by: 'rec_olga' });
    expect(rec.recovery_bk).toMatch(/^RECOVERY_RESTORE_DRILL_/);
    expect(rec.restore_directory).toBe(`${RESTORE_ROOT}/${rec.recovery_bk}`);

    const job = (await db.claim(['RESTORE']))!;
    expect(job.plan).toMatchObject({ drill: true, keep_running: false, restore_settings: { recovery_target: 'immediate' } });
    expect(await sqlState(db.complete(job, restoreResult(job, { kept_running: true })))).toBe('22023');
    await db.complete(job, restoreResult(job, {
      restore_port: 54400,
      recovery_duration_seconds: 12.25,
      validation: { status: 'FAILED', records_recovered: 0, data_size_recovered: 0, detail: 'server did not start: invalid checkpoint record' },
    }));
    expect(await db.backup(b3.hk)).toMatchObject({ recovery_tested: true, recovery_test_success: false, recovery_test_duration_seconds: '12.250' });
    expect(await db.recovery(d.recovery_id)).toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'FAILED', error_code: 'VALIDATION_FAILED' });

    // A drill of a given backup that passes.
    const { rows: [d2] } = await olga.query('SELECT * FROM backup_mgmt.create_restore_drill($1)', [b1.hk]);
    const job2 = (await db.claim(['RESTORE']))!;
    expect(job2.subject_hk).toEqual(d2.recovery_id);
    await db.complete(job2, restoreResult(job2, { recovery_duration_seconds: 8 }));
    const tested = await db.backup(b1.hk);
    expect(tested).toMatchObject({ recovery_tested: true, recovery_test_success: true, recovery_test_duration_seconds: '8.000' });
    expect(tested.recovery_test_date).not.toBeNull();
  });

  it('records a drill the agent could not finish as a failed test', async () => {
    const { db, b2 } = await setup();
    const { rows: [d] } = await (await db.connect('rec_olga')).query('SELECT * FROM backup_mgmt.create_restore_drill($1)', [b2.hk]);
    const job = (await db.claim(['RESTORE']))!;
    await db.fail(job, 'base.tar.zst: zstd: data corruption detected');
    expect(await db.recovery(d.recovery_id)).toMatchObject({ recovery_status: 'FAILED', error_message: 'base.tar.zst: zstd: data corruption detected' });
    expect(await db.backup(b2.hk)).toMatchObject({ recovery_tested: true, recovery_test_success: false });
  });

  it('refuses what cannot be drilled', async () => {
    const db = await pack.freshDb();
    await ensureRoles(db);
    await db.registerAgent();
    const vic = await db.connect('rec_vic');
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.create_restore_drill()'))).toBe('55000');
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.create_restore_drill($1)', [Buffer.alloc(32, 9)]))).toBe('P0002');
    const [pending] = await db.q('SELECT * FROM backup_mgmt.create_full_backup()');
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.create_restore_drill($1)', [pending.backup_id]))).toBe('55000');
    expect(await sqlState(vic.query('SELECT * FROM backup_mgmt.create_restore_drill()'))).toBe('42501');
    expect((await db.counts()).recoveries).toBe(0);
  });
});

describe('looking recoveries up', () => {
  it('finds them by id or key, waits for them, and shows them to viewers', async () => {
    const { db } = await setup();
    const olga = await db.connect('rec_olga');
    const vic = await db.connect('rec_vic');
    expect(await sqlState(olga.query(`SELECT * FROM backup_mgmt.initiate_recovery('name', 'x')`))).toBe('P0002');
    await db.q(`INSERT INTO backup_mgmt.restore_point (name, lsn, timeline, system_identifier) VALUES ('pre_migration', $1, 1, $2)`, [lsn(7, 0x800), db.sysid]);
    const { rows: [n] } = await olga.query(`SELECT * FROM backup_mgmt.initiate_recovery('name', 'pre_migration')`);
    const hex = (n.recovery_id as Buffer).toString('hex');

    const { rows: [byHex] } = await vic.query('SELECT * FROM backup_mgmt.get_recovery($1)', [hex.toUpperCase()]);
    expect(byHex).toMatchObject({ recovery_bk: n.recovery_bk, target_kind: 'name', target_value: 'pre_migration', target_lsn: lsn(7, 0x800) });
    const { rows: [byKey] } = await vic.query('SELECT * FROM backup_mgmt.get_recovery($1)', [n.recovery_bk.toLowerCase()]);
    expect(byKey.recovery_hk).toEqual(n.recovery_id);
    expect(await sqlState(vic.query('SELECT * FROM backup_mgmt.get_recovery($1)', ['RECOVERY_POINT_IN_TIME_20000101_000000_000000']))).toBe('P0002');
    expect(await sqlState(vic.query('SELECT * FROM backup_mgmt.get_recovery($1)', ['drop table x']))).toBe('22023');
    expect((await vic.query('SELECT count(*)::int AS n FROM backup_mgmt.recovery_list')).rows[0].n).toBe(1);
    const { rows: [w] } = await vic.query('SELECT * FROM backup_mgmt.recoverable_window()');
    expect(w.newest_segment).toBe(segName(12));
    await vic.query(`SELECT backup_mgmt.plan_recovery('latest', NULL)`);
    expect(await sqlState(vic.query(`SELECT * FROM backup_mgmt.await_recovery($1, '0 s')`, [n.recovery_id]))).toBe('42501');

    const pending = await sqlError(olga.query(`SELECT * FROM backup_mgmt.await_recovery($1, '0.3 s')`, [n.recovery_id]));
    expect(pending.code).toBe('57014');
    expect(pending.detail).toMatch(/approve_recovery/);
    expect(await sqlState(olga.query(`SELECT * FROM backup_mgmt.await_recovery($1)`, [Buffer.alloc(32, 4)]))).toBe('P0002');

    // An approver waits for the outcome while the agent works.
    const al = await db.connect('rec_al');
    await al.query('SELECT * FROM backup_mgmt.approve_recovery($1)', [n.recovery_id]);
    const waiting = al.query(`SELECT * FROM backup_mgmt.await_recovery($1, '30 s')`, [n.recovery_id]);
    const job = (await db.claim(['RESTORE']))!;
    await db.complete(job, restoreResult(job));
    const { rows: [done] } = await waiting;
    expect(done).toMatchObject({ recovery_status: 'COMPLETED', reached_lsn: lsn(7, 0x800) });
  });
});
