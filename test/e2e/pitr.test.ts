// Point-in-time recovery, end to end (issue 4, acceptance 1 and 2): a
// workload commits marker rows while the real agent takes two full backups
// with WAL-range incrementals between them and archive_command is the real
// wal-push; then random time targets across the whole window, a named restore
// point, an LSN and an xid are each recovered by the agent into a new
// directory, started with pg_ctl, and compared with the state the workload
// recorded for that target. Targets outside the window are refused.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupMgmt } from '../../src/client/index.js';
import { useCluster } from '../harness/cluster.js';
import { query, runCli, stopAllAgents } from './support.js';
import {
  archiveNow,
  archivingCluster,
  dropRestored,
  micros,
  prng,
  restoredUrl,
  shopWorkload,
  Workload,
  workloadChecksums,
  type ArchivingSetup,
} from './recovery-support.js';

const SEED = Number(process.env.BM_PITR_SEED ?? 20261122);
const TIME_TARGETS = 5;

const cluster = useCluster({ name: 'e2e-pitr' });
let env: ArchivingSetup;
let shopUrl = '';
let workload: Workload;
let bm: BackupMgmt;
/** Restored clusters still on disk, stopped in afterAll if a test failed half-way. */
const restored = new Set<string>();
const rtos: { target: string; seconds: number }[] = [];

const requesterUrl = () => withUser(env.url, 'pitr_requester');
const approverUrl = () => withUser(env.url, 'pitr_approver');

function withUser(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  return u.toString();
}

interface Backup {
  hk: Buffer;
  bk: string;
  stopTime: Date;
  stopLsn: string;
}

const backups: Record<string, Backup> = {};
let restorePoint: { name: string; lsn: string; after: number } | undefined;

async function backupFacts(hk: Buffer): Promise<Backup> {
  const [r] = await query<{ backup_bk: string; stop_time: Date; stop_lsn: string; backup_status: string; verification_status: string }>(
    env.url,
    `SELECT c.backup_bk, l.stop_time, l.stop_lsn::text, c.backup_status, c.verification_status
       FROM backup_mgmt.backup_execution_current c JOIN backup_mgmt.backup_lsn_current l USING (backup_hk) WHERE backup_hk = $1`,
    [hk],
  );
  expect(r, 'backup row').toBeDefined();
  expect([r!.backup_status, r!.verification_status]).toEqual(['COMPLETED', 'VERIFIED']);
  return { hk, bk: r!.backup_bk, stopTime: r!.stop_time, stopLsn: r!.stop_lsn };
}

async function fullBackup(): Promise<Backup> {
  const [q] = await query<{ backup_id: Buffer }>(env.url, 'SELECT backup_id FROM backup_mgmt.create_full_backup()');
  await query(env.url, `SELECT 1 FROM backup_mgmt.await_backup($1, '3 minutes')`, [q!.backup_id]);
  return backupFacts(q!.backup_id);
}

async function incrementalBackup(): Promise<Backup> {
  const b = await bm.createIncrementalBackup();
  const done = await bm.awaitBackup(b.backup_bk, { timeoutMs: 180_000 });
  return backupFacts(done.backup_hk);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  env = await archivingCluster(cluster(), 'bm_pitr', 'e2e-pitr');
  ({ shopUrl, workload } = await shopWorkload(cluster(), env.url, SEED));
  bm = new BackupMgmt({ connectionString: env.url });
  // A requester and a second person who approves (four eyes), as login roles.
  await query(env.url, 'CREATE ROLE pitr_requester LOGIN IN ROLE backup_operator; CREATE ROLE pitr_approver LOGIN IN ROLE recovery_approver');
  console.log(`[pitr] seed ${SEED} (BM_PITR_SEED)`);
});

afterAll(async () => {
  await workload?.close();
  for (const dir of restored) await dropRestored(dir);
  await bm?.close();
  await stopAllAgents();
  if (rtos.length) console.log(`[pitr] measured RTO (claim to validated): ${rtos.map((r) => `${r.target} ${r.seconds}s`).join(', ')}`);
});

describe('history: two full backups, incrementals between them, a restore point', () => {
  it('is taken while the workload commits', async () => {
    workload.start();
    await pause(800);
    backups.full1 = await fullBackup();
    await pause(600);
    backups.inc1 = await incrementalBackup();
    await pause(600);
    // The CLI path of an incremental once.
    const cli = await runCli(['backup', 'incremental', '--wait', '--json'], { env: { DATABASE_URL: env.url } });
    expect(cli.code, cli.stderr).toBe(0);
    const inc2 = JSON.parse(cli.stdout);
    expect(inc2).toMatchObject({ backup_type: 'INCREMENTAL', backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
    backups.inc2 = await backupFacts(Buffer.from(inc2.backup_hk, 'hex'));
    await pause(400);
    const rp = await workload.between(() => bm.createRestorePoint('pitr-mid'));
    restorePoint = { name: rp.result.name, lsn: rp.result.lsn, after: rp.after };
    await pause(600);
    backups.full2 = await fullBackup();
    await pause(600);
    backups.inc3 = await incrementalBackup();
    await pause(800);
    await workload.stop();
    await archiveNow(env.url);

    // The incrementals are proven WAL ranges chained to their parents.
    const chain = await query<{ source: string; dependent: string }>(
      env.url,
      `SELECT s.backup_bk AS source, d.backup_bk AS dependent FROM backup_mgmt.backup_dependency_l l
         JOIN backup_mgmt.backup_execution_h s ON s.backup_hk = l.source_backup_hk
         JOIN backup_mgmt.backup_execution_h d ON d.backup_hk = l.dependent_backup_hk ORDER BY d.load_date`,
    );
    expect(chain).toEqual([
      { source: backups.full1.bk, dependent: backups.inc1.bk },
      { source: backups.inc1.bk, dependent: backups.inc2.bk },
      { source: backups.full2.bk, dependent: backups.inc3.bk },
    ]);
    const [inc] = await query(env.url, 'SELECT * FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [backups.inc1.hk]);
    expect(inc!.backup_method).toBe('WAL_ARCHIVE');
    expect(Number(inc!.changes_captured)).toBeGreaterThan(0);
    expect(inc!.verification_detail).toMatch(/WAL segment\(s\) .* checksums and page headers OK/);

    const [w] = await bm.recoverableWindow();
    expect(w!.earliest_backup_bk).toBe(backups.full1.bk);
    expect(w!.wal_gaps).toEqual([]);
    // The newest archived commit is the last one's (its time lies before what was read after it).
    expect(micros(w!.latest_recoverable_time!)).toBeGreaterThan(micros(workload.commits.at(-2)!.time));
    expect(workload.commits.length).toBeGreaterThan(60);
  });
});

/** Restore through the agent, compare with the recorded state, stop the copy. Returns the recovery row. */
async function recoverAndCompare(label: string, expectedCommits: number, initiate: () => Promise<Buffer>) {
  const hk = await initiate();
  const [row] = await query(requesterUrl(), `SELECT * FROM backup_mgmt.await_recovery($1, '4 minutes')`, [hk]);
  if (row!.restore_directory) restored.add(row!.restore_directory);
  expect(row, `${label}: ${row!.error_message}`).toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED', kept_running: true });
  const got = await workloadChecksums(restoredUrl(row!.restore_port, 'shop'));
  expect(got, `${label}: the restored data equals the state after ${expectedCommits} commits`).toEqual(workload.expected(expectedCommits));
  rtos.push({ target: label, seconds: Number(row!.recovery_duration_seconds) });
  // Replay took its WAL from the agent's read-ahead spool, which is gone once the copy promoted.
  const [job] = await query<{ ahead: number | null }>(
    env.url,
    `SELECT (result->>'wal_segments_read_ahead')::int AS ahead FROM backup_mgmt.job WHERE subject_hk = $1 AND job_type = 'RESTORE' AND status = 'SUCCEEDED'`,
    [hk],
  );
  expect(job!.ahead, `${label}: WAL segments read ahead`).toBeGreaterThan(0);
  expect(existsSync(join(row!.restore_directory, 'backup_mgmt_wal_spool'))).toBe(false);
  await dropRestored(row!.restore_directory);
  restored.delete(row!.restore_directory);
  return row!;
}

/** initiate_recovery as the requester, approved by the second person. */
async function requestApproved(kind: string, value: string): Promise<Buffer> {
  const [r] = await query<{ recovery_id: Buffer; recovery_status: string }>(requesterUrl(), 'SELECT * FROM backup_mgmt.initiate_recovery($1, $2)', [kind, value]);
  expect(r!.recovery_status).toBe('PENDING');
  await query(approverUrl(), `SELECT 1 FROM backup_mgmt.approve_recovery($1, 'e2e: restore to ' || $2)`, [r!.recovery_id, `${kind} ${value}`]);
  return r!.recovery_id;
}

describe('refusals (acceptance 2)', () => {
  it('a target before the earliest backup or past the newest archived WAL is refused with the window, leaving no recovery row', async () => {
    const count = async () => Number((await query<{ n: string }>(env.url, 'SELECT count(*) AS n FROM backup_mgmt.recovery_operation_h'))[0]!.n);
    const before = await count();
    const tooEarly = workload.commits.find((c) => micros(c.time) < micros(backups.full1.stopTime))?.time ?? new Date(backups.full1.stopTime.getTime() - 60_000).toISOString();
    const future = new Date(Date.now() + 3600_000).toISOString();
    for (const [kind, value] of [
      ['time', tooEarly],
      ['time', future],
      ['lsn', 'FF/0'],
    ]) {
      const err = await query(requesterUrl(), 'SELECT * FROM backup_mgmt.initiate_recovery($1, $2)', [kind, value]).then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
      expect(err, `${kind} ${value} must be refused`).toBeDefined();
      expect(err!.code).toBe('22023');
      expect(err!.message).toMatch(/outside the recoverable window .+ \.\. .+/);
    }
    // The seed's signature refuses the same way.
    const seedErr = await query(requesterUrl(), 'SELECT * FROM backup_mgmt.initiate_point_in_time_recovery(NULL, $1)', [future]).catch((e) => e);
    expect(seedErr.code).toBe('22023');
    // And so does the CLI, naming the window.
    const cli = await runCli(['restore', '--target-time', future, '--no-approval'], { env: { DATABASE_URL: env.url } });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/outside the recoverable window .* \[SQLSTATE 22023\]/);
    expect(cli.stderr).toMatch(/recoverable window \(timeline 1\): /);
    expect(await count()).toBe(before);
  });
});

describe('recoveries to random targets (acceptance 1)', () => {
  it(`${TIME_TARGETS} random time targets across the window restore exactly the commits up to each`, async () => {
    const rand = prng(SEED ^ 0x5eed);
    const last = workload.commits.length - 1; // a later commit must exist for a time target
    const eligible = workload.commits.slice(0, last).filter((c) => micros(c.time) > micros(backups.full1.stopTime) + 1000n);
    expect(eligible.length).toBeGreaterThan(TIME_TARGETS * 3);
    // One per stratum: spread over the whole window, before and after the second full backup.
    const picks = Array.from({ length: TIME_TARGETS }, (_, i) => {
      const lo = Math.floor((i * eligible.length) / TIME_TARGETS);
      const hi = Math.floor(((i + 1) * eligible.length) / TIME_TARGETS);
      return eligible[lo + Math.floor(rand() * (hi - lo))]!;
    });
    const f2 = micros(backups.full2.stopTime);
    expect(picks.some((c) => micros(c.time) < f2) && picks.some((c) => micros(c.time) > f2)).toBe(true);

    for (const [i, c] of picks.entries()) {
      const row = await recoverAndCompare(`time #${c.n}`, c.n, async () => {
        if (i === 0) {
          // The seed's own signature, with approval.
          const [r] = await query<{ recovery_id: Buffer }>(requesterUrl(), 'SELECT * FROM backup_mgmt.initiate_point_in_time_recovery(NULL, $1::timestamptz)', [c.time]);
          await query(approverUrl(), 'SELECT 1 FROM backup_mgmt.approve_recovery($1)', [r!.recovery_id]);
          return r!.recovery_id;
        }
        if (i % 2 === 1) return requestApproved('time', c.time);
        // An admin may skip the approval (the TypeScript client).
        return (await bm.initiateRecovery({ target: { time: c.time }, approvalRequired: false })).recovery_hk;
      });
      // The base is the newest verified full backup that ended before the target.
      const base = micros(c.time) > f2 ? backups.full2 : backups.full1;
      expect(row.source_backup_bk, `time #${c.n}`).toBe(base.bk);
      expect(micros(row.reached_time ?? c.time)).toBeLessThanOrEqual(micros(c.time));
    }
  }, 400_000);

  it('an LSN target and an xid target restore exactly the commits up to them', async () => {
    const rand = prng(SEED ^ 0x15a);
    const eligible = workload.commits.slice(0, -1).filter((c) => micros(c.time) > micros(backups.full1.stopTime) + 1000n);
    const byLsn = eligible[Math.floor(rand() * eligible.length)]!;
    const lsnRow = await recoverAndCompare(`lsn ${byLsn.lsn} (#${byLsn.n})`, byLsn.n, () => requestApproved('lsn', byLsn.lsn));
    expect(lsnRow.target_kind).toBe('lsn');

    const byXid = eligible[Math.floor(rand() * eligible.length)]!;
    const xidRow = await recoverAndCompare(`xid ${byXid.xid} (#${byXid.n})`, byXid.n, async () =>
      (await bm.initiateRecovery({ target: { xid: byXid.xid }, approvalRequired: false })).recovery_hk,
    );
    expect(xidRow.target_value).toBe(byXid.xid);
  }, 200_000);

  it('the named restore point, through `restore --target-name --wait --json`', async () => {
    expect(restorePoint).toBeDefined();
    const r = await runCli(['restore', '--target-name', restorePoint!.name, '--no-approval', '--wait', '--json', '--timeout', '240'], {
      env: { DATABASE_URL: env.url },
    });
    const out = r.stdout ? JSON.parse(r.stdout) : {};
    if (out.restore_directory) restored.add(out.restore_directory);
    expect(r.code, r.stderr).toBe(0);
    expect(out).toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED', target_kind: 'name', target_value: 'pitr-mid', kept_running: true });
    expect(out.plan.chain.length).toBeGreaterThan(1); // the base and the incrementals before the restore point
    const got = await workloadChecksums(restoredUrl(out.restore_port, 'shop'));
    expect(got).toEqual(workload.expected(restorePoint!.after));
    rtos.push({ target: 'name (CLI)', seconds: Number(out.recovery_duration_seconds) });
    await dropRestored(out.restore_directory);
    restored.delete(out.restore_directory);
  }, 300_000);
});
