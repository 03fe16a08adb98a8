// Finding 1 (and 8): the database server dies while the agent runs
// pg_basebackup. The agent must live on, reconnect, and bring every job to
// an honest end — COMPLETED (retried on a fresh connection and a fresh
// temporary slot) or FAILED — and every COMPLETED backup must restore to
// exactly the data the source had.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.js';
import { installedDatabase } from '../harness/pack.js';
import { AgentProcess, checksums, ensureBuilt, postgresDir, query, removeDir, restoreBackup, stopAllAgents, waitFor } from '../e2e/support.js';
import { leftovers, NOTHING_LEFT } from './support.js';

// fsync off: each crash restart would otherwise fsync the whole data
// directory first (seconds on a busy disk, ten times); a killed postmaster
// loses nothing the page cache holds, so what is tested stays the same.
const cluster = useCluster({ name: 'fault-kill', settings: { fsync: 'off' } });
let url = '';
let repo = '';
let sysid = '';
let agent: AgentProcess;

beforeAll(async () => {
  await ensureBuilt();
  url = await installedDatabase(cluster(), 'bm_fault_kill');
  repo = await postgresDir(join(cluster().baseDir, 'repo'));
  [{ id: sysid }] = (await query<{ id: string }>(url, 'SELECT system_identifier::text AS id FROM pg_control_system()')) as [{ id: string }];
  // A retry need not wait the default 5 s x attempt here.
  await query(url, `SELECT backup_mgmt.set_setting('job.retry_delay_seconds', '0')`);
  await query(url, 'CREATE TABLE kept (id int PRIMARY KEY, round int NOT NULL, payload text NOT NULL)');
  // Slow enough that the kill lands inside pg_basebackup, fast enough for ten rounds.
  agent = await AgentProcess.start({
    databaseUrl: url,
    repo,
    agentId: 'fault-kill',
    logFile: join(cluster().baseDir, 'agent.log'),
    extraArgs: ['--max-rate', '4M'],
  });
});

afterEach(async () => {
  expect(await leftovers(url, repo, sysid)).toEqual(NOTHING_LEFT);
});

afterAll(async () => {
  await stopAllAgents();
});

interface Outcome {
  backup_status: string;
  error_message: string | null;
  repository_path: string | null;
}

async function jobOf(hk: Buffer): Promise<{ job_id: string; status: string; attempts: number; progress_done: string | null }> {
  const [j] = await query<{ job_id: string; status: string; attempts: number; progress_done: string | null }>(
    url,
    `SELECT job_id, status, attempts, progress_done FROM backup_mgmt.job WHERE subject_hk = $1 AND job_type = 'BACKUP'`,
    [hk],
  );
  return j!;
}

describe('the source server killed mid-backup', () => {
  it('ten times in a row: the agent stays alive, every job ends COMPLETED or FAILED, every COMPLETED one restores identically', async () => {
    const rounds: { hk: Buffer; expected: Awaited<ReturnType<typeof checksums>> }[] = [];
    for (let round = 1; round <= 10; round++) {
      await query(url, `INSERT INTO kept SELECT g, $1, md5(g::text || $1) FROM generate_series(($1 - 1) * 100 + 1, $1 * 100) g`, [round]);
      const expected = await checksums(url, ['kept']);
      const [r] = await query<{ backup_id: Buffer }>(url, 'SELECT backup_id FROM backup_mgmt.create_full_backup(p_verify_backup => false)');
      const hk = r!.backup_id;
      const job = await waitFor(`round ${round}: pg_basebackup streaming`, async () => {
        const j = await jobOf(hk);
        return j.status === 'RUNNING' && Number(j.progress_done) > 0 ? j : undefined;
      });
      expect(agent.log()).toContain(`job ${job.job_id}: pg_basebackup started`);
      await cluster().stop('immediate');
      // Down for a moment: the agent's pooled, slot and LISTEN connections all die now.
      await new Promise((res) => setTimeout(res, 500));
      expect(agent.child.exitCode, agent.log()).toBeNull();
      await cluster().start();
      const [out] = await query<Outcome>(url, `SELECT * FROM backup_mgmt.await_backup($1, '2 minutes')`, [hk]);
      expect(agent.child.exitCode, agent.log()).toBeNull();
      expect(['COMPLETED', 'FAILED']).toContain(out!.backup_status);
      if (out!.backup_status === 'COMPLETED') rounds.push({ hk, expected });
    }
    // The agent logged the lost connections and carried on.
    expect(agent.log()).toMatch(/connection lost|Connection terminated|terminating connection/);
    // A killed attempt is retried, so most rounds complete; each restores to its round's data.
    expect(rounds.length).toBeGreaterThanOrEqual(5);
    const attempts = await query<{ a: number }>(url, `SELECT attempts AS a FROM backup_mgmt.job WHERE job_type = 'BACKUP'`);
    expect(attempts.some((a) => a.a >= 2)).toBe(true);
    const restoreAndCompare = async (i: number) => {
      const { hk, expected } = rounds[i]!;
      const [b] = await query<{ p: string }>(url, 'SELECT repository_path AS p FROM backup_mgmt.backup_list WHERE backup_hk = $1', [hk]);
      const dir = join(cluster().baseDir, `restore-${i}`);
      const restored = await restoreBackup(b!.p, dir, join(cluster().baseDir, `sock-${i}`));
      try {
        expect(await checksums(restored.url('bm_fault_kill'), ['kept'])).toEqual(expected);
      } finally {
        await restored.stop();
        await removeDir(dir);
      }
    };
    // Two at a time: each restore mostly waits for its server's start.
    for (let i = 0; i < rounds.length; i += 2) await Promise.all([i, i + 1].filter((k) => k < rounds.length).map(restoreAndCompare));
  }, 300_000);

  it('an agent killed mid-backup: the retried attempt gets its own temporary slot (finding 8)', async () => {
    const [r] = await query<{ backup_id: Buffer }>(url, 'SELECT backup_id FROM backup_mgmt.create_full_backup(p_verify_backup => false)');
    const hk = r!.backup_id;
    const first = await waitFor('attempt 1 streaming', async () => {
      const j = await jobOf(hk);
      return j.status === 'RUNNING' && j.attempts === 1 && Number(j.progress_done) > 0 ? j : undefined;
    });
    await agent.kill();
    agent = await AgentProcess.start({ ...agent.opts, logFile: join(cluster().baseDir, 'agent-2.log') });
    const slots = new Set<string>();
    await waitFor('attempt 2 streaming', async () => {
      for (const s of await query<{ s: string }>(url, `SELECT slot_name AS s FROM pg_replication_slots WHERE slot_name LIKE 'backup\\_mgmt\\_%'`)) slots.add(s.s);
      const j = await jobOf(hk);
      return j.status === 'RUNNING' && j.attempts === 2 && Number(j.progress_done) > 0;
    });
    for (const s of await query<{ s: string }>(url, `SELECT slot_name AS s FROM pg_replication_slots WHERE slot_name LIKE 'backup\\_mgmt\\_%'`)) slots.add(s.s);
    expect(slots).toContain(`backup_mgmt_job_${first.job_id}_2`);
    const [out] = await query<Outcome>(url, `SELECT * FROM backup_mgmt.await_backup($1, '2 minutes')`, [hk]);
    expect(out!.backup_status).toBe('COMPLETED');
    expect(agent.log()).not.toMatch(/no temporary replication slot/);
  });
});
