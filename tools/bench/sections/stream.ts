// 7. RPO under load: how far the newest safely stored WAL byte trails the
// server while pgbench runs, for archiving (archive_timeout = 60 s),
// streaming, and synchronous streaming, and what synchronous mode costs in
// TPS against no backup at all. Every 100 ms the sampler reads the server's
// current LSN and the stored position (end of the newest archived segment,
// the receiver's flush position); the RPO at a sample is how long ago the
// server first wrote past the stored position (0 when nothing is beyond it).
import { join } from 'node:path';
import type pg from 'pg';
import type { BenchContext } from '../context.js';
import { loadPgbench } from '../datasets.js';
import { connectClient, createBenchCluster, enableArchiving, log, mkdirForPostgres, one, setArchiveCommand, settle, sleep, startAgent, type BenchCluster } from '../env.js';
import { startPgbench } from '../pgbench.js';
import { newSection, type Section } from '../report.js';
import { percentile } from '../stats.js';

const SLOT = 'backup_mgmt_stream';
type Mode = 'none' | 'archive' | 'stream' | 'sync';

const LABEL: Record<Mode, string> = {
  none: 'no backup (archive_command = true, no receiver)',
  archive: 'archiving only, archive_timeout = 60 s',
  stream: 'streaming (asynchronous) + archiving',
  sync: 'synchronous streaming + archiving',
};

interface Sample {
  t: number;
  current: bigint;
  stored: bigint;
  /** pg_stat_replication.flush_lag of the receiver (s), when the server reports one. */
  flushLag: number | null;
}

async function reload(c: BenchCluster, sql: string): Promise<void> {
  await c.catalog.query(sql);
  await c.catalog.query('SELECT pg_reload_conf()');
  await sleep(300);
}

async function waitFor(what: string, fn: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`stream: timed out waiting for ${what}`);
    await sleep(200);
  }
}

const receiverState = async (c: BenchCluster) =>
  (await c.catalog.query<{ sync_state: string }>(`SELECT sync_state FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'`, [SLOT])).rows[0]
    ?.sync_state;

/** Bring the cluster into one mode; the agent follows wal.streaming within its heartbeat. */
async function enter(c: BenchCluster, mode: Mode, walPush: string): Promise<void> {
  // Leave synchronous mode first: from here on commits must not wait for a receiver that may stop.
  await reload(c, `ALTER SYSTEM SET synchronous_standby_names = ''`);
  const streaming = mode === 'stream' || mode === 'sync';
  await c.catalog.query(`SELECT backup_mgmt.set_setting('wal.streaming', $1)`, [streaming ? 'on' : 'off']);
  await setArchiveCommand(c, mode === 'none' ? 'true' : walPush);
  if (streaming) await waitFor('the receiver', async () => (await receiverState(c)) !== undefined);
  else await waitFor('the slot to be dropped', async () => (await c.catalog.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [SLOT])).rowCount === 0);
  if (mode === 'sync') {
    await reload(c, `ALTER SYSTEM SET synchronous_standby_names = '${SLOT}'`);
    await waitFor('the receiver to be synchronous', async () => (await receiverState(c)) === 'sync');
  }
}

/** Samples of (current LSN, stored LSN) every 100 ms until `until` resolves. */
async function sample(client: pg.Client, segSize: bigint, until: Promise<unknown>): Promise<Sample[]> {
  let done = false;
  void until.finally(() => (done = true));
  const out: Sample[] = [];
  while (!done) {
    const r = await one<{ cur: string; arch: string | null; flush: string | null; lag: number | null }>(
      client,
      `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS cur,
              (SELECT last_archived_wal FROM pg_stat_archiver) AS arch,
              (SELECT max(pg_wal_lsn_diff(flush_lsn, '0/0'))::text FROM pg_stat_replication WHERE application_name = $1) AS flush,
              (SELECT extract(epoch FROM max(flush_lag))::float8 FROM pg_stat_replication WHERE application_name = $1) AS lag`,
      [SLOT],
    );
    // The end of the newest archived segment (its name: timeline, then the segment number in two halves).
    const archived = r.arch && /^[0-9A-F]{24}$/.test(r.arch) ? (BigInt(`0x${r.arch.slice(8, 16)}`) * (0x100000000n / segSize) + BigInt(`0x${r.arch.slice(16, 24)}`) + 1n) * segSize : 0n;
    const flushed = r.flush ? BigInt(r.flush) : 0n;
    out.push({ t: performance.now(), current: BigInt(r.cur), stored: archived > flushed ? archived : flushed, flushLag: r.lag });
    await sleep(100);
  }
  return out;
}

/** RPO per sample (seconds): since when the server has WAL beyond the stored position. */
export function rpoSeconds(samples: readonly Sample[]): number[] {
  const out: number[] = [];
  let first = 0;
  for (const s of samples) {
    if (s.stored >= s.current) {
      out.push(0);
      continue;
    }
    // The first sample whose current LSN passed the stored position: WAL written since is at risk.
    while (first < samples.length && samples[first]!.current <= s.stored) first++;
    const since = samples[Math.min(first, samples.length - 1)]!.t;
    out.push(Math.max(0, (s.t - since) / 1000));
    // Later samples may have a smaller stored position only by noise; keep the scan monotone.
  }
  return out;
}

export async function streamSection(ctx: BenchContext): Promise<Section> {
  const section = newSection('stream', '7. RPO and streaming WAL');
  const scale = ctx.opts.smoke ? ctx.opts.scale : Math.min(ctx.opts.scale, 10);
  const seconds = ctx.opts.smoke ? 20 : 60;
  const c = await createBenchCluster('stream', { archive_timeout: '60s' });
  log(`stream: pgbench scale ${scale}`);
  await loadPgbench(c, scale);
  await enableArchiving(c);
  const walPush = (await one<{ v: string }>(c.catalog, `SELECT setting AS v FROM pg_settings WHERE name = 'archive_command'`)).v;
  const spool = await mkdirForPostgres(join(c.pg.baseDir, 'spool'), 0o700);
  c.agent = await startAgent(c, ['--stream-spool', spool]);
  const segSize = BigInt((await one<{ s: string }>(c.catalog, `SELECT setting AS s FROM pg_settings WHERE name = 'wal_segment_size'`)).s);
  const sampler = await connectClient(c.pg, c.catalogDb, 'backup-mgmt bench sampler');

  const tps: Record<Mode, number[]> = { none: [], archive: [], stream: [], sync: [] };
  const rpo: Record<Mode, number[]> = { none: [], archive: [], stream: [], sync: [] };
  const lag: Record<Mode, number[]> = { none: [], archive: [], stream: [], sync: [] };
  const modes: Mode[] = ['none', 'archive', 'stream', 'sync'];
  for (let run = 0; run < ctx.opts.runs; run++) {
    for (const mode of modes) {
      await enter(c, mode, walPush);
      await c.catalog.query('CHECKPOINT');
      if (mode !== 'none') {
        // The last segment `true` "archived" is not in the repository: start from a stored one.
        await c.catalog.query('SELECT pg_switch_wal()');
        await settle(c);
      }
      log(`stream: run ${run + 1}/${ctx.opts.runs}, ${LABEL[mode]}: pgbench ${seconds} s`);
      const bench = startPgbench(c, { seconds, clients: 4 });
      const samples = await sample(sampler, segSize, bench.done);
      const result = await bench.done;
      tps[mode].push(result.tps);
      if (mode !== 'none') rpo[mode].push(...rpoSeconds(samples));
      for (const x of samples) if (x.flushLag !== null) lag[mode].push(x.flushLag * 1000);
    }
  }
  await enter(c, 'none', walPush);
  await sampler.end();
  await c.agent.stop();

  for (const mode of ['archive', 'stream', 'sync'] as const) {
    const v = rpo[mode];
    section.rows.push({
      name: `RPO under pgbench load: ${LABEL[mode]}`,
      unit: 's',
      kind: 'samples',
      values: v,
      extra: `p50 ${percentile(v, 50).toFixed(3)} s, p99 ${percentile(v, 99).toFixed(3)} s, max ${Math.max(...v).toFixed(3)} s`,
      ...(mode === 'sync' ? { target: { text: 'p99 0 s (commits wait for the receiver)', pass: percentile(v, 99) < 0.2 } } : {}),
    });
  }
  for (const mode of ['stream', 'sync'] as const) {
    const v = lag[mode];
    section.rows.push({
      name: `the receiver's flush lag as the server reports it (pg_stat_replication.flush_lag): ${LABEL[mode]}`,
      unit: 'ms',
      kind: 'samples',
      values: v,
      extra: v.length ? `p50 ${percentile(v, 50).toFixed(1)} ms, p99 ${percentile(v, 99).toFixed(1)} ms` : 'no lag reported',
    });
  }
  const median = (xs: number[]) => percentile(xs, 50);
  for (const mode of modes) {
    section.rows.push({
      name: `pgbench TPS (tpcb-like, 4 clients, ${seconds} s): ${LABEL[mode]}`,
      unit: 'tps',
      kind: 'runs',
      values: tps[mode],
      ...(mode !== 'none' ? { reference: { name: 'no backup', value: median(tps.none), unit: 'tps' }, ratio: median(tps[mode]) / median(tps.none), ratioLabel: 'of no backup' } : {}),
    });
  }
  section.notes.push(
    `pgbench scale ${scale}, ${ctx.opts.runs} run(s) of each mode, interleaved; a checkpoint and an idle archiver before each run.`,
    'Stored position: the end of the newest segment pg_stat_archiver reports (wal-push registers it in the same step), or the flush position the receiver reported (pg_receivewal --synchronous fsyncs every write), whichever is newer; sampled every 100 ms, so 0.1 s is the resolution.',
    'Synchronous mode puts the receiver in synchronous_standby_names: every commit waits for its fsync on the agent host.',
  );
  return section;
}
