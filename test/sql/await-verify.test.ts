// await_backup(), verify_backup_integrity(), backup_list and get_backup().
import { describe, expect, it } from 'vitest';
import { type Job, fullBackupResult, sleep, sqlError, sqlState, usePack } from './helpers.js';

const pack = usePack();

type Db = Awaited<ReturnType<typeof pack.freshDb>>;

/** A fresh database with the agent registered. */
async function dbWithAgent(): Promise<Db> {
  const db = await pack.freshDb();
  await db.registerAgent();
  return db;
}

/** A backup taken to the end by the test acting as the agent. */
async function completedBackup(db: Db, verify = true): Promise<{ hk: Buffer; job: Job }> {
  const row = await db.createFullBackup({ verify });
  const job = (await db.claim()) as Job;
  await db.complete(job, fullBackupResult(job.plan));
  return { hk: row.backup_id, job };
}

describe('await_backup', () => {
  it('returns once another session completes the job', async () => {
    const db = await dbWithAgent();
    const row = await db.createFullBackup();
    const waiter = await db.connect();
    const t0 = Date.now();
    const waiting = waiter.query('SELECT * FROM backup_mgmt.await_backup($1, $2)', [row.backup_id, '30 seconds']);

    await sleep(400);
    const job = (await db.claim()) as Job;
    await sleep(400);
    // COMPLETED with verification still to come would not end the wait; the
    // agent reports both at once here, so the wait ends now.
    await db.complete(job, fullBackupResult(job.plan));
    const { rows } = await waiting;
    const elapsed = Date.now() - t0;
    expect(rows).toEqual([
      { backup_id: row.backup_id, backup_status: 'COMPLETED', backup_size_bytes: '10000000', duration_seconds: '4.250', verification_status: 'VERIFIED', error_message: null },
    ]);
    expect(elapsed).toBeGreaterThanOrEqual(800);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('waits for a requested verification, not only for COMPLETED', async () => {
    const db = await dbWithAgent();
    const { hk } = await completedBackup(db);
    await db.q('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [hk]);
    const waiter = await db.connect();
    let done = false;
    const waiting = waiter.query('SELECT * FROM backup_mgmt.await_backup($1, $2)', [hk, '30 seconds']).finally(() => {
      done = true;
    });
    await sleep(700);
    expect(done).toBe(false);
    const verify = (await db.claim()) as Job;
    expect(verify.job_type).toBe('VERIFY');
    await db.complete(verify, { verification: { status: 'FAILED', detail: 'base.tar.zst: sha256 mismatch', verified_at: new Date().toISOString() } });
    const { rows } = await waiting;
    expect(rows[0]).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'FAILED' });
  });

  it('returns at once for a finished backup, failed ones included', async () => {
    const db = await dbWithAgent();
    const { hk } = await completedBackup(db, false);
    expect(await db.one('SELECT * FROM backup_mgmt.await_backup($1)', [hk])).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'SKIPPED' });
    const failed = await db.createFullBackup();
    const job = (await db.claim()) as Job;
    await db.fail(job, 'pg_basebackup: error: could not create directory: Permission denied');
    expect(await db.one('SELECT * FROM backup_mgmt.await_backup($1, $2)', [failed.backup_id, '0 seconds'])).toMatchObject({
      backup_status: 'FAILED',
      // Verification was requested; the backup stored nothing, so there is nothing it was or was not.
      verification_status: null,
      error_message: 'pg_basebackup: error: could not create directory: Permission denied',
    });
  });

  it('times out with 57014 naming the backup and its status', async () => {
    const db = await dbWithAgent();
    const row = await db.createFullBackup();
    const bk = (await db.current(row.backup_id)).backup_bk as string;
    const t0 = Date.now();
    const err = await sqlError(db.q('SELECT * FROM backup_mgmt.await_backup($1, $2)', [row.backup_id, '0.6 seconds']));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    expect(err.code).toBe('57014');
    expect(err.message).toContain(bk);
    expect(err.message).toMatch(/is still PENDING/);
    expect(err.hint).toMatch(/await_backup again/);
  });

  it('refuses unknown ids, bad timeouts, uncommitted requests and snapshot isolation', async () => {
    const db = await dbWithAgent();
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.await_backup($1)', [Buffer.alloc(32, 1)]))).toBe('P0002');
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.await_backup(NULL)'))).toBe('22004');
    const row = await db.createFullBackup();
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.await_backup($1, '-1 second')`, [row.backup_id]))).toBe('22023');

    const c = await db.connect();
    await c.query('BEGIN');
    const { rows: [mine] } = await c.query('SELECT * FROM backup_mgmt.create_full_backup(NULL, NULL, $1, false)', ['LOCAL']);
    expect(await sqlState(c.query(`SELECT * FROM backup_mgmt.await_backup($1, '5 seconds')`, [mine.backup_id]))).toBe('55000');
    await c.query('ROLLBACK');

    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    expect(await sqlState(c.query(`SELECT * FROM backup_mgmt.await_backup($1, '5 seconds')`, [row.backup_id]))).toBe('0A000');
    await c.query('ROLLBACK');
  });
});

describe('verify_backup_integrity', () => {
  it('queues a VERIFY job for a completed backup and returns PENDING', async () => {
    const db = await dbWithAgent();
    const { hk, job } = await completedBackup(db);
    const listener = await db.connect();
    const notes: string[] = [];
    listener.on('notification', (n) => notes.push(n.payload ?? ''));
    await listener.query('LISTEN backup_mgmt_jobs');

    const res = await db.one('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [hk]);
    expect(Object.keys(res)).toEqual(['backup_id', 'verification_status', 'integrity_verified', 'checksum_valid', 'error_message']);
    expect(res).toEqual({ backup_id: hk, verification_status: 'PENDING', integrity_verified: null, checksum_valid: null, error_message: null });
    const verify = await db.jobFor(hk, 'VERIFY');
    expect(verify).toMatchObject({ status: 'QUEUED', job_type: 'VERIFY' });
    expect(verify.plan).toEqual({
      kind: 'verify',
      backup_hk: hk.toString('hex'),
      backup_bk: job.plan.backup_bk,
      repository_path: fullBackupResult(job.plan).repository_path,
    });
    for (let i = 0; i < 50 && notes.length === 0; i++) await sleep(20);
    expect(notes).toEqual([String(verify.job_id)]);

    // Asking again while it is queued reuses the job.
    await db.q('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [hk]);
    expect((await db.q(`SELECT 1 FROM backup_mgmt.job WHERE job_type = 'VERIFY'`)).length).toBe(1);

    const claimed = (await db.claim()) as Job;
    expect(claimed.job_id).toBe(verify.job_id);
    await db.complete(claimed, { verification: { status: 'VERIFIED', detail: 'ok', verified_at: new Date().toISOString() } });
    const after = await db.one('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [hk]);
    expect(after.verification_status).toBe('PENDING'); // a new request, a new job
    const history = await db.history(hk);
    expect(history.map((h) => h.verification_status)).toEqual(['PENDING', 'PENDING', 'PENDING', 'VERIFIED', 'PENDING', 'VERIFIED', 'PENDING']);
    expect(history.map((h) => h.backup_status).slice(2)).toEqual(Array(5).fill('COMPLETED'));
  });

  it('reports a failed or lost verification as FAILED with the reason', async () => {
    const db = await dbWithAgent();
    const { hk } = await completedBackup(db);
    await db.q('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [hk]);
    const job = (await db.claim()) as Job;
    await db.fail(job, 'cannot read /repo/x/backup_manifest: No such file or directory');
    const res = await db.one('SELECT * FROM backup_mgmt.backup_list WHERE backup_hk = $1', [hk]);
    expect(res).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'FAILED' });
    expect(res.verification_detail).toMatch(/did not run to completion: cannot read/);
    await expect(db.q('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [hk])).resolves.toHaveLength(1);
  });

  it('refuses backups that are not COMPLETED or whose files are gone', async () => {
    const db = await dbWithAgent();
    const pending = await db.createFullBackup();
    const before = await db.counts();
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [pending.backup_id]))).toBe('55000');
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [Buffer.alloc(32, 9)]))).toBe('P0002');
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.verify_backup_integrity(NULL)'))).toBe('22004');
    expect(await db.counts()).toEqual(before);

    const job = (await db.claim()) as Job;
    await db.complete(job, fullBackupResult(job.plan));
    await db.q(`SELECT backup_mgmt.backup_storage_s_load($1, '{"files_present": false}', 'test')`, [pending.backup_id]);
    const err = await sqlError(db.q('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [pending.backup_id]));
    expect(err.code).toBe('55000');
    expect(err.message).toMatch(/not present/);
  });
});

describe('backup_list and get_backup', () => {
  it('lists backups and finds one by hash key or business key', async () => {
    const db = await dbWithAgent();
    const { hk, job } = await completedBackup(db);
    const running = await db.createFullBackup();
    const runningJob = (await db.claim()) as Job;
    await db.progress(runningJob, 'agent-1', 123, 456, 'streaming');

    const list = await db.q('SELECT * FROM backup_mgmt.backup_list ORDER BY requested_at');
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({
      backup_bk: job.plan.backup_bk,
      backup_type: 'FULL',
      backup_status: 'COMPLETED',
      verification_status: 'VERIFIED',
      backup_duration_seconds: '4.250',
      backup_size_bytes: '10000000',
      compressed_size_bytes: '2500000',
      compression_ratio: '4.00',
      start_lsn: '0/2000028',
      stop_lsn: '0/2000138',
      timeline_id: 1,
      repository_path: fullBackupResult(job.plan).repository_path,
      error_message: null,
      job_id: null,
      progress_done: null,
    });
    expect(list[1]).toMatchObject({ backup_status: 'RUNNING', job_id: runningJob.job_id, progress_done: '123', progress_total: '456', progress_phase: 'streaming' });

    const byHex = await db.q('SELECT * FROM backup_mgmt.get_backup($1)', [hk.toString('hex').toUpperCase()]);
    const byBytea = await db.q('SELECT * FROM backup_mgmt.get_backup($1)', [`\\x${hk.toString('hex')}`]);
    const byKey = await db.q('SELECT * FROM backup_mgmt.get_backup($1)', [` ${job.plan.backup_bk.toLowerCase()} `]);
    expect(byHex).toEqual([list[0]]);
    expect(byBytea).toEqual([list[0]]);
    expect(byKey).toEqual([list[0]]);
    expect((await db.q('SELECT * FROM backup_mgmt.get_backup($1)', [running.backup_id.toString('hex')]))[0]).toMatchObject({ backup_status: 'RUNNING' });

    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.get_backup('nope; DROP TABLE x')`))).toBe('22023');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.get_backup('abc123')`))).toBe('22023');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.get_backup($1)`, ['0'.repeat(64)]))).toBe('P0002');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.get_backup('FULL_BACKUP_SYSTEM_20000101_000000_000000')`))).toBe('P0002');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.get_backup(NULL)`))).toBe('22004');
  });
});
