// The WAL receiver (issue 17, acceptance 3 and 4): streaming and archiving
// both on; the receiver is SIGKILLed and the agent restarts it, resuming from
// the slot without a gap; every segment reaches the repository once (both
// paths store the same bytes: one stored version, no archiver failure); the
// recoverability view shows no gap. Then the receiver stays down and
// health_check() reports the WAL the slot retains as WARNING, then CRITICAL,
// at the configured thresholds; the agent back, the slot is released.
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.js';
import { parseStoredWalName, walRoot } from '../../src/storage/layout.js';
import { query, stopAllAgents, waitFor } from '../e2e/support.js';
import { fullBackup, receiver, receiverPid, SLOT, startAgent, streamingCluster, waitStreaming, type StreamingSetup } from './support.js';

const cluster = useCluster({ name: 'stream-receiver' });
let env: StreamingSetup;

beforeAll(async () => {
  env = await streamingCluster(cluster(), 'recv', 'recv-agent', { streaming: true });
  await query(env.url, 'CREATE TABLE t (id serial PRIMARY KEY, payload text)');
  await fullBackup(env.url);
  await waitStreaming(env.url);
}, 300_000);

afterAll(async () => {
  await stopAllAgents();
});

/** Some WAL and a segment switch; returns the segment that was completed. */
async function writeAndSwitch(rows = 2000): Promise<string> {
  await query(env.url, `INSERT INTO t (payload) SELECT repeat(md5(g::text), 8) FROM generate_series(1, $1) g`, [rows]);
  const [{ f }] = (await query<{ f: string }>(env.url, 'SELECT pg_walfile_name(pg_switch_wal()) AS f')) as [{ f: string }];
  return f;
}

/** Stored versions per WAL file name in the repository (segments and partials). */
function storedByName(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const root = walRoot(env.repo, env.sysid);
  for (const sub of readdirSync(root)) {
    for (const name of readdirSync(`${root}/${sub}`)) {
      const p = parseStoredWalName(name);
      if (!p) continue;
      out.set(p.fileName, [...(out.get(p.fileName) ?? []), p.sha256]);
    }
  }
  return out;
}

async function registered(f: string): Promise<boolean> {
  return (await query(env.url, 'SELECT 1 FROM backup_mgmt.wal_archive WHERE file_name = $1 AND purged_at IS NULL', [f])).length > 0;
}

describe('receiver killed and restarted (acceptance 3)', () => {
  it('resumes from the slot without a gap; both paths store identical segments; no gap in the window', async () => {
    const before = await writeAndSwitch();
    await waitFor(`${before} stored and registered`, () => registered(before), 60_000);

    const pid = receiverPid(env.agent);
    expect(pid, 'pg_receivewal runs under the agent').toBeDefined();
    process.kill(pid!, 'SIGKILL');
    // WAL written while no receiver runs: the slot keeps it.
    const during: string[] = [];
    for (let i = 0; i < 3; i++) during.push(await writeAndSwitch());
    await waitFor('a new receiver', async () => {
      const p = receiverPid(env.agent);
      return p !== undefined && p !== pid;
    }, 60_000);
    await waitStreaming(env.url);
    const after = await writeAndSwitch();
    for (const f of [...during, after]) await waitFor(`${f} stored and registered`, () => registered(f), 60_000);

    // Streamed: the receiver's segments arrived through the spool (it wrote them
    // after its restart, from the slot) — the slot's position is past them all.
    // The archiver registers `after` on push, so the receiver may still be a
    // moment behind when that is seen: wait for its flush position.
    await waitFor(`the receiver to flush past ${after}`, async () => {
      const r = await receiver(env.url);
      if (!r?.flush_lsn) return false;
      const [pos] = await query<{ past: boolean }>(env.url, 'SELECT backup_mgmt.wal_segno_of_lsn($1::pg_lsn) > backup_mgmt.wal_segno($2) AS past', [r.flush_lsn, after]);
      return pos!.past;
    }, 60_000);
    for (const f of [...during, after]) {
      await waitFor(`${f} stored by the receiver too`, async () => env.agent.log().includes(`streamed ${f}`), 60_000);
    }

    // One stored version per segment: the archiver's copy and the receiver's were the same bytes.
    const stored = storedByName();
    for (const f of [before, ...during, after]) expect(stored.get(f), f).toHaveLength(1);
    for (const [name, shas] of stored) if (name.length === 24) expect(shas, name).toHaveLength(1);
    await waitFor('the archiver to catch up', async () => {
      const [a] = await query<{ last: string | null }>(env.url, 'SELECT last_archived_wal AS last FROM pg_stat_archiver');
      return a!.last !== null && a!.last >= after;
    }, 60_000);
    const [a] = await query<{ failed: string }>(env.url, 'SELECT failed_count::text AS failed FROM pg_stat_archiver');
    expect(a!.failed, 'archiving never met a conflicting segment').toBe('0');
    expect(env.agent.log()).not.toMatch(/different content/);

    const [w] = await query<{ missing_segments: string; wal_gaps: string[] }>(env.url, 'SELECT missing_segments::text, wal_gaps FROM backup_mgmt.recoverable_window()');
    expect(w!.missing_segments).toBe('0');
    expect(w!.wal_gaps).toEqual([]);
  }, 300_000);
});

async function streamSlotCheck(): Promise<{ status: string; value: string; detail: string }> {
  const [c] = await query<{ status: string; value: string; detail: string }>(env.url, `SELECT status, value, detail FROM backup_mgmt.health_check() WHERE check_name = 'stream_slot'`);
  return c!;
}

async function retainedBytes(): Promise<number> {
  const [r] = await query<{ b: string }>(env.url, 'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS b FROM pg_replication_slots WHERE slot_name = $1', [SLOT]);
  return Number(r!.b);
}

describe('receiver down for long (acceptance 4)', () => {
  it('health_check() reports the retained WAL: OK, then WARNING, then CRITICAL at the thresholds', async () => {
    const MB = 1024 * 1024;
    await query(env.url, `SELECT backup_mgmt.set_setting('health.stream_slot_warning_size', '40MB'), backup_mgmt.set_setting('health.stream_slot_critical_size', '90MB')`);
    expect((await streamSlotCheck()).status).toBe('OK');

    // The whole agent stops (SIGTERM): no receiver, the slot stays (streaming is still on).
    await env.agent.stop();
    await waitFor('the receiver to disconnect', async () => (await receiver(env.url)) === undefined, 30_000);

    const seen: { retained: number; status: string }[] = [];
    while (seen.length === 0 || seen.at(-1)!.status !== 'CRITICAL') {
      await writeAndSwitch(500);
      const check = await streamSlotCheck();
      const retained = await retainedBytes();
      seen.push({ retained, status: check.status });
      // The status follows the thresholds exactly (nothing else moves the slot now).
      const expected = retained > 90 * MB ? 'CRITICAL' : retained > 40 * MB ? 'WARNING' : 'OK';
      expect(check.status, `${retained} bytes retained: ${check.detail}`).toBe(expected);
      expect(seen.length).toBeLessThan(20);
    }
    expect(seen.some((s) => s.status === 'WARNING')).toBe(true);
    expect(seen.at(-1)!.status).toBe('CRITICAL');

    // The agent back: the receiver resumes from the slot and releases the WAL.
    env.agent = await startAgent(cluster(), env.url, env.repo, 'recv-agent', env.agentArgs);
    await waitStreaming(env.url);
    await writeAndSwitch(10);
    await waitFor('the slot to be released', async () => (await streamSlotCheck()).status === 'OK', 120_000);
  }, 300_000);

  it('wal.streaming off: the agent stops its receiver and drops the slot', async () => {
    await query(env.url, `SELECT backup_mgmt.set_setting('wal.streaming', 'off')`);
    await waitFor('the slot to be dropped', async () => (await query(env.url, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [SLOT])).length === 0, 60_000);
    expect(receiverPid(env.agent)).toBeUndefined();
    expect(await streamSlotCheck()).toMatchObject({ status: 'OK', value: 'no slot' });
  }, 120_000);
});
