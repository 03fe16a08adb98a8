// Retention end to end, with the real agent on a real cluster archiving its
// WAL through wal-push: two full backups, policy "min_redundancy 1,
// retention 0, recovery window 0" → the older one's directory leaves the
// repository, it is EXPIRED in the catalog, the WAL before the kept backup is
// purged from repository and catalog, and the kept backup still restores (a
// restore drill through the agent). Then a crash: the agent is killed between
// renaming a backup into trash/ and removing it; the restarted agent retries
// the job, finishes the trash and marks the backup EXPIRED exactly once.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.js';
import { installedDatabase } from '../harness/pack.js';
import { cliEntry } from '../../src/util/paths.js';
import { AgentProcess, ensureBuilt, postgresDir, query, stopAllAgents, waitFor, withDatabase } from '../e2e/support.js';

const cluster = useCluster({ name: 'retention-e2e', pgCron: false });
const AGENT_ID = 'retention-e2e';
let url = '';
let shopUrl = '';
let repo = '';
let restoreRoot = '';
let sysid = '';
let agent: AgentProcess | undefined;

interface Backup {
  hk: Buffer;
  bk: string;
  path: string;
  startWal: string;
}

async function startAgent(env: Record<string, string> = {}): Promise<AgentProcess> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await AgentProcess.start({
      databaseUrl: url,
      repo,
      agentId: AGENT_ID,
      logFile: join(cluster().baseDir, 'agent.log'),
      extraArgs: ['--wal-scan-seconds', '1', '--restore-root', restoreRoot],
    });
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
  }
}

async function fullBackup(): Promise<Backup> {
  await query(shopUrl, `INSERT INTO t SELECT g, md5(g::text) FROM generate_series((SELECT coalesce(max(id), 0) + 1 FROM t), (SELECT coalesce(max(id), 0) + 2000 FROM t)) g`);
  const [row] = await query<{ backup_id: Buffer }>(url, 'SELECT * FROM backup_mgmt.create_full_backup()');
  const [done] = await query<{ backup_status: string; verification_status: string }>(url, `SELECT * FROM backup_mgmt.await_backup($1, '3 minutes')`, [row!.backup_id]);
  expect(done).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
  const [b] = await query<{ backup_bk: string; repository_path: string; start_wal_file: string }>(
    url,
    'SELECT backup_bk, repository_path, start_wal_file FROM backup_mgmt.backup_list WHERE backup_hk = $1',
    [row!.backup_id],
  );
  return { hk: row!.backup_id, bk: b!.backup_bk, path: b!.repository_path, startWal: b!.start_wal_file };
}

/** Names of the WAL files (not .history) the repository holds. */
function repoWal(): string[] {
  const root = join(repo, sysid, 'wal');
  return readdirSync(root)
    .filter((d) => /^[0-9A-F]{16}$/.test(d))
    .flatMap((d) => readdirSync(join(root, d)))
    .map((n) => /^([0-9A-F]{24}(\.[0-9A-F]{8}\.backup|\.partial)?)-[0-9a-f]{64}\.zst$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
}

/** Switch the segment, and wait until everything archived so far is registered. */
async function archiveAndRegister(): Promise<void> {
  const [{ f }] = (await query<{ f: string }>(url, 'SELECT pg_walfile_name(pg_switch_wal()) AS f')) as [{ f: string }];
  await waitFor(`${f} to be archived and registered`, async () => {
    const files = repoWal();
    if (!files.includes(f)) return false;
    const rows = await query<{ file_name: string }>(url, `SELECT file_name FROM backup_mgmt.wal_archive WHERE system_identifier = $1 AND purged_at IS NULL`, [sysid]);
    const registered = new Set(rows.map((r) => r.file_name));
    return files.every((n) => registered.has(n));
  });
}

async function jobsDone(): Promise<void> {
  await waitFor('the DELETE jobs to finish', async () => {
    const rows = await query<{ status: string; last_error: string | null }>(url, `SELECT status, last_error FROM backup_mgmt.job WHERE job_type = 'DELETE'`);
    const failed = rows.find((r) => r.status === 'FAILED');
    if (failed) throw new Error(`a DELETE job failed: ${failed.last_error}\n${agent?.log()}`);
    return rows.length > 0 && rows.every((r) => r.status === 'SUCCEEDED');
  }, 60_000);
}

async function cleanup(dryRun: boolean): Promise<Map<string, string>> {
  const rows = await query<{ backup_name: string; action_taken: string }>(url, 'SELECT * FROM backup_mgmt.cleanup_expired_backups(NULL, $1)', [dryRun]);
  return new Map(rows.map((r) => [r.backup_name, r.action_taken]));
}

const trash = () => (existsSync(join(repo, sysid, 'trash')) ? readdirSync(join(repo, sysid, 'trash')) : []);

beforeAll(async () => {
  await ensureBuilt();
  url = await installedDatabase(cluster(), 'bm_retention');
  await cluster().createDatabase('shop');
  shopUrl = withDatabase(url, 'shop');
  await query(shopUrl, 'CREATE TABLE t (id int PRIMARY KEY, v text)');
  repo = await postgresDir(join(cluster().baseDir, 'repo'));
  restoreRoot = await postgresDir(join(cluster().baseDir, 'restores'), 0o755);
  await cluster().appendConf({ archive_mode: 'on', archive_command: `${process.execPath} ${cliEntry()} wal-push %p --repo ${repo}` });
  await cluster().restart();
  [{ id: sysid }] = (await query<{ id: string }>(url, 'SELECT system_identifier::text AS id FROM pg_control_system()')) as [{ id: string }];
  // The policy of this test: only the newest verified full backup and what follows it must stay.
  for (const [k, v] of [['retention.period', '0'], ['retention.min_redundancy', '1'], ['retention.recovery_window', '0']]) {
    await query(url, 'SELECT backup_mgmt.set_setting($1, $2)', [k, v]);
  }
  agent = await startAgent();
});

afterAll(async () => {
  await stopAllAgents();
});

describe('DELETE jobs through the real agent', () => {
  let b1: Backup;
  let b2: Backup;

  it('removes the expired backup and the WAL before the kept one; the kept backup still restores', async () => {
    b1 = await fullBackup();
    await archiveAndRegister();
    b2 = await fullBackup();
    await archiveAndRegister();
    const before = repoWal();
    expect(before.filter((n) => n < b2.startWal).length).toBeGreaterThan(0);

    const dry = await cleanup(true);
    expect(dry.get(b1.bk)).toBe('WOULD_DELETE');
    expect(dry.get(b2.bk)).toBe('KEEP_MIN_REDUNDANCY');
    expect(dry.get(`WAL timeline 1 before ${b2.startWal}`)).toBe('WOULD_PURGE_WAL');
    expect(existsSync(b1.path)).toBe(true);

    const real = await cleanup(false);
    expect(real.get(b1.bk)).toBe('DELETE_QUEUED');
    expect(real.get(`WAL timeline 1 before ${b2.startWal}`)).toBe('WAL_PURGE_QUEUED');
    await jobsDone();

    // The repository: b1 gone (and no trash left), b2 there, WAL from b2's start on only.
    expect(existsSync(b1.path)).toBe(false);
    expect(trash()).toEqual([]);
    expect(readdirSync(b2.path).sort()).toEqual(['backup_manifest', 'base.tar.zst']);
    const after = repoWal();
    expect(after.filter((n) => n < b2.startWal)).toEqual([]);
    expect(after).toEqual(before.filter((n) => n >= b2.startWal));

    // The catalog: b1 EXPIRED with its files gone, b2 untouched, WAL before b2 purged.
    const [s1] = await query(url, 'SELECT backup_status, files_present FROM backup_mgmt.backup_list WHERE backup_hk = $1', [b1.hk]);
    expect(s1).toEqual({ backup_status: 'EXPIRED', files_present: false });
    const [s2] = await query(url, 'SELECT backup_status, files_present FROM backup_mgmt.backup_list WHERE backup_hk = $1', [b2.hk]);
    expect(s2).toEqual({ backup_status: 'COMPLETED', files_present: true });
    const wal = await query<{ file_name: string; purged: boolean }>(
      url,
      `SELECT file_name, purged_at IS NOT NULL AS purged FROM backup_mgmt.wal_archive WHERE system_identifier = $1 AND file_name ~ '^[0-9A-F]{24}'`,
      [sysid],
    );
    expect(wal.filter((w) => w.purged !== w.file_name < b2.startWal)).toEqual([]);
    const [{ p }] = (await query<{ p: { base: { backup_bk: string } } }>(url, `SELECT backup_mgmt.plan_recovery('latest', NULL) AS p`)) as [{ p: { base: { backup_bk: string } } }];
    expect(p.base.backup_bk).toBe(b2.bk);

    // The proof: a restore drill of the kept backup through the agent.
    const [drill] = await query<{ recovery_id: Buffer }>(url, 'SELECT * FROM backup_mgmt.create_restore_drill($1)', [b2.hk]);
    const [rec] = await query<{ recovery_status: string; validation_status: string; error_message: string | null }>(
      url,
      `SELECT * FROM backup_mgmt.await_recovery($1, '3 minutes')`,
      [drill!.recovery_id],
    );
    expect(rec, `${JSON.stringify(rec)}\n${agent!.log().slice(-3000)}`).toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED' });
    const [tested] = await query(url, 'SELECT recovery_tested, recovery_test_success FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [b2.hk]);
    expect(tested).toEqual({ recovery_tested: true, recovery_test_success: true });
  });

  it('an agent killed between rename and removal: the retried job finishes the trash and expires the backup once', async () => {
    const b3 = await fullBackup();
    await archiveAndRegister();
    await agent!.stop();
    const crashing = await startAgent({ BACKUP_MGMT_TEST_CRASH_AFTER: 'delete-rename' });

    const real = await cleanup(false);
    expect(real.get(b2.bk)).toBe('DELETE_QUEUED');
    const exit = await crashing.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(crashing.log()).toMatch(/BACKUP_MGMT_TEST_CRASH_AFTER=delete-rename, killing the agent/);

    // Halfway: the directory is in trash/, the job still RUNNING, the backup still COMPLETED.
    expect(existsSync(b2.path)).toBe(false);
    expect(trash().filter((n) => n.startsWith(`${b2.bk}.`))).toHaveLength(1);
    const [job] = await query<{ job_id: string; status: string; attempts: number }>(
      url,
      `SELECT job_id, status, attempts FROM backup_mgmt.job WHERE job_type = 'DELETE' AND subject_hk = $1`,
      [b2.hk],
    );
    expect(job).toMatchObject({ status: 'RUNNING', attempts: 1 });
    const [mid] = await query(url, 'SELECT backup_status FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [b2.hk]);
    expect(mid!.backup_status).toBe('COMPLETED');
    // Idempotent meanwhile: nothing new is queued.
    const again = await cleanup(false);
    expect(again.get(b2.bk)).toBe('DELETE_PENDING');
    expect(again.get(`WAL timeline 1 before ${b3.startWal}`)).toBe('WAL_PURGE_PENDING');

    // The restarted agent takes the job back (its predecessor's lease expires at registration).
    agent = await startAgent();
    await jobsDone();
    const [done] = await query<{ attempts: number; result: { backup: { removed: boolean; trash_removed: number } } }>(
      url,
      'SELECT attempts, result FROM backup_mgmt.job WHERE job_id = $1',
      [job!.job_id],
    );
    expect(done!.attempts).toBe(2);
    expect(done!.result.backup).toMatchObject({ removed: false, trash_removed: 1 });
    expect(trash()).toEqual([]);
    const versions = await query<{ backup_status: string }>(
      url,
      'SELECT backup_status FROM backup_mgmt.backup_execution_s WHERE backup_hk = $1 ORDER BY load_date',
      [b2.hk],
    );
    expect(versions.filter((v) => v.backup_status === 'EXPIRED')).toHaveLength(1);
    expect(versions.at(-1)!.backup_status).toBe('EXPIRED');
    expect(repoWal().filter((n) => n < b3.startWal)).toEqual([]);
    expect(existsSync(b3.path)).toBe(true);
  });
});
