// pgbench as the foreground workload: tpcb-like, 4 clients, fixed duration,
// optionally with its per-transaction log so throughput can be counted in
// any time window afterwards.
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchCluster } from './env.js';
import { connArgs, mkdirForPostgres, nowMs, pgbenchPath, timed } from './env.js';

export interface PgbenchRun {
  startedAtMs: number;
  done: Promise<PgbenchResult>;
}

export interface PgbenchResult {
  tps: number;
  transactions: number;
  startedAtMs: number;
  endedAtMs: number;
  /** Completion times (epoch ms, sorted) when a log was requested. */
  completions?: Float64Array;
}

export interface PgbenchOptions {
  seconds: number;
  clients?: number;
  threads?: number;
  /** Write the per-transaction log into this directory (removed after parsing). */
  logDir?: string;
}

function parseTps(stdout: string): { tps: number; transactions: number } {
  const tps = /tps = ([0-9.]+) \((?:without|excluding)/.exec(stdout) ?? /tps = ([0-9.]+)/.exec(stdout);
  const tx = /number of transactions actually processed: ([0-9]+)/.exec(stdout);
  return { tps: tps ? Number(tps[1]) : Number.NaN, transactions: tx ? Number(tx[1]) : Number.NaN };
}

/** Completion times from pgbench -l logs: "client tx time script epoch_s epoch_us …". */
function readCompletions(dir: string): Float64Array {
  const times: number[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.startsWith('pgbench_log')) continue;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const parts = line.split(' ');
      if (parts.length < 6 || parts[2] === 'failed' || parts[2] === 'skipped') continue;
      times.push(Number(parts[4]) * 1000 + Number(parts[5]) / 1000);
    }
  }
  return Float64Array.from(times).sort();
}

/** Transactions completed in [fromMs, toMs) per second. */
export function tpsBetween(completions: Float64Array, fromMs: number, toMs: number): number {
  if (toMs <= fromMs) return Number.NaN;
  const lo = lowerBound(completions, fromMs);
  const hi = lowerBound(completions, toMs);
  return (hi - lo) / ((toMs - fromMs) / 1000);
}

function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function startPgbench(c: BenchCluster, opts: PgbenchOptions): PgbenchRun {
  const args = ['-n', '-c', String(opts.clients ?? 4), '-j', String(opts.threads ?? 2), '-T', String(Math.max(1, Math.round(opts.seconds)))];
  const startedAtMs = nowMs();
  const done = (async (): Promise<PgbenchResult> => {
    if (opts.logDir) {
      await mkdirForPostgres(opts.logDir);
      args.push('-l', `--log-prefix=${join(opts.logDir, 'pgbench_log')}`);
    }
    const r = await timed(pgbenchPath(), [...args, ...connArgs(c.pg, c.dataDb)], { timeoutMs: (opts.seconds + 600) * 1000 });
    const endedAtMs = nowMs();
    const { tps, transactions } = parseTps(r.stdout);
    let completions: Float64Array | undefined;
    if (opts.logDir) {
      completions = readCompletions(opts.logDir);
      await rm(opts.logDir, { recursive: true, force: true });
    }
    return { tps, transactions, startedAtMs, endedAtMs, completions };
  })();
  // Awaited by the caller; an early failure must not go unhandled meanwhile.
  done.catch(() => {});
  return { startedAtMs, done };
}
