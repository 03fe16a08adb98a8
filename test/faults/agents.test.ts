// Findings 2, 4 and 5: agents that collide or die. A second live agent under
// an id in use is refused and no attempt runs twice; a restore that runs out
// of attempts leaves no server behind; staging that no live job owns is
// removed by the janitor.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.js';
import { installedDatabase } from '../harness/pack.js';
import { AgentProcess, ensureBuilt, postgresDir, postgresIds, query, runCli, stopAllAgents, waitFor } from '../e2e/support.js';
import { leftovers, NOTHING_LEFT } from './support.js';

const cluster = useCluster({ name: 'fault-agents' });
let url = '';
let repo = '';
let restoreRoot = '';
let sysid = '';
let logNo = 0;

beforeAll(async () => {
  await ensureBuilt();
  url = await installedDatabase(cluster(), 'bm_fault_agents');
  repo = await postgresDir(join(cluster().baseDir, 'repo'));
  restoreRoot = await postgresDir(join(cluster().baseDir, 'restores'), 0o755);
  [{ id: sysid }] = (await query<{ id: string }>(url, 'SELECT system_identifier::text AS id FROM pg_control_system()')) as [{ id: string }];
  await query(url, `SELECT backup_mgmt.set_setting('job.retry_delay_seconds', '0')`);
});

afterEach(async () => {
  await stopAllAgents();
  expect(await leftovers(url, repo, sysid, restoreRoot)).toEqual(NOTHING_LEFT);
});

afterAll(async () => {
  await stopAllAgents();
});

function startAgent(agentId: string, extraArgs: string[] = []): Promise<AgentProcess> {
  return AgentProcess.start({
    databaseUrl: url,
    repo,
    agentId,
    logFile: join(cluster().baseDir, `agent-${++logNo}-${agentId}.log`),
    extraArgs: ['--restore-root', restoreRoot, ...extraArgs],
  });
}

/** pids of the pg_basebackup processes writing into this backup's staging directories. */
function basebackupsFor(bk: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (cmd.some((a) => a.endsWith('/pg_basebackup')) && cmd.some((a) => a.includes(`/staging/${bk}.`))) pids.push(Number(p));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

describe('two agents with the same id', () => {
  it('the second is refused with one line; the running attempt is the only one and completes', async () => {
    const first = await startAgent('fault-twin', ['--max-rate', '1M']);
    const [r] = await query<{ backup_id: Buffer }>(url, 'SELECT backup_id FROM backup_mgmt.create_full_backup(p_verify_backup => false)');
    const hk = r!.backup_id;
    const [{ bk }] = (await query<{ bk: string }>(url, 'SELECT backup_bk AS bk FROM backup_mgmt.backup_execution_h WHERE backup_hk = $1', [hk])) as [{ bk: string }];
    await waitFor('the first agent to stream', async () => basebackupsFor(bk).length === 1);

    const seen = new Set<number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const pid of basebackupsFor(bk)) seen.add(pid);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    try {
      const second = await runCli(['agent', '--repo', repo, '--agent-id', 'fault-twin', '--restore-root', restoreRoot], {
        env: { DATABASE_URL: url },
        asPostgres: true,
      });
      expect(second.code).toBe(1);
      const lines = second.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^backup-mgmt: agent id 'fault-twin' is in use by pid ${first.pid} on host \\S+ \\(its last heartbeat was [0-9.]+ s ago\\): start this one with another --agent-id, or stop that one$`));
      // The first agent still holds its lease, its row still names it.
      const [agent] = await query<{ pid: number; stopped_at: Date | null }>(url, `SELECT pid, stopped_at FROM backup_mgmt.agent WHERE agent_id = 'fault-twin'`);
      expect(agent).toEqual({ pid: first.pid, stopped_at: null });
      const [out] = await query<{ backup_status: string }>(url, `SELECT backup_status FROM backup_mgmt.await_backup($1, '2 minutes')`, [hk]);
      expect(out!.backup_status).toBe('COMPLETED');
    } finally {
      sampling = false;
      await sampler;
    }
    // One attempt, one pg_basebackup, one RUNNING in the history.
    const [job] = await query<{ attempts: number; status: string }>(url, `SELECT attempts, status FROM backup_mgmt.job WHERE subject_hk = $1`, [hk]);
    expect(job).toEqual({ attempts: 1, status: 'SUCCEEDED' });
    expect(seen.size).toBe(1);
    const history = await query<{ s: string }>(url, 'SELECT backup_status AS s FROM backup_mgmt.backup_execution_s WHERE backup_hk = $1 ORDER BY load_date', [hk]);
    expect(history.filter((h) => h.s === 'RUNNING')).toHaveLength(1);
    expect(first.child.exitCode).toBeNull();
  });

  it('an agent restarted under the id of a killed one on this host takes over at once', async () => {
    const dead = await startAgent('fault-phoenix');
    await dead.kill();
    const t0 = Date.now();
    const next = await startAgent('fault-phoenix');
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(next.log()).toMatch(new RegExp(`was held by pid ${dead.pid}, which is no longer running here; taking it over`));
  });
});

describe('staging leftovers', () => {
  it('the janitor removes the staging of a backup no live job owns, and reports what it cannot remove until it can', async () => {
    await query(url, `SELECT backup_mgmt.set_setting('job.max_attempts', '1'), backup_mgmt.set_setting('job.lease_seconds', '3')`);
    try {
      const killed = await startAgent('fault-stage-1', ['--max-rate', '1M']);
      const [r] = await query<{ backup_id: Buffer }>(url, 'SELECT backup_id FROM backup_mgmt.create_full_backup(p_verify_backup => false)');
      const [{ bk }] = (await query<{ bk: string }>(url, 'SELECT backup_bk AS bk FROM backup_mgmt.backup_execution_h WHERE backup_hk = $1', [r!.backup_id])) as [{ bk: string }];
      const staging = join(repo, sysid, 'staging');
      await waitFor('staging to fill', async () => existsSync(staging) && readdirSync(staging).length > 0);
      await killed.kill();
      const partial = readdirSync(staging).map((n) => join(staging, n));
      expect(partial).toHaveLength(1);
      // Something the agent's OS user cannot delete, as a read-only repository leaves behind.
      const stuck = join(staging, `${bk}.0123456789ab`);
      await mkdir(join(stuck, 'ro'), { recursive: true });
      await writeFile(join(stuck, 'ro', 'base.tar.zst'), 'x');

      const janitor = await startAgent('fault-stage-2', ['--wal-scan-seconds', '1']);
      const [out] = await query<{ backup_status: string; error_message: string }>(url, `SELECT * FROM backup_mgmt.await_backup($1, '1 minute')`, [r!.backup_id]);
      expect(out!.backup_status).toBe('FAILED');
      expect(out!.error_message).toMatch(/^agent lost \(lease expired\) after 1 attempts/);
      await waitFor('the janitor to remove the partial staging', async () => !existsSync(partial[0]!), 30_000);
      expect(janitor.log()).toContain(`janitor: removed staging leftover ${partial[0]}`);
      const health = async () =>
        (await query<{ status: string; detail: string }>(url, `SELECT status, detail FROM backup_mgmt.health_check() WHERE check_name = 'leftovers'`))[0]!;
      await waitFor('the stuck leftover to be reported', async () => (await health()).status === 'WARNING', 30_000);
      expect((await health()).detail).toMatch(new RegExp(`could not be removed: staging ${stuck} \\(.*EACCES`));

      // Once it can, it does, and the report goes.
      await chown(join(stuck, 'ro'), postgresIds().uid, postgresIds().gid);
      await chown(stuck, postgresIds().uid, postgresIds().gid);
      await waitFor('the janitor to remove it and clear the report', async () => !existsSync(stuck) && (await health()).status === 'OK', 30_000);
    } finally {
      await query(url, `SELECT backup_mgmt.set_setting('job.max_attempts', NULL), backup_mgmt.set_setting('job.lease_seconds', NULL)`);
    }
  });
});
