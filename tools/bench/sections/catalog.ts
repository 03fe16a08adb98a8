// 5. The catalog at scale: seed 1,000,000 backups (with their history),
// 100,000 recoveries and 10,000 schedules, then time the SQL a DBA and the
// monitoring run (p50/p95) and show, from the plans of every statement they
// execute (auto_explain, nested statements included), which indexes are used
// and where a table is scanned sequentially.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { packageRoot } from '../../../src/util/paths.js';
import { FULL_KEPT_DAYS, INCREMENTAL_KEPT_DAYS, seedCatalog, seedShape, WAL_KEPT_DAYS } from '../catalog-seed.js';
import type { BenchContext } from '../context.js';
import { connectClient, createBenchCluster, log, one, timed } from '../env.js';
import { fmt, newSection, type Row, type Section } from '../report.js';
import { percentile } from '../stats.js';

interface Measured {
  name: string;
  sql: string;
  params?: () => unknown[];
  iterations: number;
  target?: { text: string; p95Ms: number };
  /** A slow batch job: its own (longer) call limit. */
  callMs?: number;
}

interface PlanFacts {
  indexes: Set<string>;
  seqScans: Map<string, number>;
  statements: Array<{ ms: number; text: string; indexes: string[]; seq: string[] }>;
}

interface PlanNode {
  'Node Type'?: string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Plan Rows'?: number;
  Plans?: PlanNode[];
}

/**
 * Calls slower than this are explained without ANALYZE, and only their
 * nested statements that take 1 % of the call (at least 5 ms) are logged:
 * timing and shipping the plan of every statement of a batch job (thousands)
 * multiplies its run time.
 */
const ANALYZE_BELOW_MS = 500;

function walkPlan(node: PlanNode, indexes: Set<string>, seq: Map<string, number>): void {
  if (node['Index Name']) indexes.add(node['Index Name']);
  if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) {
    // Without ANALYZE the planner's estimate stands in for the rows read.
    const rows = node['Actual Rows'] !== undefined ? node['Actual Rows'] * (node['Actual Loops'] ?? 1) : (node['Plan Rows'] ?? 0);
    seq.set(node['Relation Name'], Math.max(seq.get(node['Relation Name']) ?? 0, rows));
  }
  for (const p of node.Plans ?? []) walkPlan(p, indexes, seq);
}

/**
 * Runs the statement once with auto_explain (nested statements; ANALYZE when
 * `analyze`) and collects the plans of the statements that took at least
 * `minMs` (0: all of them).
 */
async function explainAll(client: pg.Client, sql: string, params: unknown[], analyze: boolean, minMs: number): Promise<PlanFacts> {
  const facts: PlanFacts = { indexes: new Set(), seqScans: new Map(), statements: [] };
  const onNotice = (n: { message?: string }) => {
    const m = /^duration: ([0-9.]+) ms\s+plan:\s*([\s\S]*)$/.exec(n.message ?? '');
    if (!m) return;
    try {
      const doc = JSON.parse(m[2]!) as { 'Query Text'?: string; Plan?: PlanNode };
      if (!doc.Plan) return;
      const idx = new Set<string>();
      const seq = new Map<string, number>();
      walkPlan(doc.Plan, idx, seq);
      for (const i of idx) facts.indexes.add(i);
      for (const [r, n2] of seq) facts.seqScans.set(r, Math.max(facts.seqScans.get(r) ?? 0, n2));
      facts.statements.push({ ms: Number(m[1]), text: (doc['Query Text'] ?? '').replace(/\s+/g, ' ').trim(), indexes: [...idx], seq: [...seq.keys()] });
    } catch {
      // A plan that is not JSON (another extension's LOG line): ignore.
    }
  };
  client.on('notice', onNotice);
  try {
    await client.query(`LOAD 'auto_explain'`);
    await client.query(`SET auto_explain.log_min_duration = ${minMs}`);
    await client.query(`SET auto_explain.log_nested_statements = on`);
    await client.query(`SET auto_explain.log_analyze = ${analyze ? 'on' : 'off'}`);
    await client.query(`SET auto_explain.log_format = 'json'`);
    await client.query(`SET client_min_messages = log`);
    await client.query(sql, params);
  } finally {
    await client.query(`SET client_min_messages = notice`);
    await client.query(`SET auto_explain.log_min_duration = -1`);
    client.removeListener('notice', onNotice);
  }
  return facts;
}

/** The statements of test/fixtures/seed-001-queries.sql, labelled by the comment before each. */
export function seedQueries(text: string): Array<{ label: string; sql: string }> {
  const out: Array<{ label: string; sql: string }> = [];
  let label = '';
  let buf: string[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (buf.length === 0 && t.startsWith('--')) {
      const c = t.replace(/^--\s*/, '');
      if (c) label = c;
      continue;
    }
    if (!t && buf.length === 0) continue;
    buf.push(line);
    if (t.endsWith(';')) {
      out.push({ label, sql: buf.join('\n').trim().replace(/;$/, '') });
      buf = [];
    }
  }
  return out;
}

/**
 * Time budget per query and a statement timeout per call: a pathological
 * query is reported as such instead of holding the whole benchmark up.
 */
interface Budget {
  totalMs: number;
  callMs: number;
}

class CallTimedOut extends Error {}

async function call(client: pg.Client, m: Measured, params: unknown[]): Promise<void> {
  try {
    await client.query(m.sql, params);
  } catch (e) {
    if ((e as { code?: string }).code === '57014') throw new CallTimedOut(m.name);
    throw e;
  }
}

async function timeQuery(client: pg.Client, m: Measured, budget: Budget): Promise<number[]> {
  const start = performance.now();
  for (let i = 0; i < 3 && performance.now() - start < budget.totalMs / 4; i++) await call(client, m, m.params?.() ?? []);
  const ms: number[] = [];
  for (let i = 0; i < m.iterations; i++) {
    if (ms.length >= 3 && performance.now() - start > budget.totalMs) break;
    const params = m.params?.() ?? [];
    const t0 = performance.now();
    await call(client, m, params);
    ms.push(performance.now() - t0);
  }
  return ms;
}

async function exists(client: pg.Client, name: string): Promise<boolean> {
  const r = await one<{ n: number }>(client, `SELECT count(*)::int AS n FROM pg_proc AS p JOIN pg_namespace AS s ON s.oid = p.pronamespace WHERE s.nspname = 'backup_mgmt' AND p.proname = $1`, [name]);
  return r.n > 0;
}

export async function catalogSection(ctx: BenchContext): Promise<Section> {
  const section = newSection('catalog', '5. Catalog at scale');
  const shape = seedShape(ctx.opts.catalogBackups);
  const full = shape.backups >= 1_000_000;
  const c = await createBenchCluster('catalog', {
    shared_buffers: '1GB',
    // A throwaway catalog: load it fast; the queries measured only read.
    fsync: 'off',
    full_page_writes: 'off',
    synchronous_commit: 'off',
    wal_level: 'minimal',
    max_wal_senders: 0,
    archive_mode: 'off',
    max_wal_size: '16GB',
    checkpoint_timeout: '1h',
  });
  log(`catalog: seeding ${shape.backups} backups, ${shape.recoveries} recoveries, ${shape.schedules} schedules`);
  const loader = await connectClient(c.pg, c.catalogDb, 'bench seed');
  let seeded;
  try {
    seeded = await seedCatalog(loader, shape, c.systemIdentifier);
  } finally {
    await loader.end();
  }
  await c.catalog.query('CHECKPOINT');
  // fsync is off while seeding: what the checkpoint wrote may still be dirty
  // in the page cache (up to the kernel's dirty limits, gigabytes here), and
  // writing it back beside the timed calls would be timed with them (5 GB
  // written beside them put plan_recovery's p95 from 12 to 18 ms here).
  const flushSeconds = (await timed('sync', [])).ms / 1000;
  // Warm cache, as the reference figures are: the catalog (5.5 GB at
  // 1,000,000 backups) into the OS page cache, so that a random PITR target
  // does not time the disk reading a year-old backup's pages for the first time.
  const warm = performance.now();
  await c.catalog.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
  const pages = await one<{ pages: string }>(
    c.catalog,
    `SELECT sum(pg_prewarm(c.oid, 'read'))::text AS pages FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
      WHERE n.nspname = 'backup_mgmt' AND c.relkind IN ('r', 'i', 't')`,
  );
  await c.catalog.query('DROP EXTENSION pg_prewarm');
  const prewarmSeconds = (performance.now() - warm) / 1000;

  const client = await connectClient(c.pg, c.catalogDb, 'bench catalog queries');
  try {
    // PITR targets: random times inside the recoverable window, clear of both ends.
    const w = await one<{ lo: Date; hi: Date }>(client, `SELECT min(earliest_recoverable_time) AS lo, max(latest_recoverable_time) AS hi FROM backup_mgmt.recoverable_window()`);
    const lo = w.lo.getTime() + 3_600_000;
    const hi = w.hi.getTime() - 600_000;
    const randomTarget = () => [new Date(lo + Math.random() * (hi - lo)).toISOString()];
    const it = ctx.opts.smoke ? 0.5 : 1;
    const measured: Measured[] = [];
    if (await exists(client, 'health_check')) {
      measured.push({ name: 'health_check()', sql: 'SELECT * FROM backup_mgmt.health_check()', iterations: Math.round(40 * it), target: { text: 'p95 < 50 ms', p95Ms: 50 } });
    }
    measured.push(
      { name: 'get_next_scheduled_backups(10)', sql: 'SELECT * FROM backup_mgmt.get_next_scheduled_backups(10)', iterations: Math.round(100 * it), target: { text: 'p95 < 5 ms', p95Ms: 5 } },
      {
        name: "plan_recovery('time', random target in the window)",
        sql: `SELECT backup_mgmt.plan_recovery('time', $1)`,
        params: randomTarget,
        iterations: Math.round(100 * it),
        target: { text: 'p95 < 20 ms', p95Ms: 20 },
      },
    );
    if (await exists(client, 'cleanup_expired_backups')) {
      // A batch job over the whole history (a nightly call), not an interactive one: 3 timed calls.
      measured.push({
        name: 'cleanup_expired_backups(NULL, true) (dry run)',
        sql: 'SELECT * FROM backup_mgmt.cleanup_expired_backups(NULL, true)',
        iterations: 3,
        callMs: ctx.opts.smoke ? 30_000 : 120_000,
      });
    }
    measured.push(
      { name: 'recoverable_window()', sql: 'SELECT * FROM backup_mgmt.recoverable_window()', iterations: Math.round(20 * it) },
      { name: 'get_backup(<newest business key>)', sql: 'SELECT * FROM backup_mgmt.get_backup((SELECT backup_bk FROM backup_mgmt.backup_execution_h ORDER BY load_date DESC LIMIT 1))', iterations: Math.round(50 * it) },
    );
    const seedFile = join(packageRoot(), 'test', 'fixtures', 'seed-001-queries.sql');
    for (const q of seedQueries(readFileSync(seedFile, 'utf8'))) {
      measured.push({ name: `seed 001: ${q.label}`, sql: q.sql, iterations: Math.round(20 * it) });
    }

    const planLines: string[] = [
      'Plans of every statement each call executes (auto_explain, nested statements, one analysed run):',
      '',
      '| query | indexes used | sequential scans (rows) | slowest statements inside the call (analysed run) |',
      '| --- | --- | --- | --- |',
    ];
    const budget: Budget = ctx.opts.smoke ? { totalMs: 6_000, callMs: 6_000 } : { totalMs: 30_000, callMs: 30_000 };
    await client.query(`SET statement_timeout = ${budget.callMs}`);
    for (const m of measured) {
      log(`catalog: ${m.name} × ${m.iterations}`);
      const limits: Budget = m.callMs ? { totalMs: Math.min(budget.totalMs, m.callMs), callMs: m.callMs } : budget;
      await client.query(`SET statement_timeout = ${limits.callMs}`);
      let ms: number[];
      try {
        ms = await timeQuery(client, m, limits);
      } catch (e) {
        if (!(e instanceof CallTimedOut)) throw e;
        section.rows.push({
          name: m.name,
          unit: 'ms',
          kind: 'samples',
          values: [],
          unavailable: `one call took > ${limits.callMs / 1000} s (statement_timeout)`,
          target: m.target ? { text: m.target.text, pass: false, why: 'timed out' } : undefined,
        });
        planLines.push(`| ${m.name} | (timed out) | | |`);
        continue;
      }
      let plan: PlanFacts;
      const p50 = percentile(ms, 50);
      const analyzed = p50 < ANALYZE_BELOW_MS;
      const minMs = analyzed ? 0 : Math.max(5, Math.round(p50 / 100));
      try {
        plan = await explainAll(client, m.sql, m.params?.() ?? [], analyzed, minMs);
      } catch (e) {
        plan = { indexes: new Set([`(plan unavailable: ${(e as Error).message})`]), seqScans: new Map(), statements: [] };
      }
      const p95 = percentile(ms, 95);
      const row: Row = { name: m.name, unit: 'ms', kind: 'samples', values: ms };
      if (m.target) {
        row.target = { text: m.target.text, pass: p95 < m.target.p95Ms, why: full ? undefined : `indicative: ${shape.backups} backups seeded, the target is for 1,000,000` };
      }
      section.rows.push(row);
      // The slowest statements run inside the call (the call itself excluded): where the time goes.
      const own = m.sql.replace(/\s+/g, ' ').trim();
      const inside = plan.statements.filter((st) => st.text !== own).sort((a, b) => b.ms - a.ms).slice(0, 3);
      planLines.push(
        `| ${m.name}${analyzed ? '' : ` (not analysed: a slow call; statements ≥ ${minMs} ms, rows estimated)`} | ${[...plan.indexes].sort().join(', ') || '–'} | ${[...plan.seqScans].map(([r, n]) => `${r} (${analyzed ? '' : 'est. '}${n})`).join(', ') || '–'} | ${
          inside.map((st) => `${fmt(st.ms)} ms \`${st.text.slice(0, 90).replace(/\|/g, '\\|').replace(/`/g, "'")}\``).join('; ') || '–'
        } |`,
      );
    }
    if (!(await exists(client, 'health_check'))) {
      section.rows.unshift({ name: 'health_check()', unit: 'ms', kind: 'samples', values: [], unavailable: 'n/a (not installed)', target: { text: 'p95 < 50 ms', pass: null, why: 'health_check() not present' } });
    }
    if (!(await exists(client, 'cleanup_expired_backups'))) {
      section.rows.push({ name: 'cleanup_expired_backups(NULL, true)', unit: 'ms', kind: 'samples', values: [], unavailable: 'n/a (not installed)' });
    }
    section.details.push(planLines.join('\n'));
    const rows = seeded.rows;
    section.notes.push(
      `Seeded in ${fmt(seeded.seconds, 0)} s (INSERT … SELECT from generate_series, then VACUUM ANALYZE); catalog ${fmt(seeded.bytes / 1024 / 1024 / 1024, 2)} GB: ` +
        `backup_execution_h ${rows['backup_execution_h'] ?? 0}, backup_execution_s ${rows['backup_execution_s'] ?? 0} versions, backup_lsn_s ${rows['backup_lsn_s'] ?? 0}, ` +
        `backup_storage_s ${rows['backup_storage_s'] ?? 0}, backup_dependency_l ${rows['backup_dependency_l'] ?? 0}, wal_archive ${rows['wal_archive'] ?? 0}, ` +
        `recovery_operation_s ${rows['recovery_operation_s'] ?? 0} versions of ${rows['recovery_operation_h'] ?? 0} recoveries, backup_schedule_s ${rows['backup_schedule_s'] ?? 0} versions of ${rows['backup_schedule_h'] ?? 0} schedules, schedule_execution_l ${rows['schedule_execution_l'] ?? 0}.`,
      `Distribution: one backup a minute for ${fmt(shape.backups / 1440 / 365, 1)} years, 1 in 96 full, 97.5 % completed (of those 1 % verification failed, 3 % skipped), 2 % failed, 0.5 % cancelled; WAL kept ${WAL_KEPT_DAYS} days; fulls kept ${FULL_KEPT_DAYS} days, incrementals ${INCREMENTAL_KEPT_DAYS}.`,
      `Timings are client round trips on one connection as the superuser, shared_buffers 1 GB, after 3 warm-up calls; the seed's dirty pages written out first (sync, ${fmt(flushSeconds, 1)} s); warm cache: every catalog table and index read once into the OS page cache first (pg_prewarm 'read', ${pages.pages} pages in ${fmt(prewarmSeconds, 1)} s); PITR targets are random times in the recoverable window.`,
    );
  } finally {
    await client.end();
  }
  return section;
}
