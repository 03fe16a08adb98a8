// Recovery as an operation (issue 4, acceptance 3–5), with the real agent
// and real restores: four-eyes approval (the requester and a role without
// recovery_approver cannot approve; approved runs, rejected never does), a
// WAL segment missing from the archive (the gap shows, a target after it is
// refused, one before it restores), restore drills recording their outcome on
// the backup (also for a corrupted backup), and cancelling a running restore.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupMgmt } from '../../src/client/index.js';
import { parseLsn, walFileNameForLsn } from '../../src/storage/wal-names.js';
import { runCommand } from '../../src/util/process.js';
import { useCluster } from '../harness/cluster.js';
import { AgentProcess, query, runCli, stopAllAgents, waitFor, withDatabase } from './support.js';
import {
  archiveNow,
  archivingCluster,
  dropRestored,
  restoredUrl,
  tarMember,
  Workload,
  workloadChecksums,
  type ArchivingSetup,
  type Commit,
} from './recovery-support.js';

const cluster = useCluster({ name: 'e2e-recops' });
let env: ArchivingSetup;
let workload: Workload;
let bm: BackupMgmt;
let fullHk: Buffer;
let fullBk = '';
const restored = new Set<string>();
/** A commit before the WAL gap made below: still recoverable from the first full backup. */
let beforeGap: Commit | undefined;

const as = (user: string) => {
  const u = new URL(env.url);
  u.username = user;
  return u.toString();
};
const sqlError = (p: Promise<unknown>) => p.then(() => undefined, (e: Error & { code?: string }) => e);

beforeAll(async () => {
  env = await archivingCluster(cluster(), 'bm_recops', 'e2e-recops');
  await cluster().createDatabase('shop');
  workload = new Workload(withDatabase(env.url, 'shop'), 7);
  await workload.init();
  bm = new BackupMgmt({ connectionString: env.url });
  await query(
    env.url,
    `CREATE ROLE ops_alice LOGIN IN ROLE backup_operator;
     CREATE ROLE ops_bob LOGIN IN ROLE recovery_approver;
     CREATE ROLE ops_carol LOGIN IN ROLE backup_operator`,
  );
  await workload.run(5);
  const [q] = await query<{ backup_id: Buffer }>(env.url, 'SELECT backup_id FROM backup_mgmt.create_full_backup()');
  const [done] = await query<{ backup_status: string; verification_status: string }>(env.url, `SELECT * FROM backup_mgmt.await_backup($1, '3 minutes')`, [q!.backup_id]);
  expect(done).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
  fullHk = q!.backup_id;
  fullBk = (await bm.getBackup(fullHk.toString('hex'))).backup_bk;
  await workload.run(20);
  await archiveNow(env.url);
});

afterAll(async () => {
  await workload?.close();
  for (const dir of restored) await dropRestored(dir);
  await bm?.close();
  await stopAllAgents();
});

/** The state of the workload tables in a kept restore, then stop and remove it. */
async function checkAndDrop(row: { restore_directory: string; restore_port: number }, commits: number): Promise<void> {
  restored.add(row.restore_directory);
  expect(await workloadChecksums(restoredUrl(row.restore_port, 'shop'))).toEqual(workload.expected(commits));
  await dropRestored(row.restore_directory);
  restored.delete(row.restore_directory);
}

describe('approval (acceptance 3)', () => {
  let approvedHk: Buffer;
  let rejectedHk: Buffer;
  const target = () => workload.commits[14]!;

  it('the requester cannot approve their own request, a role without recovery_approver cannot approve', async () => {
    const [r] = await query<{ recovery_id: Buffer; recovery_status: string; approval_required: boolean }>(
      as('ops_alice'),
      `SELECT * FROM backup_mgmt.initiate_recovery('time', $1)`,
      [target().time],
    );
    expect(r).toMatchObject({ recovery_status: 'PENDING', approval_required: true });
    approvedHk = r!.recovery_id;
    expect((await sqlError(query(as('ops_alice'), 'SELECT * FROM backup_mgmt.approve_recovery($1)', [approvedHk])))?.code).toBe('42501');
    expect((await sqlError(query(as('ops_carol'), 'SELECT * FROM backup_mgmt.approve_recovery($1)', [approvedHk])))?.code).toBe('42501');
    // Skipping the approval is for admins only.
    expect((await sqlError(query(as('ops_alice'), `SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, NULL, false)`)))?.code).toBe('42501');
    // Through the CLI too: one line, with the SQLSTATE.
    const bk = (await bm.getRecovery(approvedHk.toString('hex'))).recovery_bk;
    const cli = await runCli(['recovery', 'approve', bk], { env: { DATABASE_URL: as('ops_carol') } });
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toMatch(/\[SQLSTATE 42501\]/);
    // Still waiting, and no job was queued.
    expect((await bm.getRecovery(bk)).recovery_status).toBe('PENDING');
    expect(await query(env.url, `SELECT 1 FROM backup_mgmt.job WHERE subject_hk = $1`, [approvedHk])).toEqual([]);
  });

  it('approved by a second person it runs and restores the target', async () => {
    const bk = (await bm.getRecovery(approvedHk.toString('hex'))).recovery_bk;
    const cli = await runCli(['recovery', 'approve', bk, '--comment', 'four eyes', '--json'], { env: { DATABASE_URL: as('ops_bob') } });
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ recovery_status: 'APPROVED', approved_by: 'ops_bob', approval_comment: 'four eyes' });
    const [row] = await query(as('ops_alice'), `SELECT * FROM backup_mgmt.await_recovery($1, '4 minutes')`, [approvedHk]);
    expect(row, row!.error_message).toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED', initiated_by: 'ops_alice', approved_by: 'ops_bob' });
    await checkAndDrop(row as never, target().n);
  });

  it('rejected, it never runs', async () => {
    const r = await new BackupMgmt({ connectionString: as('ops_alice') });
    try {
      rejectedHk = (await r.initiateRecovery({ target: { time: target().time } })).recovery_hk;
    } finally {
      await r.close();
    }
    const bob = new BackupMgmt({ connectionString: as('ops_bob') });
    try {
      await expect(bob.rejectRecovery(rejectedHk.toString('hex'), '  ')).rejects.toThrow(/comment/);
      const rejected = await bob.rejectRecovery(rejectedHk.toString('hex'), 'not during business hours');
      expect(rejected).toMatchObject({ recovery_status: 'REJECTED', error_code: 'REJECTED' });
      // Final: nobody can approve it afterwards.
      expect((await sqlError(bob.approveRecovery(rejectedHk.toString('hex'))))?.code).toBe('55000');
    } finally {
      await bob.close();
    }
    const [row] = await query(env.url, `SELECT * FROM backup_mgmt.await_recovery($1, '10 seconds')`, [rejectedHk]);
    expect(row).toMatchObject({ recovery_status: 'REJECTED', job_id: null });
  });

  it('the rejected recovery was never claimed, while the agent went on working', async () => {
    // By now the agent has run the approved recovery and later jobs; none was the rejected one.
    expect(await query(env.url, `SELECT 1 FROM backup_mgmt.job WHERE subject_hk = $1`, [rejectedHk])).toEqual([]);
    const list = await runCli(['recovery', 'list', '--json'], { env: { DATABASE_URL: env.url } });
    const rows = JSON.parse(list.stdout) as { recovery_hk: string; recovery_status: string }[];
    expect(rows.find((x) => x.recovery_hk === rejectedHk.toString('hex'))?.recovery_status).toBe('REJECTED');
  });
});

describe('a missing WAL segment (acceptance 4)', () => {
  let blockA: Commit[];
  let blockC: Commit[];
  let gapSegment = '';

  it('the rescan notices the deleted segment and the recoverable window shows the gap', async () => {
    const start = workload.commits.length;
    await workload.run(12);
    blockA = workload.commits.slice(start);
    await archiveNow(env.url);
    const startB = workload.commits.length;
    await workload.run(12);
    const blockB = workload.commits.slice(startB);
    await archiveNow(env.url);
    const startC = workload.commits.length;
    await workload.run(12);
    blockC = workload.commits.slice(startC);
    await archiveNow(env.url);

    // The segment holding block B's first commit sits between A's and C's.
    const segOf = (c: Commit) => walFileNameForLsn(1, parseLsn(c.lsn) - 1n);
    gapSegment = segOf(blockB[0]!);
    expect(segOf(blockA.at(-1)!) < gapSegment && gapSegment < segOf(blockC[0]!)).toBe(true);
    const dir = join(env.repo, env.sysid, 'wal', gapSegment.slice(0, 16));
    const stored = readdirSync(dir).filter((n) => n.startsWith(`${gapSegment}-`));
    expect(stored).toHaveLength(1);
    rmSync(join(dir, stored[0]!));

    const w = await waitFor(
      'the agent to mark the segment purged',
      async () => {
        const [row] = await bm.recoverableWindow();
        return row && row.wal_gaps.includes(gapSegment) ? row : undefined;
      },
      30_000,
    );
    expect(Number(w.missing_segments)).toBe(1);
    const [purged] = await query(env.url, 'SELECT purged_at FROM backup_mgmt.wal_archive WHERE file_name = $1', [gapSegment]);
    expect(purged!.purged_at).toBeInstanceOf(Date);
    const window = await runCli(['window'], { env: { DATABASE_URL: env.url } });
    expect(window.code).toBe(1);
    expect(window.stdout).toContain(gapSegment);
  });

  it('a target after the gap is refused naming the missing segment; nothing is recorded', async () => {
    const before = await query(env.url, 'SELECT count(*) AS n FROM backup_mgmt.recovery_operation_h');
    const err = await sqlError(bm.initiateRecovery({ target: { time: blockC[5]!.time }, approvalRequired: false }));
    expect(err?.code).toBe('22023');
    expect(err?.message).toContain(`WAL segment ${gapSegment} is missing`);
    const plan = await sqlError(bm.planRecovery({ target: { lsn: blockC[5]!.lsn } }));
    expect(plan?.code).toBe('22023');
    expect(await query(env.url, 'SELECT count(*) AS n FROM backup_mgmt.recovery_operation_h')).toEqual(before);
  });

  it('a target before the gap still restores and matches', async () => {
    const t = blockA[5]!;
    beforeGap = blockA[3]!;
    const requested = await bm.initiateRecovery({ target: { time: t.time }, approvalRequired: false });
    const row = await bm.awaitRecovery(requested.recovery_bk, { timeoutMs: 240_000 });
    expect(row, row.error_message ?? '').toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED' });
    await checkAndDrop(row as never, t.n);
  });
});

describe('restore drills (acceptance 5)', () => {
  it('a drill records recovery_tested with its measured duration and success, and leaves nothing behind', async () => {
    const queued = await bm.createRestoreDrill(fullBk);
    // Queued without approval; the agent may have claimed it already.
    expect(queued).toMatchObject({ is_drill: true, approval_required: false });
    expect(['APPROVED', 'RUNNING']).toContain(queued.recovery_status);
    const seen: string[] = [];
    const row = await bm.awaitRecovery(queued.recovery_bk, { timeoutMs: 240_000, pollMs: 100, onProgress: (p) => seen.push(p.phase ?? '') });
    expect(row, row.error_message ?? '').toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED', kept_running: false, restore_port: null });
    expect(seen).toContain('restoring');
    expect(existsSync(row.restore_directory!)).toBe(false);
    const [b] = await query(env.url, 'SELECT * FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [fullHk]);
    expect(b).toMatchObject({ recovery_tested: true, recovery_test_success: true });
    expect(Number(b!.recovery_test_duration_seconds)).toBeGreaterThan(0);
    expect(Number(b!.recovery_test_duration_seconds)).toBe(Number(row.recovery_duration_seconds));
  });

  it('a drill of a corrupted backup records recovery_test_success = false', async () => {
    const [q] = await query<{ backup_id: Buffer }>(env.url, 'SELECT backup_id FROM backup_mgmt.create_full_backup()');
    await query(env.url, `SELECT 1 FROM backup_mgmt.await_backup($1, '3 minutes')`, [q!.backup_id]);
    const b = await bm.getBackup(q!.backup_id.toString('hex'));
    expect(b.verification_status).toBe('VERIFIED');
    // The agent's presence check would notice the re-compressed file's new size
    // (and rightly refuse a drill of it): the drill is queued before it runs again.
    await env.agent.stop();
    // Flip one byte of the marker table's file inside the stored base.tar.zst.
    const [rel] = await query<{ p: string }>(withDatabase(env.url, 'shop'), `SELECT pg_relation_filepath('marker') AS p`);
    const tarPath = join(cluster().baseDir, 'corrupt.tar');
    await runCommand('zstd', ['-q', '-d', '-f', join(b.repository_path!, 'base.tar.zst'), '-o', tarPath]);
    const tar = readFileSync(tarPath);
    const m = tarMember(tar, rel!.p);
    tar[m.dataOffset + Math.floor(m.size / 2)]! ^= 0x01;
    writeFileSync(tarPath, tar);
    await runCommand('zstd', ['-q', '-3', '-f', tarPath, '-o', `${tarPath}.zst`]);
    renameSync(`${tarPath}.zst`, join(b.repository_path!, 'base.tar.zst'));
    rmSync(tarPath);

    const drill = runCli(['drill', '--backup', b.backup_bk, '--wait', '--json', '--timeout', '240'], { env: { DATABASE_URL: env.url } });
    await waitFor('the drill to be queued', async () => (await query(env.url, `SELECT 1 FROM backup_mgmt.job WHERE job_type = 'RESTORE' AND status = 'QUEUED'`)).length > 0, 30_000);
    env.agent = await AgentProcess.start({ ...env.agent.opts, logFile: join(cluster().baseDir, 'agent-drill.log') });
    const cli = await drill;
    expect(cli.code, cli.stderr).toBe(1);
    const out = JSON.parse(cli.stdout);
    expect(out.is_drill).toBe(true);
    // The restore ran; PostgreSQL's manifest check of the restored files failed it.
    expect(out.recovery_status === 'FAILED' || out.validation_status === 'FAILED', JSON.stringify(out)).toBe(true);
    expect(out.error_message).toContain(rel!.p);
    expect(existsSync(out.restore_directory)).toBe(false);
    const [after] = await query(env.url, 'SELECT * FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [q!.backup_id]);
    expect(after).toMatchObject({ recovery_tested: true, recovery_test_success: false });
  });
});

describe('the agent side of a restore', () => {
  beforeAll(async () => {
    // A base for `latest` after the WAL gap: the full backup taken after it
    // failed its drill above, and PITR does not choose such a backup by itself.
    const [q] = await query<{ backup_id: Buffer }>(env.url, 'SELECT backup_id FROM backup_mgmt.create_full_backup()');
    const [done] = await query(env.url, `SELECT * FROM backup_mgmt.await_backup($1, '3 minutes')`, [q!.backup_id]);
    expect(done).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
    await archiveNow(env.url);
  });

  it('refuses a restore directory that already has content, and leaves it alone', async () => {
    const occupied = join(env.restoreRoot, 'occupied');
    mkdirSync(occupied);
    writeFileSync(join(occupied, 'precious.txt'), 'not yours');
    // Before the gap: the newest backup was corrupted above, and the presence check took it out of planning.
    const requested = await bm.initiateRecovery({ target: { time: beforeGap!.time }, restoreDirectory: occupied, approvalRequired: false });
    const row = await bm.awaitRecovery(requested.recovery_bk, { timeoutMs: 120_000 });
    expect(row).toMatchObject({ recovery_status: 'FAILED', error_code: 'AGENT_ERROR' });
    expect(row.error_message).toMatch(/exists and is not empty/);
    expect(readdirSync(occupied)).toEqual(['precious.txt']);
    rmSync(occupied, { recursive: true });
  });

  it('an agent killed mid-restore: its successor stops the leftover server, clears the directory and completes', async () => {
    expect(beforeGap).toBeDefined();
    const requested = await bm.initiateRecovery({ target: { time: beforeGap!.time }, approvalRequired: false });
    await waitFor(
      'the restored server to be starting',
      async () => ['starting', 'replaying'].includes((await bm.getRecovery(requested.recovery_bk)).progress_phase ?? ''),
      60_000,
      50,
    );
    await env.agent.kill();
    // The restored postmaster was started detached: it outlives the agent.
    const dir = requested.restore_directory!;
    expect(existsSync(join(dir, 'backup_mgmt_restore.json'))).toBe(true);
    env.agent = await AgentProcess.start({ ...env.agent.opts, logFile: join(cluster().baseDir, 'agent-2.log') });
    const row = await bm.awaitRecovery(requested.recovery_bk, { timeoutMs: 240_000 });
    restored.add(dir);
    expect(row, row.error_message ?? '').toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED' });
    const [job] = await query<{ attempts: number }>(env.url, 'SELECT attempts FROM backup_mgmt.job WHERE job_id = $1', [row.job_id]);
    expect(job!.attempts).toBe(2);
    expect(env.agent.log()).toMatch(/removed .*, left by an earlier attempt/);
    await checkAndDrop(row as never, beforeGap!.n);
  });

  it('cancelling a running restore stops it, removes its directory and ends CANCELLED', async () => {
    const requested = await bm.initiateRecovery({ target: { time: beforeGap!.time }, approvalRequired: false });
    await waitFor('the restore to run', async () => (await bm.getRecovery(requested.recovery_bk)).recovery_status === 'RUNNING', 60_000, 50);
    const cancelled = await runCli(['recovery', 'cancel', requested.recovery_bk, '--json'], { env: { DATABASE_URL: env.url } });
    expect(cancelled.code, cancelled.stderr).toBe(0);
    const row = await bm.awaitRecovery(requested.recovery_bk, { timeoutMs: 120_000 });
    expect(row.recovery_status).toBe('CANCELLED');
    expect(row.error_message).toMatch(/cancelled by postgres/);
    await waitFor('the restore directory to be removed', async () => !existsSync(row.restore_directory!), 30_000);
  });
});
