// Losing the source (issue 17, acceptance 1): streaming on, archive_timeout
// off, pgbench running and a client committing marker rows that records each
// acknowledged commit; the source is SIGKILLed (postmaster and every server
// process) and its data directory deleted. The agent stores the receiver's
// last `.partial`; the catalog died with the source, so the restore is the
// one `restore --repo` will automate: the base backup's tar from the
// repository, the real wal-fetch as restore_command on the repository, no
// target (= latest). Asynchronous mode loses at most the commits of the last
// second; synchronous mode loses none.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useCluster, type TestCluster } from '../harness/cluster.js';
import { walDirFor } from '../../src/storage/layout.js';
import { sha256File, storedVersions } from '../../src/storage/wal-store.js';
import { query, stopAllAgents, waitFor } from '../e2e/support.js';
import {
  backupDirectory,
  destroySource,
  fullBackup,
  MarkerClient,
  pgbench,
  pgbenchInit,
  restoreFromRepository,
  streamingCluster,
  waitStreaming,
  type RepoRestore,
} from './support.js';

const restores: RepoRestore[] = [];
afterAll(async () => {
  for (const r of restores) await r.stop();
  await stopAllAgents();
});

interface Outcome {
  acked: number;
  lost: number[];
  /** Milliseconds between the newest lost acknowledged commit's ack and the kill. */
  lostWindowMs: number;
}

async function disaster(cluster: () => TestCluster, synchronous: boolean): Promise<Outcome> {
  const c = cluster();
  const env = await streamingCluster(c, 'shop', synchronous ? 'sync-agent' : 'async-agent', { streaming: true, synchronous });
  await pgbenchInit(env.url, 'bench');
  const backupHk = await fullBackup(env.url);
  const backupDir = await backupDirectory(env.url, backupHk);
  const r = await waitStreaming(env.url);
  expect(r.sync_state).toBe(synchronous ? 'sync' : 'async');

  const markers = new MarkerClient(env.url);
  await markers.start();
  const bench = pgbench(env.url, 'bench', 60);
  await new Promise((res) => setTimeout(res, 6000));
  expect(markers.acks.length, `marker commits so far (${String(markers.error ?? '')})`).toBeGreaterThan(50);

  const killedAt = Date.now();
  await destroySource(c);
  await markers.finished();
  await bench;

  // The receiver lost its server; the agent stores what it received, the last `.partial` included.
  const spool = env.spool;
  await waitFor('the spool to be stored in the repository', async () => {
    const names = readdirSync(spool).filter((n) => /^[0-9A-F]{24}(\.partial)?$/.test(n));
    if (names.some((n) => n.length === 24)) return false;
    const partial = names.find((n) => n.endsWith('.partial'));
    if (!partial) return true;
    const { sha256 } = await sha256File(join(spool, partial));
    const stored = await storedVersions(walDirFor(env.repo, env.sysid, partial), partial);
    return stored.length === 1 && stored[0]!.sha256 === sha256;
  }, 60_000);
  await env.agent.stop();

  const restored = await restoreFromRepository(backupDir, env.repo, env.sysid, join(c.baseDir, 'restored'));
  restores.push(restored);
  const rows = await query<{ id: number }>(restored.url('shop'), 'SELECT id FROM marker ORDER BY id');
  const present = new Set(rows.map((x) => x.id));
  // Nothing that was never attempted, nothing out of order (a prefix of the attempted ids).
  expect(Math.max(0, ...present)).toBeLessThanOrEqual(markers.attempted);
  expect(present.size).toBe(Math.max(0, ...present));
  const lost = markers.acks.filter((a) => !present.has(a.id));
  const newestLost = lost.length ? Math.max(...lost.map((a) => a.at)) : killedAt;
  const out = { acked: markers.acks.length, lost: lost.map((a) => a.id), lostWindowMs: lost.length ? killedAt - Math.min(...lost.map((a) => a.at)) : 0 };
  process.stderr.write(
    `[stream] ${synchronous ? 'sync' : 'async'}: ${out.acked} acknowledged marker commits, ${present.size} restored, ${lost.length} lost` +
      (lost.length ? ` (acknowledged ${out.lostWindowMs} ms to ${killedAt - newestLost} ms before the kill)` : '') + '\n',
  );
  // The pgbench data came back too (its history table is appended to by every transaction).
  const [h] = await query<{ n: string }>(restored.url('bench'), 'SELECT count(*)::text AS n FROM pgbench_history');
  expect(Number(h!.n)).toBeGreaterThan(0);
  return out;
}

describe('asynchronous streaming', () => {
  const cluster = useCluster({ name: 'stream-async' });
  it('a restore to latest loses at most the commits acknowledged in the last second', async () => {
    const out = await disaster(cluster, false);
    expect(out.lostWindowMs, `lost marker ids ${out.lost.join(', ')}`).toBeLessThanOrEqual(1000);
  }, 600_000);
});

describe('synchronous streaming', () => {
  const cluster = useCluster({ name: 'stream-sync' });
  it('a restore to latest loses no acknowledged commit', async () => {
    const out = await disaster(cluster, true);
    expect(out.lost).toEqual([]);
  }, 600_000);
});
