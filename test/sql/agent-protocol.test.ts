// The SQL side of src/agent/PROTOCOL.md: the test plays the agent by calling
// agent_register, claim_job, job_progress, complete_job, fail_job, ... directly.
import { describe, expect, it } from 'vitest';
import { protocol } from '../../codegen/protocol.js';
import { FullBackupPlan, VerifyPlan } from '../../src/agent/protocol.js';
import { REPO, SYSID, type Job, fullBackupResult, sleep, sqlError, sqlState, usePack } from './helpers.js';
import { seedQuery } from '../harness/seed-queries.js';

const pack = usePack();

/** Jobs without a subject handler (DELETE), to test the queue alone. */
async function insertDeleteJob(db: Awaited<ReturnType<typeof pack.freshDb>>, priority: number, runAfter = 'now()'): Promise<string> {
  const [row] = await db.q<{ job_id: string }>(
    `INSERT INTO backup_mgmt.job (job_type, subject_hk, plan, priority, run_after)
     VALUES ('DELETE', sha256(random()::text::bytea), '{"kind": "test"}', $1, ${runAfter}) RETURNING job_id`,
    [priority],
  );
  return row!.job_id;
}

describe('registration and liveness', () => {
  it('registers, re-registers, heartbeats and stops an agent', async () => {
    const db = await pack.freshDb();
    await db.registerAgent('agent-1', `${REPO}//`, { cpu_count: 2, pg_basebackup: 'pg_basebackup (PostgreSQL) 15.18' });
    let agent = await db.one('SELECT * FROM backup_mgmt.agent');
    expect(agent).toMatchObject({ agent_id: 'agent-1', hostname: 'test-host', pid: 4242, repository_root: REPO, stopped_at: null });
    expect(agent.info).toMatchObject({ cpu_count: 2 });
    // The first agent's root becomes the configured root list.
    expect(await db.one(`SELECT backup_mgmt.setting('repository.roots') AS v`)).toEqual({ v: REPO });

    const renewed = await db.one<{ n: number }>(`SELECT backup_mgmt.agent_heartbeat('agent-1') AS n`);
    expect(renewed.n).toBe(0);
    await db.q(`SELECT backup_mgmt.agent_stopped('agent-1')`);
    agent = await db.one('SELECT * FROM backup_mgmt.agent');
    expect(agent.stopped_at).not.toBeNull();

    await db.registerAgent('agent-1', '/srv/other');
    agent = await db.one('SELECT * FROM backup_mgmt.agent');
    expect(agent).toMatchObject({ repository_root: '/srv/other', stopped_at: null });
    // A second root does not replace the configured list; it is allowed anyway.
    expect(await db.one(`SELECT backup_mgmt.setting('repository.roots') AS v`)).toEqual({ v: REPO });
    expect(await db.one(`SELECT backup_mgmt.validate_repository_path('/srv/other/x') AS v`)).toEqual({ v: '/srv/other/x' });
  });

  it('refuses bad registrations and unknown agents', async () => {
    const db = await pack.freshDb();
    const reg = (id: unknown, root: unknown, info: unknown = {}) =>
      db.q('SELECT backup_mgmt.agent_register($1, $2, $3, $4, $5, $6)', [id, 'h', 1, root, null, JSON.stringify(info)]);
    expect(await sqlState(reg(null, REPO))).toBe('22004');
    expect(await sqlState(reg('has space', REPO))).toBe('22023');
    expect(await sqlState(reg('a', 'relative'))).toBe('22023');
    expect(await sqlState(reg('a', '/x/../y'))).toBe('22023');
    expect(await sqlState(reg('a', REPO, [1, 2]))).toBe('22023');
    expect((await db.counts()).agents).toBe(0);

    expect(await sqlState(db.q(`SELECT backup_mgmt.agent_heartbeat('ghost')`))).toBe('55000');
    expect(await sqlState(db.q(`SELECT backup_mgmt.agent_stopped('ghost')`))).toBe('55000');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.claim_job('ghost')`))).toBe('55000');
    await db.registerAgent();
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.claim_job('agent-1', '{}')`))).toBe('22023');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.claim_job('agent-1', '{BACKUP,COFFEE}')`))).toBe('22023');
  });
});

describe('the job contract (codegen/protocol.ts)', () => {
  it('job types come from the model: claim_job and the job table follow _job_types()', async () => {
    const db = await pack.freshDb();
    const names = protocol.jobTypes.map((t) => t.name);
    expect(await db.one(`SELECT backup_mgmt._job_types() AS t`)).toEqual({ t: names });
    await db.registerAgent();
    const e = await sqlError(db.q(`SELECT * FROM backup_mgmt.claim_job('agent-1', '{BACKUP,COFFEE}')`));
    expect([e.code, e.hint]).toEqual(['22023', `Job types: ${names.join(', ')}.`]);
    const bad = await sqlError(
      db.q(`INSERT INTO backup_mgmt.job (job_type, subject_hk, plan) VALUES ('COFFEE', sha256('x'::bytea), '{}')`),
    );
    expect([bad.code, bad.constraint]).toEqual(['23514', 'chk_job_type']);
  });

  it('the plans SQL writes carry every key the model requires and parse with the agent\'s schemas', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const backup = await db.createFullBackup();
    const job = await db.jobFor(backup.backup_id);
    const required = async (type: string, kind: string) =>
      (await db.one<{ k: string[] }>(`SELECT backup_mgmt._job_plan_required($1, $2) AS k`, [type, kind])).k;
    expect(await required('BACKUP', 'full')).toContain('repository_root');
    for (const k of await required('BACKUP', 'full')) expect(job.plan).toHaveProperty(k);
    expect(FullBackupPlan.safeParse(job.plan).success).toBe(true);

    const claimed = (await db.claim())!;
    await db.complete(claimed, fullBackupResult(claimed.plan));
    await db.q(`SELECT backup_mgmt.verify_backup_integrity($1)`, [backup.backup_id]);
    const verify = await db.jobFor(backup.backup_id, 'VERIFY');
    for (const k of await required('VERIFY', 'verify')) expect(verify.plan).toHaveProperty(k);
    expect(VerifyPlan.safeParse(verify.plan).success).toBe(true);
    expect(await required('VERIFY', 'no such kind')).toBeNull();
  });
});

describe('claiming', () => {
  it('hands out due jobs by priority, run_after, job_id, filtered by type', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const late = await insertDeleteJob(db, 5, `now() - interval '1 minute'`);
    const early = await insertDeleteJob(db, 5, `now() - interval '2 minutes'`);
    const urgent = await insertDeleteJob(db, 1);
    const sameTimeA = await insertDeleteJob(db, 7, `'2026-01-01'`);
    const sameTimeB = await insertDeleteJob(db, 7, `'2026-01-01'`);
    await insertDeleteJob(db, 0, `now() + interval '1 hour'`); // not due

    expect(await db.claim('agent-1', ['BACKUP', 'VERIFY'])).toBeUndefined();
    const order: string[] = [];
    for (;;) {
      const job = await db.claim('agent-1', ['DELETE']);
      if (!job) break;
      expect(job).toMatchObject({ status: 'RUNNING', locked_by: 'agent-1', attempts: 1 });
      order.push(job.job_id);
    }
    expect(order).toEqual([urgent, early, late, sameTimeA, sameTimeB]);
  });

  it('skips jobs locked by others (SKIP LOCKED) and gives concurrent claimers different jobs', async () => {
    const db = await pack.freshDb();
    await db.registerAgent('agent-1');
    await db.registerAgent('agent-2');
    const first = await insertDeleteJob(db, 1);
    const second = await insertDeleteJob(db, 2);
    const third = await insertDeleteJob(db, 3);

    // Someone holds the first job's row lock: a claim skips it without waiting.
    const holder = await db.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM backup_mgmt.job WHERE job_id = $1 FOR UPDATE', [first]);
    const t0 = Date.now();
    const got = await db.claim('agent-1');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(got?.job_id).toBe(second);
    await holder.query('ROLLBACK');

    // Two agents at once: two different jobs; then one gets the last, one nothing.
    const [a, b] = await Promise.all([db.claim('agent-1'), db.claim('agent-2')]);
    expect(new Set([a?.job_id, b?.job_id])).toEqual(new Set([first, third]));
    const extra = await insertDeleteJob(db, 1);
    const [c, d] = await Promise.all([db.claim('agent-1'), db.claim('agent-2')]);
    expect([c?.job_id, d?.job_id].filter(Boolean)).toEqual([extra]);
  });

  it('runs one BACKUP at a time, even for concurrent claimers', async () => {
    const db = await pack.freshDb();
    await db.registerAgent('agent-1');
    await db.registerAgent('agent-2');
    const a = await db.createFullBackup();
    const b = await db.createFullBackup({ verify: false });
    expect(b.backup_id).not.toEqual(a.backup_id);

    const claims = await Promise.all([db.claim('agent-1'), db.claim('agent-2')]);
    const running = claims.filter((j): j is Job => j !== undefined);
    expect(running).toHaveLength(1);
    expect(running[0]!.subject_hk).toEqual(a.backup_id);
    const holder = running[0]!.locked_by!;
    const other = holder === 'agent-1' ? 'agent-2' : 'agent-1';

    // Other work still flows while the backup runs.
    const del = await insertDeleteJob(db, 9);
    expect((await db.claim(other))?.job_id).toBe(del);
    expect(await db.claim(other)).toBeUndefined();

    await db.complete(running[0]!, fullBackupResult(running[0]!.plan), holder);
    const next = await db.claim(other);
    expect(next?.subject_hk).toEqual(b.backup_id);
    expect((await db.current(b.backup_id)).backup_status).toBe('RUNNING');
  });
});

describe('leases', () => {
  it('reclaims an expired lease, retries, then fails the backup "agent lost"', async () => {
    const db = await pack.freshDb();
    await db.registerAgent('agent-1');
    await db.registerAgent('agent-2');
    await db.q(`SELECT backup_mgmt.set_setting('job.lease_seconds', '2')`);
    await db.q(`SELECT backup_mgmt.set_setting('job.max_attempts', '2')`);
    const row = await db.createFullBackup();

    const first = (await db.claim('agent-1')) as Job;
    expect(first.attempts).toBe(1);
    // A heartbeat keeps it; silence loses it.
    await sleep(1_200);
    expect(await db.one(`SELECT backup_mgmt.agent_heartbeat('agent-1') AS n`)).toEqual({ n: 1 });
    await sleep(1_200);
    expect(await db.claim('agent-2')).toBeUndefined();
    await sleep(2_100);

    const second = (await db.claim('agent-2')) as Job;
    expect(second).toMatchObject({ job_id: first.job_id, attempts: 2, locked_by: 'agent-2', status: 'RUNNING' });
    // The first agent finds out on its next report.
    expect(await db.progress(first, 'agent-1')).toBe(false);
    expect(await sqlState(db.complete(first, fullBackupResult(first.plan), 'agent-1'))).toBe('55000');
    expect(await sqlState(db.fail(first, 'late', false, 'agent-1'))).toBe('55000');

    await sleep(2_100);
    expect(await db.claim('agent-1')).toBeUndefined();
    const job = await db.jobFor(row.backup_id);
    expect(job).toMatchObject({ status: 'FAILED', attempts: 2 });
    const cur = await db.current(row.backup_id);
    expect(cur).toMatchObject({ backup_status: 'FAILED', error_code: 'AGENT_LOST', verification_status: null, retry_count: 1 });
    expect(cur.error_message).toBe('agent lost (lease expired) after 2 attempts (last agent: agent-2)');
    const history = await db.history(row.backup_id);
    expect(history.map((h) => h.backup_status)).toEqual(['PENDING', 'RUNNING', 'PENDING', 'RUNNING', 'FAILED']);
    expect(history[2]!.error_message).toMatch(/agent agent-1 lost \(lease expired\) during attempt 1 of 2/);
  });

  it('job_progress stores progress and renews the lease', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    await db.q(`SELECT backup_mgmt.set_setting('job.lease_seconds', '2')`);
    const row = await db.createFullBackup();
    const job = (await db.claim()) as Job;
    for (let i = 1; i <= 4; i++) {
      await sleep(700);
      expect(await db.progress(job, 'agent-1', i * 1000, 4000, 'streaming')).toBe(true);
    }
    // 2.8 s after the claim, the lease still holds thanks to the reports.
    expect(await db.claim('agent-1')).toBeUndefined();
    const listed = await db.one('SELECT * FROM backup_mgmt.backup_list WHERE backup_hk = $1', [row.backup_id]);
    expect(listed).toMatchObject({ backup_status: 'RUNNING', job_id: job.job_id, progress_done: '4000', progress_total: '4000', progress_phase: 'streaming', agent_id: 'agent-1' });
    // Progress is not history.
    expect((await db.history(row.backup_id)).map((h) => h.backup_status)).toEqual(['PENDING', 'RUNNING']);
    expect(await sqlState(db.q(`SELECT backup_mgmt.job_progress(999999, 'agent-1', 1, 2, 'x')`))).toBe('55000');
    expect(await sqlState(db.q(`SELECT backup_mgmt.job_progress($1, 'agent-1', -1, 2, 'x')`, [job.job_id]))).toBe('22023');
    expect(await db.progress(job, 'agent-2')).toBe(false);
  });

  it('a re-registering agent gives up what its previous incarnation held', async () => {
    const db = await pack.freshDb();
    await db.registerAgent('host-a');
    const row = await db.createFullBackup();
    const first = (await db.claim('host-a')) as Job;
    // The process dies (SIGKILL) and comes back under the same id.
    await db.registerAgent('host-a');
    const second = (await db.claim('host-a')) as Job;
    expect(second).toMatchObject({ job_id: first.job_id, attempts: 2, locked_by: 'host-a' });
    const history = await db.history(row.backup_id);
    expect(history.map((h) => h.backup_status)).toEqual(['PENDING', 'RUNNING', 'PENDING', 'RUNNING']);
    expect(history[2]!.error_message).toMatch(/agent host-a lost \(lease expired\) during attempt 1 of 3/);
  });

  it('release_job puts the job back without using an attempt; agent_stopped releases what is left', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const row = await db.createFullBackup();
    const job = (await db.claim()) as Job;
    await db.q('SELECT backup_mgmt.release_job($1, $2)', [job.job_id, 'agent-1']);
    expect(await db.jobFor(row.backup_id)).toMatchObject({ status: 'QUEUED', attempts: 0, locked_by: null });
    expect((await db.current(row.backup_id)).backup_status).toBe('PENDING');

    const again = (await db.claim()) as Job;
    expect(again.attempts).toBe(1);
    await db.q(`SELECT backup_mgmt.agent_stopped('agent-1')`);
    expect(await db.jobFor(row.backup_id)).toMatchObject({ status: 'QUEUED', attempts: 0 });
    const history = await db.history(row.backup_id);
    expect(history.map((h) => h.backup_status)).toEqual(['PENDING', 'RUNNING', 'PENDING', 'RUNNING', 'PENDING']);
    expect(history.at(-1)!.backup_start_time).toEqual(history[0]!.requested_at);
  });
});

describe('completing and failing', () => {
  it('records PENDING -> RUNNING -> COMPLETED -> VERIFIED with sizes, LSNs and storage', async () => {
    const db = await pack.freshDb();
    // Real people: an operator asks, the agent's role reports.
    await db.q(`CREATE ROLE alice LOGIN IN ROLE backup_operator`);
    await db.q(`CREATE ROLE agent_bob LOGIN IN ROLE backup_agent`);
    const bob = await db.connect('agent_bob');
    await bob.query(`SELECT backup_mgmt.agent_register('agent-1', 'h', 1, $1, NULL, '{"cpu_count": 2}')`, [REPO]);
    const alice = await db.connect('alice');
    const { rows: [row] } = await alice.query('SELECT * FROM backup_mgmt.create_full_backup()');
    const { rows: [job] } = await bob.query<Job>(`SELECT * FROM backup_mgmt.claim_job('agent-1')`);
    await bob.query(`SELECT backup_mgmt.job_progress($1, 'agent-1', 5000000, 10000000, 'streaming')`, [job!.job_id]);
    const result = fullBackupResult(job!.plan);
    await bob.query(`SELECT backup_mgmt.complete_job($1, 'agent-1', $2)`, [job!.job_id, JSON.stringify(result)]);

    const history = await db.history(row.backup_id);
    expect(history.map((h) => [h.backup_status, h.verification_status])).toEqual([
      ['PENDING', 'PENDING'],
      ['RUNNING', 'PENDING'],
      ['COMPLETED', 'PENDING'],
      ['COMPLETED', 'VERIFIED'],
    ]);
    expect(history.map((h) => h.changed_by)).toEqual(['alice', 'agent_bob', 'agent_bob', 'agent_bob']);
    expect(history.map((h) => h.initiated_by)).toEqual(['alice', 'alice', 'alice', 'alice']);
    for (let i = 1; i < history.length; i++) {
      expect((history[i]!.load_date as Date).getTime()).toBeGreaterThanOrEqual((history[i - 1]!.load_date as Date).getTime());
      expect(history[i - 1]!.load_end_date).toEqual(history[i]!.load_date);
    }
    expect(history.at(-1)!.load_end_date).toBeNull();
    expect(history.map((h) => h.record_source)).toEqual([
      'backup_mgmt.create_full_backup',
      'backup_mgmt.claim_job',
      'backup_mgmt.complete_job',
      'backup_mgmt.complete_job',
    ]);

    const done = history.at(-1)!;
    expect(done).toMatchObject({
      backup_size_bytes: '10000000',
      compressed_size_bytes: '2500000',
      compression_ratio: '4.00',
      backup_duration_seconds: '4.250',
      backup_filename: 'base.tar.zst',
      checksum_algorithm: 'SHA256',
      checksum_value: 'a'.repeat(64),
      integrity_verified: true,
      verification_detail: (result.verification as { detail: string }).detail,
      error_message: null,
      retry_count: 0,
    });
    expect(done.backup_end_time).toEqual(new Date(result.ended_at as string));
    expect(done.verification_date).toEqual(new Date(result.ended_at as string));

    const lsn = await db.q('SELECT * FROM backup_mgmt.backup_lsn_s WHERE backup_hk = $1', [row.backup_id]);
    expect(lsn).toHaveLength(1);
    expect(lsn[0]).toMatchObject({
      start_lsn: '0/2000028',
      stop_lsn: '0/2000138',
      timeline_id: 1,
      start_wal_file: '000000010000000000000002',
      stop_wal_file: '000000010000000000000002',
      pg_version_num: 150018,
      system_identifier: SYSID,
      backup_label: result.backup_label,
      load_end_date: null,
    });
    const storage = await db.q('SELECT * FROM backup_mgmt.backup_storage_s WHERE backup_hk = $1', [row.backup_id]);
    expect(storage).toHaveLength(1);
    expect(storage[0]).toMatchObject({
      repository_root: REPO,
      repository_path: `${REPO}/${SYSID}/backups/${job!.plan.backup_bk}`,
      manifest_sha256: 'a'.repeat(64),
      stored_files: result.stored_files,
      stored_bytes: '2500000',
      agent_id: 'agent-1',
      files_present: true,
    });
    expect(await db.jobFor(row.backup_id)).toMatchObject({ status: 'SUCCEEDED', lease_expires_at: null });

    // The seed's status query and performance query see the real numbers.
    const status = await db.q(seedQuery('Step 4.1: Check backup status'));
    expect(status).toEqual([{ backup_bk: job!.plan.backup_bk, backup_status: 'COMPLETED', backup_size_bytes: '10000000', verification_status: 'VERIFIED' }]);
  });

  it('records a failed verification without failing the backup', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const row = await db.createFullBackup();
    const job = (await db.claim()) as Job;
    await db.complete(job, fullBackupResult(job.plan, { verification: { status: 'FAILED', detail: 'base.tar.zst: checksum mismatch for file "base/1/1259"' } }));
    const cur = await db.current(row.backup_id);
    expect(cur).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'FAILED', integrity_verified: false });
    expect(cur.verification_detail).toMatch(/base\/1\/1259/);
  });

  it('a backup without verification stays SKIPPED: three versions', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const row = await db.createFullBackup({ verify: false, compress: false });
    const job = (await db.claim()) as Job;
    // Without compression the tar can be bigger than the data: ratio 0, not negative.
    await db.complete(job, fullBackupResult(job.plan, { compressed_size_bytes: 10_240_000, backup_label: undefined }));
    const history = await db.history(row.backup_id);
    expect(history.map((h) => [h.backup_status, h.verification_status])).toEqual([
      ['PENDING', 'SKIPPED'],
      ['RUNNING', 'SKIPPED'],
      ['COMPLETED', 'SKIPPED'],
    ]);
    expect(history.at(-1)!.compression_ratio).toBe('0.98');
    expect(history.at(-1)!.verification_detail).toBe('not requested');
    // Without the label's text from the agent, the plan's label is kept.
    expect(await db.one('SELECT backup_label FROM backup_mgmt.backup_lsn_current WHERE backup_hk = $1', [row.backup_id])).toEqual({ backup_label: job.plan.label });
  });

  it('refuses malformed results with 22023 and writes nothing', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    await db.registerAgent('agent-2');
    const row = await db.createFullBackup();
    const job = (await db.claim()) as Job;
    const before = await db.counts();
    const good = fullBackupResult(job.plan);
    const { verification: _v, ...noVerification } = good;
    const { stop_lsn: _s, manifest_sha256: _m, ...twoMissing } = good;
    const bad: Record<string, unknown>[] = [
      twoMissing,
      noVerification,
      { ...good, backup_size_bytes: -1 },
      { ...good, backup_size_bytes: '12.5' },
      { ...good, start_lsn: 'zero' },
      { ...good, stop_lsn: '0/1000000' },
      { ...good, start_wal_file: '../../etc' },
      { ...good, manifest_sha256: 'XYZ' },
      { ...good, started_at: 'yesterday-ish' },
      { ...good, ended_at: '2001-01-01T00:00:00Z' },
      { ...good, stored_files: [] },
      { ...good, stored_files: [{ name: '../base.tar', bytes: 1, sha256: 'b'.repeat(64) }] },
      { ...good, repository_path: '/elsewhere/x' },
      { ...good, repository_path: `${REPO}/../x` },
      { ...good, verification: { status: 'MAYBE' } },
      { ...good, system_identifier: 'abc' },
      { ...good, backup_label: 42 },
    ];
    for (const result of bad) {
      const err = await sqlError(db.complete(job, result));
      expect(err.code, JSON.stringify(result).slice(0, 200)).toBe('22023');
    }
    const missing = await sqlError(db.complete(job, twoMissing));
    expect(missing.message).toMatch(/lacks stop_lsn, manifest_sha256/);
    expect(await sqlState(db.q('SELECT backup_mgmt.complete_job($1, $2, $3)', [job.job_id, 'agent-1', '[1]']))).toBe('22023');
    expect(await sqlState(db.q('SELECT backup_mgmt.complete_job($1, $2, NULL)', [job.job_id, 'agent-1']))).toBe('22004');
    // Not this agent's job, or no such job: 55000.
    expect(await sqlState(db.complete(job, good, 'agent-2'))).toBe('55000');
    expect(await sqlState(db.q(`SELECT backup_mgmt.complete_job(424242, 'agent-1', '{}')`))).toBe('55000');

    expect(await db.counts()).toEqual(before);
    expect(await db.jobFor(row.backup_id)).toMatchObject({ status: 'RUNNING' });
    await db.complete(job, good);
    expect((await db.current(row.backup_id)).backup_status).toBe('COMPLETED');
    // A finished job cannot be reported on again.
    expect(await sqlState(db.complete(job, good))).toBe('55000');
  });

  it('fail_job records the error; a retryable failure goes back to the queue first', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const row = await db.createFullBackup();
    const job = (await db.claim()) as Job;

    await db.fail(job, 'pg_basebackup: error: could not connect: connection refused', true);
    let queued = await db.jobFor(row.backup_id);
    expect(queued).toMatchObject({ status: 'QUEUED', attempts: 1, locked_by: null });
    const [{ delay }] = (await db.q<{ delay: number }>(`SELECT extract(epoch FROM run_after - now())::float8 AS delay FROM backup_mgmt.job WHERE job_id = $1`, [job.job_id])) as [{ delay: number }];
    expect(delay).toBeGreaterThan(3);
    expect(delay).toBeLessThanOrEqual(5);
    expect(await db.current(row.backup_id)).toMatchObject({ backup_status: 'PENDING', error_code: 'RETRYING', retry_count: 1 });
    expect(await db.claim()).toBeUndefined(); // not due yet

    await db.q(`UPDATE backup_mgmt.job SET run_after = now() WHERE job_id = $1`, [job.job_id]);
    const retry = (await db.claim()) as Job;
    expect(retry.attempts).toBe(2);
    const message = 'pg_basebackup: error: FATAL:  must be superuser or replication role to start walsender';
    await db.fail(retry, message, false);
    queued = await db.jobFor(row.backup_id);
    expect(queued).toMatchObject({ status: 'FAILED', last_error: message });
    const cur = await db.current(row.backup_id);
    expect(cur).toMatchObject({ backup_status: 'FAILED', error_message: message, error_code: 'AGENT_ERROR', verification_status: null });
    expect(Number(cur.backup_duration_seconds)).toBeGreaterThanOrEqual(0);
    expect(await db.one('SELECT * FROM backup_mgmt.await_backup($1)', [row.backup_id])).toMatchObject({ backup_status: 'FAILED', error_message: message });
    expect(await sqlState(db.fail(retry, 'again'))).toBe('55000');
    expect(await sqlState(db.q(`SELECT backup_mgmt.fail_job($1, 'agent-1', NULL)`, [retry.job_id]))).toBe('55000');
  });

  it('fail_job without attempts left fails even when retryable', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    await db.q(`SELECT backup_mgmt.set_setting('job.max_attempts', '1')`);
    const row = await db.createFullBackup();
    const job = (await db.claim()) as Job;
    expect(await sqlState(db.q(`SELECT backup_mgmt.fail_job($1, 'agent-1', '  ')`, [job.job_id]))).toBe('22004');
    await db.fail(job, 'No space left on device', true);
    expect((await db.current(row.backup_id)).backup_status).toBe('FAILED');
  });
});

describe('job finished notifications', () => {
  it('NOTIFYs backup_mgmt_job_finished once per job that ends, at commit, and not for a retry', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const listener = await db.connect();
    const seen: Array<Record<string, unknown>> = [];
    listener.on('notification', (n) => {
      if (n.channel === 'backup_mgmt_job_finished') seen.push(JSON.parse(n.payload!));
    });
    await listener.query('LISTEN backup_mgmt_job_finished');
    const settle = async (n: number) => {
      for (let i = 0; i < 100 && seen.length < n; i++) await sleep(20);
      // Give a stray extra notification the chance to show up.
      await sleep(100);
    };

    // Succeeded.
    const ok = await db.createFullBackup({ verify: false });
    const okJob = (await db.claim())!;
    await db.complete(okJob, fullBackupResult(okJob.plan));
    await settle(1);
    expect(seen).toEqual([{ job_id: Number(okJob.job_id), job_type: 'BACKUP', status: 'SUCCEEDED', subject_hk: ok.backup_id.toString('hex') }]);

    // Retryable failure: back to the queue, nothing finished. Then a final failure.
    const bad = await db.createFullBackup({ verify: false });
    const badJob = (await db.claim())!;
    await db.fail(badJob, 'connection reset', true);
    await settle(2);
    expect(seen).toHaveLength(1);
    await db.q(`UPDATE backup_mgmt.job SET run_after = now() WHERE job_id = $1`, [badJob.job_id]);
    const again = (await db.claim())!;
    await db.fail(again, 'disk full', false);
    await settle(2);
    expect(seen[1]).toEqual({ job_id: Number(badJob.job_id), job_type: 'BACKUP', status: 'FAILED', subject_hk: bad.backup_id.toString('hex') });

    // Cancelled before it started.
    const queued = await db.createFullBackup({ verify: false });
    await db.q('SELECT * FROM backup_mgmt.cancel_backup($1)', [queued.backup_id]);
    await settle(3);
    expect(seen[2]).toMatchObject({ job_type: 'BACKUP', status: 'CANCELLED', subject_hk: queued.backup_id.toString('hex') });

    // A transaction that rolls back announces nothing.
    const rolled = await db.createFullBackup({ verify: false });
    const rolledJob = (await db.claim())!;
    const agent = await db.connect();
    await agent.query('BEGIN');
    await agent.query(`SELECT backup_mgmt.fail_job($1, 'agent-1', 'x', false)`, [rolledJob.job_id]);
    await agent.query('ROLLBACK');
    await settle(4);
    expect(seen).toHaveLength(3);
    expect((await db.jobFor(rolled.backup_id)).status).toBe('RUNNING');
  });
});

describe('cancel_backup', () => {
  it('cancels a PENDING backup at once', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const row = await db.createFullBackup();
    const res = await db.one('SELECT * FROM backup_mgmt.cancel_backup($1)', [row.backup_id]);
    expect(res).toMatchObject({ backup_status: 'CANCELLED', verification_status: 'SKIPPED' });
    expect(res.error_message).toMatch(/^cancelled by postgres at /);
    expect(await db.jobFor(row.backup_id)).toMatchObject({ status: 'CANCELLED' });
    expect(await db.claim()).toBeUndefined();
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.cancel_backup($1)', [row.backup_id]))).toBe('55000');
    // A new request is not coalesced onto a cancelled one.
    expect((await db.createFullBackup()).backup_id).not.toEqual(row.backup_id);
  });

  it('cancels a RUNNING backup through the agent: progress false, fail_job -> CANCELLED', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const row = await db.createFullBackup();
    const job = (await db.claim()) as Job;
    expect(await db.progress(job)).toBe(true);

    const res = await db.one('SELECT * FROM backup_mgmt.cancel_backup($1)', [row.backup_id]);
    expect(res.backup_status).toBe('RUNNING'); // until the agent stops
    expect(await db.one('SELECT * FROM backup_mgmt.cancel_backup($1)', [row.backup_id])).toMatchObject({ backup_status: 'RUNNING' });
    expect(await db.progress(job)).toBe(false);
    expect(await sqlState(db.complete(job, fullBackupResult(job.plan)))).toBe('55000');
    expect(await db.one(`SELECT backup_mgmt.agent_heartbeat('agent-1') AS n`)).toEqual({ n: 0 });

    await db.fail(job, 'pg_basebackup terminated by SIGTERM', false);
    const cur = await db.current(row.backup_id);
    expect(cur).toMatchObject({ backup_status: 'CANCELLED', error_code: 'CANCELLED', verification_status: 'SKIPPED' });
    expect(cur.error_message).toMatch(/^cancelled by postgres at .* \(agent: pg_basebackup terminated by SIGTERM\)$/);
    expect((await db.history(row.backup_id)).map((h) => h.backup_status)).toEqual(['PENDING', 'RUNNING', 'CANCELLED']);
    expect(await db.jobFor(row.backup_id)).toMatchObject({ status: 'CANCELLED' });
    // Acknowledging twice changes nothing.
    await db.fail(job, 'again', false);
    expect(await db.history(row.backup_id)).toHaveLength(3);
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.cancel_backup($1)', [row.backup_id]))).toBe('55000');
  });

  it('finishes a cancellation the agent never acknowledges when its lease runs out', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    await db.q(`SELECT backup_mgmt.set_setting('job.lease_seconds', '1')`);
    const row = await db.createFullBackup();
    await db.claim();
    await db.q('SELECT * FROM backup_mgmt.cancel_backup($1)', [row.backup_id]);
    await sleep(1_100);
    expect(await db.claim()).toBeUndefined();
    const cur = await db.current(row.backup_id);
    expect(cur.backup_status).toBe('CANCELLED');
    expect(cur.error_message).toMatch(/did not acknowledge before its lease expired/);
  });

  it('refuses unknown and NULL ids', async () => {
    const db = await pack.freshDb();
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.cancel_backup($1)', [Buffer.alloc(32, 7)]))).toBe('P0002');
    expect(await sqlState(db.q('SELECT * FROM backup_mgmt.cancel_backup(NULL)'))).toBe('22004');
  });
});

describe('register_wal', () => {
  it('registers new WAL files idempotently and refuses malformed entries', async () => {
    const db = await pack.freshDb();
    const files = [
      { file_name: '000000010000000000000001', timeline_id: 1, start_lsn: '0/1000000', bytes: 16777216, stored_bytes: 65536, sha256: 'd'.repeat(64), archived_at: new Date().toISOString() },
      { file_name: '000000010000000000000002.00000028.backup', timeline_id: 1, bytes: 350, stored_bytes: 300, sha256: 'e'.repeat(64), archived_at: new Date().toISOString() },
    ];
    const reg = (f: unknown) => db.one<{ n: number }>('SELECT backup_mgmt.register_wal($1, $2) AS n', [SYSID, JSON.stringify(f)]);
    expect((await reg(files)).n).toBe(2);
    expect((await reg(files)).n).toBe(0);
    expect((await reg([...files, { ...files[0], file_name: '000000010000000000000003' }])).n).toBe(1);
    for (const bad of [{ ...files[0], file_name: '../../x' }, { ...files[0], sha256: 'x' }, { ...files[0], archived_at: 'soon' }, 42]) {
      expect(await sqlState(reg([bad]))).toBe('22023');
    }
    expect(await sqlState(db.q(`SELECT backup_mgmt.register_wal('x1', '[]')`))).toBe('22023');
    expect(await sqlState(db.q(`SELECT backup_mgmt.register_wal($1, '{}')`, [SYSID]))).toBe('22023');
    expect((await db.counts()).wal_files).toBe(3);
  });
});
