// Findings 3, 6 and 7: the window tells the truth. Its own bounds are
// accepted by the planner; a stored segment known damaged is a gap (window,
// planning, health_check naming the file) until it is repaired; a restore
// that fails on it says why in the recovery row and keeps its server log.
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listArchivedWal } from '../../src/storage/wal-list.js';
import { useCluster } from '../harness/cluster.js';
import { archiveNow, archivingCluster, type ArchivingSetup } from '../e2e/recovery-support.js';
import { AgentProcess, query, stopAllAgents, waitFor } from '../e2e/support.js';
import { leftovers, NOTHING_LEFT } from './support.js';

const cluster = useCluster({ name: 'fault-window' });
let env: ArchivingSetup;
const segments: string[] = [];

beforeAll(async () => {
  env = await archivingCluster(cluster(), 'bm_fault_window', 'fault-window');
  await query(env.url, 'CREATE TABLE t (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  const [b] = await query<{ backup_id: Buffer }>(env.url, 'SELECT backup_id FROM backup_mgmt.create_full_backup()');
  const [done] = await query<{ backup_status: string; verification_status: string }>(env.url, `SELECT * FROM backup_mgmt.await_backup($1, '2 minutes')`, [b!.backup_id]);
  expect(done).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
  // Three segments after the backup, each with commits.
  for (let i = 1; i <= 3; i++) {
    await query(env.url, 'INSERT INTO t (id) SELECT g FROM generate_series($1::int * 100, $1::int * 100 + 9) g', [i]);
    segments.push(await archiveNow(env.url));
  }
});

afterEach(async () => {
  expect(await leftovers(env.url, env.repo, env.sysid, env.restoreRoot)).toEqual(NOTHING_LEFT);
});

afterAll(async () => {
  await stopAllAgents();
});

interface Window {
  lo: string;
  hi: string;
  wal_gaps: string[];
}

async function window(): Promise<Window> {
  const [w] = await query<Window>(
    env.url,
    'SELECT earliest_recoverable_time::text AS lo, latest_recoverable_time::text AS hi, wal_gaps FROM backup_mgmt.recoverable_window()',
  );
  return w!;
}

function plan(kind: string, value: string | null): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
  return query(env.url, 'SELECT backup_mgmt.plan_recovery($1, $2) AS p', [kind, value]).then(
    () => ({ ok: true as const }),
    (e: { code: string; message: string }) => ({ ok: false as const, code: e.code, message: e.message }),
  );
}

async function healthRow(name: string): Promise<{ status: string; detail: string }> {
  const [r] = await query<{ status: string; detail: string }>(env.url, 'SELECT status, detail FROM backup_mgmt.health_check() WHERE check_name = $1', [name]);
  return r!;
}

describe('the recoverable window', () => {
  it('its own bounds are accepted by plan_recovery (view and planner agree)', async () => {
    const w = await window();
    expect(w.wal_gaps).toEqual([]);
    expect(await plan('time', w.lo)).toEqual({ ok: true });
    expect(await plan('time', w.hi)).toEqual({ ok: true });
    // Just outside them: refused.
    const outside = await query<{ before: string; after: string }>(
      env.url,
      `SELECT ($1::timestamptz - interval '1 microsecond')::text AS before, ($2::timestamptz + interval '1 microsecond')::text AS after`,
      [w.lo, w.hi],
    );
    expect(await plan('time', outside[0]!.before)).toMatchObject({ ok: false, code: '22023' });
    expect(await plan('time', outside[0]!.after)).toMatchObject({ ok: false, code: '22023' });
  });

  it('a damaged stored segment: the restore fails saying why (log kept), the segment is a gap, health names it; repaired, the gap is gone', async () => {
    const damaged = segments[1]!;
    const [stored] = (await listArchivedWal({ repo: env.repo, systemIdentifier: env.sysid })).filter((w) => w.fileName === damaged);
    const original = await readFile(stored!.storedPath);
    const bad = Buffer.from(original);
    bad[bad.length >> 1] ^= 0xff;
    await writeFile(stored!.storedPath, bad);
    const target = (await window()).hi;

    // A restore through it: the agent's reason (checksum, file named) is in the recovery row.
    const [r] = await query<{ recovery_id: Buffer; restore_directory: string }>(
      env.url,
      `SELECT * FROM backup_mgmt.initiate_recovery('time', $1, NULL, false)`,
      [target],
    );
    const [out] = await query<{ recovery_status: string; error_message: string }>(env.url, `SELECT * FROM backup_mgmt.await_recovery($1, '3 minutes')`, [r!.recovery_id]);
    expect(out!.recovery_status).toBe('FAILED');
    expect(out!.error_message).toContain(damaged);
    // The agent's own finding (checksum or zstd frame), not only PostgreSQL's "command not executable".
    expect(out!.error_message).toMatch(new RegExp(`the agent found: archived WAL file \\S+/${damaged}-\\S+ is corrupt`));
    const kept = /server log kept at (\S+)\)/.exec(out!.error_message)?.[1];
    expect(kept).toBe(`${r!.restore_directory}.log`);
    expect(existsSync(kept!)).toBe(true);
    expect(await readFile(kept!, 'utf8')).toMatch(/could not restore file|restore_command/);
    expect(existsSync(r!.restore_directory)).toBe(false);

    // Known damaged: a gap in the window, targets after it refused, health CRITICAL naming it.
    const w = await window();
    expect(w.wal_gaps).toEqual([damaged]);
    const refused = await plan('time', target);
    expect(refused).toMatchObject({ ok: false, code: '22023' });
    expect((refused as { message: string }).message).toContain(damaged);
    const h = await healthRow('wal_integrity');
    expect(h.status).toBe('CRITICAL');
    expect(h.detail).toContain(damaged);

    // Repaired: the agent's next WAL scan reads it intact and the gap goes.
    await writeFile(stored!.storedPath, original);
    await waitFor('the repair to be noticed', async () => (await window()).wal_gaps.length === 0, 30_000);
    expect(await plan('time', target)).toEqual({ ok: true });
    expect((await healthRow('wal_integrity')).status).toBe('OK');
  });

  it('a restore whose agent is killed until it runs out of attempts: FAILED, its server stopped, its directory removed, its log kept', async () => {
    await query(env.url, `SELECT backup_mgmt.set_setting('job.max_attempts', '1'), backup_mgmt.set_setting('job.lease_seconds', '3')`);
    try {
      const [r] = await query<{ recovery_id: Buffer; restore_directory: string }>(
        env.url,
        `SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, NULL, false)`,
      );
      const dir = r!.restore_directory;
      await waitFor('the restored server to start', async () => existsSync(join(dir, 'postmaster.pid')), 60_000, 50);
      await env.agent.kill();
      // The lease runs out; a new agent finds no attempt left, and its janitor clears what the dead one left.
      env.agent = await AgentProcess.start({
        ...env.agent.opts,
        logFile: join(cluster().baseDir, 'agent-2.log'),
      });
      const [out] = await query<{ recovery_status: string; error_code: string }>(env.url, `SELECT * FROM backup_mgmt.await_recovery($1, '1 minute')`, [r!.recovery_id]);
      expect(out).toMatchObject({ recovery_status: 'FAILED', error_code: 'AGENT_LOST' });
      await waitFor('the janitor to remove the restore', async () => !existsSync(dir), 60_000);
      expect(existsSync(`${dir}.log`)).toBe(true);
      expect(env.agent.log()).toContain(`janitor: removed restore leftover ${dir}`);
    } finally {
      await query(env.url, `SELECT backup_mgmt.set_setting('job.max_attempts', NULL), backup_mgmt.set_setting('job.lease_seconds', NULL)`);
    }
  });

  it('a stored backup file deleted behind the catalog: the presence check marks it, planning skips it, health says so; back, present again', async () => {
    const [b] = await query<{ hk: Buffer; bk: string; path: string }>(
      env.url,
      `SELECT backup_hk AS hk, backup_bk AS bk, repository_path AS path FROM backup_mgmt.backup_list WHERE backup_status = 'COMPLETED' AND backup_type = 'FULL'`,
    );
    const file = join(b!.path, 'base.tar.zst');
    const aside = `${file}.aside`;
    await rename(file, aside);
    await waitFor('the presence check to notice', async () => {
      const [x] = await query<{ files_present: boolean | null }>(env.url, 'SELECT files_present FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1', [b!.hk]);
      return x!.files_present === false;
    }, 60_000);
    const [cur] = await query<{ verification_status: string; verification_detail: string }>(
      env.url,
      'SELECT verification_status, verification_detail FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1',
      [b!.hk],
    );
    expect(cur!.verification_status).toBe('FAILED');
    expect(cur!.verification_detail).toContain(file);
    // The only full backup is gone for planning: nothing to recover from.
    expect(await plan('latest', null)).toMatchObject({ ok: false, code: '55000' });
    const h = await healthRow('verification');
    expect(h.status).toBe('CRITICAL');
    expect(h.detail).toContain(b!.bk);

    await rename(aside, file);
    await waitFor('the presence check to see it back', async () => {
      const [x] = await query<{ files_present: boolean | null }>(env.url, 'SELECT files_present FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1', [b!.hk]);
      return x!.files_present === true;
    }, 60_000);
  });
});
