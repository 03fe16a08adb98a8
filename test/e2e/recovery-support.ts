// What the recovery end-to-end tests share: a cluster archiving through the
// real `wal-push`, the real agent, a workload whose every commit is recorded
// (time, xid, LSN) so that the state at any target is known, and restored
// clusters compared with that state and stopped again.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { TestCluster } from '../harness/cluster.js';
import { installedDatabase } from '../harness/pack.js';
import { pgTool, runAsPostgres } from '../../src/util/process.js';
import { archiveCommand } from '../../src/util/wal-commands.js';
import { restoreSocketDir } from '../../src/agent/restore-job.js';
import { AgentProcess, ensureBuilt, postgresDir, query, removeDir, waitFor, withDatabase } from './support.js';
import { prng } from '../harness/prng.js';
export { prng };

export interface ArchivingSetup {
  url: string;
  repo: string;
  restoreRoot: string;
  sysid: string;
  agent: AgentProcess;
}

/** Pack installed, archive_command = the real wal-push, the agent running (WAL scan every second). */
export async function archivingCluster(cluster: TestCluster, db: string, agentId: string): Promise<ArchivingSetup> {
  await ensureBuilt();
  const url = await installedDatabase(cluster, db);
  const repo = await postgresDir(join(cluster.baseDir, 'repo'));
  const restoreRoot = await postgresDir(join(cluster.baseDir, 'restores'), 0o755);
  await cluster.appendConf({ archive_mode: 'on', archive_command: archiveCommand(repo) });
  await cluster.restart();
  const [{ id: sysid }] = (await query<{ id: string }>(url, 'SELECT system_identifier::text AS id FROM pg_control_system()')) as [{ id: string }];
  const agent = await AgentProcess.start({
    databaseUrl: url,
    repo,
    agentId,
    logFile: join(cluster.baseDir, 'agent.log'),
    extraArgs: ['--wal-scan-seconds', '1', '--restore-root', restoreRoot],
  });
  return { url, repo, restoreRoot, sysid, agent };
}

/** A database `shop` on the cluster holding a workload seeded with `seed`, initialised. */
export async function shopWorkload(cluster: TestCluster, url: string, seed: number): Promise<{ shopUrl: string; workload: Workload }> {
  await cluster.createDatabase('shop');
  const shopUrl = withDatabase(url, 'shop');
  const workload = new Workload(shopUrl, seed);
  await workload.init();
  return { shopUrl, workload };
}

/** Switch the WAL segment and wait until the agent registered it (with its commit times). */
export async function archiveNow(url: string): Promise<string> {
  const [{ f }] = (await query<{ f: string }>(url, 'SELECT pg_walfile_name(pg_switch_wal()) AS f')) as [{ f: string }];
  await waitFor(`${f} to be archived and registered`, async () => (await query(url, 'SELECT 1 FROM backup_mgmt.wal_archive WHERE file_name = $1', [f])).length > 0, 60_000);
  return f;
}

// ---------------------------------------------------------------- workload

type Op = { insert: [number, string] } | { delete: number } | { add: [number, number] };

export interface Commit {
  /** 1-based; transaction 0 is the seed. */
  n: number;
  xid: string;
  /** clock_timestamp() read after COMMIT returned: every commit up to n is at or before it. */
  time: string;
  /** pg_current_wal_lsn() read after COMMIT returned. */
  lsn: string;
  ops: Op[];
}

export interface Checksum {
  rows: number;
  md5: string;
}

const COUNTERS = 10;

/**
 * Many small transactions on one connection, one after the other: insert
 * marker rows, sometimes delete one, sometimes bump a counter. After each
 * COMMIT it records time, xid and LSN, so the expected state at any target
 * is the first n transactions.
 */
export class Workload {
  readonly commits: Commit[] = [];
  private client: pg.Client | undefined;
  private running: Promise<void> | undefined;
  private stopRequested = false;
  private paused: Array<() => Promise<void>> = [];
  private nextId = 1;
  private readonly live = new Set<number>();
  private readonly rand: () => number;

  constructor(
    readonly url: string,
    readonly seed: number,
    private readonly pauseMs = 15,
  ) {
    this.rand = prng(seed);
  }

  async init(): Promise<void> {
    this.client = new pg.Client({ connectionString: this.url });
    await this.client.connect();
    await this.client.query(`
      CREATE TABLE marker (id int PRIMARY KEY, payload text NOT NULL);
      CREATE TABLE counter (k int PRIMARY KEY, v bigint NOT NULL);
      INSERT INTO counter SELECT g, 0 FROM generate_series(0, ${COUNTERS - 1}) g;`);
  }

  private pick<T>(xs: T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  private async step(): Promise<void> {
    const c = this.client!;
    const ops: Op[] = [];
    const inserts = 1 + Math.floor(this.rand() * 3);
    for (let i = 0; i < inserts; i++) ops.push({ insert: [this.nextId++, createHash('md5').update(`${this.seed}:${this.nextId}`).digest('hex').slice(0, 16)] });
    if (this.live.size > 5 && this.rand() < 0.3) ops.push({ delete: this.pick([...this.live]) });
    if (this.rand() < 0.5) ops.push({ add: [Math.floor(this.rand() * COUNTERS), 1 + Math.floor(this.rand() * 9)] });
    await c.query('BEGIN');
    for (const op of ops) {
      if ('insert' in op) await c.query('INSERT INTO marker VALUES ($1, $2)', op.insert);
      else if ('delete' in op) await c.query('DELETE FROM marker WHERE id = $1', [op.delete]);
      else await c.query('UPDATE counter SET v = v + $2 WHERE k = $1', op.add);
    }
    const [{ xid }] = (await c.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid')).rows as [{ xid: string }];
    await c.query('COMMIT');
    const [after] = (await c.query<{ t: string; lsn: string }>(`SELECT to_json(clock_timestamp()) #>> '{}' AS t, pg_current_wal_lsn()::text AS lsn`)).rows;
    for (const op of ops) {
      if ('insert' in op) this.live.add(op.insert[0]);
      else if ('delete' in op) this.live.delete(op.delete);
    }
    this.commits.push({ n: this.commits.length + 1, xid, time: after!.t, lsn: after!.lsn, ops });
  }

  start(): void {
    this.stopRequested = false;
    this.running = (async () => {
      while (!this.stopRequested) {
        await this.step();
        while (this.paused.length) await this.paused.shift()!();
        await new Promise((r) => setTimeout(r, this.pauseMs));
      }
    })();
  }

  /** n transactions now, in the foreground. */
  async run(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.step();
  }

  /** Run fn between two transactions (e.g. a restore point that must not straddle a commit). */
  between<T>(fn: () => Promise<T>): Promise<{ result: T; after: number }> {
    if (!this.running) return fn().then((result) => ({ result, after: this.commits.length }));
    return new Promise((resolve, reject) => {
      this.paused.push(async () => {
        try {
          resolve({ result: await fn(), after: this.commits.length });
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    await this.running;
    this.running = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.client?.end().catch(() => {});
  }

  /** The tables after the first n transactions, as restoredChecksums() computes them. */
  expected(n: number): Record<string, Checksum> {
    const markers = new Map<number, string>();
    const counters = new Map<number, number>();
    for (let k = 0; k < COUNTERS; k++) counters.set(k, 0);
    for (const c of this.commits.slice(0, n)) {
      for (const op of c.ops) {
        if ('insert' in op) markers.set(op.insert[0], op.insert[1]);
        else if ('delete' in op) markers.delete(op.delete);
        else counters.set(op.add[0], counters.get(op.add[0])! + op.add[1]);
      }
    }
    const md5 = (m: Map<number, unknown>) =>
      createHash('md5')
        .update([...m.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}:${v}`).join(','))
        .digest('hex');
    return { marker: { rows: markers.size, md5: md5(markers) }, counter: { rows: counters.size, md5: md5(counters) } };
  }
}

/** The workload's tables in a restored (or the source) database. */
export async function workloadChecksums(url: string): Promise<Record<string, Checksum>> {
  const out: Record<string, Checksum> = {};
  for (const [t, key, val] of [
    ['marker', 'id', 'payload'],
    ['counter', 'k', 'v'],
  ] as const) {
    const [r] = await query<{ n: string; md5: string }>(
      url,
      `SELECT count(*) AS n, md5(coalesce(string_agg(${key}::text || ':' || ${val}::text, ',' ORDER BY ${key}), '')) AS md5 FROM ${t}`,
    );
    out[t] = { rows: Number(r!.n), md5: r!.md5 };
  }
  return out;
}

// ---------------------------------------------------------------- restored clusters

/** Stop a restored cluster the agent left running (by its own data directory) and remove it. */
export async function dropRestored(dir: string | null | undefined): Promise<void> {
  if (!dir) return;
  if (existsSync(join(dir, 'postmaster.pid'))) {
    await runAsPostgres(pgTool('pg_ctl'), ['-D', dir, '-m', 'fast', '-w', '-t', '60', 'stop'], { timeoutMs: 90_000 }).catch(() =>
      runAsPostgres(pgTool('pg_ctl'), ['-D', dir, '-m', 'immediate', '-w', 'stop'], { timeoutMs: 90_000 }).catch(() => {}),
    );
  }
  await removeDir(dir);
  // A temporary socket directory (long paths only) has a random name; the agent's result names it.
  const socket = restoreSocketDir(dir);
  if (socket) await removeDir(socket.dir);
}

export function restoredUrl(port: number, db: string): string {
  return `postgresql://postgres@127.0.0.1:${port}/${db}`;
}

/** Where a member's data starts in an uncompressed (ustar) tar, as pg_basebackup writes it. */
export function tarMember(tar: Buffer, name: string): { dataOffset: number; size: number } {
  const field = (off: number, len: number) => {
    const raw = tar.subarray(off, off + len);
    const nul = raw.indexOf(0);
    return raw.toString('utf8', 0, nul === -1 ? len : nul);
  };
  for (let off = 0; off + 512 <= tar.length; ) {
    if (tar.subarray(off, off + 512).every((b) => b === 0)) break;
    const prefix = tar.toString('latin1', off + 257, off + 263) === 'ustar\0' ? field(off + 345, 155) : '';
    const path = prefix ? `${prefix}/${field(off, 100)}` : field(off, 100);
    const size = parseInt(field(off + 124, 12).trim() || '0', 8);
    if (path === name) return { dataOffset: off + 512, size };
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${name} is not in the tar`);
}

/** Microseconds since the epoch of an ISO 8601 text, for ordering times finer than Date does. */
export function micros(iso: string | Date): bigint {
  if (iso instanceof Date) return BigInt(iso.getTime()) * 1000n;
  const m = /\.(\d+)/.exec(iso);
  const frac = (m?.[1] ?? '').padEnd(6, '0').slice(0, 6);
  const ms = Date.parse(iso.replace(/\.\d+/, ''));
  return BigInt(ms) * 1000n + BigInt(frac);
}
