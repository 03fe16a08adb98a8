// The benchmark's own pieces, fast: argument parsing, statistics, the report,
// the seed 001 query splitter, and the catalog seed at a tiny size against the
// real pack (it must produce a catalog the pack's functions accept). Speed is
// never asserted here; `npm run bench` measures it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBenchArgs, UsageError } from '../../tools/bench/args.js';
import { seedCatalog, seedShape } from '../../tools/bench/catalog-seed.js';
import { setQuiet } from '../../tools/bench/env.js';
import { renderJson, renderMarkdown, type Report } from '../../tools/bench/report.js';
import { seedQueries } from '../../tools/bench/sections/catalog.js';
import { tpsBetween } from '../../tools/bench/pgbench.js';
import { percentile, slope, summarize } from '../../tools/bench/stats.js';
import { usePackDatabase } from '../harness/pack.js';

describe('bench arguments', () => {
  it('has the documented defaults', () => {
    const o = parseBenchArgs([]);
    expect(o).toMatchObject({ scale: 50, runs: 3, catalogBackups: 1_000_000, pickupRequests: 100, keep: false });
    expect(o.only).toEqual(['backup', 'restore', 'wal', 'impact', 'catalog', 'pickup', 'stream', 's3']);
  });

  it('scales the catalog with --scale and takes --only lists', () => {
    const o = parseBenchArgs(['--scale', '5', '--only', 'catalog,pickup', '--json', '/tmp/x.json']);
    expect(o).toMatchObject({ scale: 5, catalogBackups: 10_000, only: ['catalog', 'pickup'], json: '/tmp/x.json' });
  });

  it('refuses unknown sections and bad numbers', () => {
    expect(() => parseBenchArgs(['--only', 'backups'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--scale', '0'])).toThrow(/--scale/);
    expect(() => parseBenchArgs(['--runs', 'x'])).toThrow(/--runs/);
    expect(() => parseBenchArgs(['--bogus'])).toThrow(UsageError);
  });
});

describe('bench statistics', () => {
  it('summarises runs and samples', () => {
    expect(summarize([3, 1, 2])).toMatchObject({ n: 3, min: 1, median: 2, max: 3 });
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 95)).toBeCloseTo(10.5);
    expect(summarize([]).n).toBe(0);
  });

  it('fits a slope', () => {
    expect(slope([[0, 1], [1, 3], [2, 5]])).toBeCloseTo(2);
    expect(slope([[0, 4]])).toBe(0);
  });

  it('counts transactions per second in a window', () => {
    const t = Float64Array.from([1000, 1100, 1200, 2500, 2600, 4000]);
    expect(tpsBetween(t, 1000, 2000)).toBe(3);
    expect(tpsBetween(t, 2000, 4000)).toBe(1);
    expect(Number.isNaN(tpsBetween(t, 5, 5))).toBe(true);
  });
});

describe('bench report', () => {
  const report: Report = {
    title: 'backup_mgmt benchmark',
    startedAt: '2026-11-22T00:00:00Z',
    durationSeconds: 90,
    machine: { cpu: 'test × 2' },
    options: { scale: 1 },
    datasets: [{ name: 'pgbench', description: 'd', databaseBytes: 1 << 20, dataDirBytes: 2 << 20, zstdRatio: 20, loadSeconds: 1 }],
    sections: [
      {
        id: 'x',
        title: '1. X',
        rows: [
          { name: 'ref', unit: 's', kind: 'runs', values: [1, 2, 3] },
          { name: 'agent', unit: 's', kind: 'runs', values: [2, 2, 2], ratio: 1, reference: { name: 'ref', value: 2 }, target: { text: '≤ 1.10 × ref', pass: true } },
          { name: 'a | b', unit: 'ms', kind: 'samples', values: [], unavailable: 'n/a (missing)', target: { text: 'p95 < 5 ms', pass: null, why: 'missing' } },
        ],
        notes: ['a note'],
        details: [],
      },
    ],
  };

  it('renders targets, rows and notes as markdown', () => {
    const md = renderMarkdown(report);
    expect(md).toContain('## Targets');
    expect(md).toContain('| 1. X | agent | ≤ 1.10 × ref | median 2.00 s; ratio 1.00 | **pass** |');
    expect(md).toContain('a \\| b');
    expect(md).toContain('n/a (missing)');
    expect(md).toContain('- a note');
  });

  it('renders JSON with summaries', () => {
    const j = JSON.parse(renderJson(report));
    expect(j.sections[0].rows[0].summary).toMatchObject({ min: 1, median: 2, max: 3 });
    expect(j.sections[0].rows[2].summary).toBeNull();
  });
});

describe('seed 001 queries', () => {
  it('splits the fixture into its labelled statements', () => {
    const qs = seedQueries(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'seed-001-queries.sql'), 'utf8'));
    expect(qs.length).toBeGreaterThanOrEqual(7);
    expect(qs[0]!.label).toBe('Step 4.1: Check backup status');
    for (const q of qs) expect(q.sql).not.toMatch(/;\s*$/);
  });
});

describe('catalog seed (tiny)', () => {
  const pack = usePackDatabase({ pgCron: false, database: 'bm_bench_seed' });
  let client: pg.Client;

  beforeAll(async () => {
    setQuiet(true);
    const url = await pack.setup();
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
  });

  it('fills hubs, satellites and links consistently, and the pack plans on it', async () => {
    const { rows } = await client.query<{ s: string }>('SELECT system_identifier::text AS s FROM pg_control_system()');
    const shape = seedShape(3000);
    const seeded = await seedCatalog(client, shape, rows[0]!.s);
    expect(seeded.rows['backup_execution_h']).toBe(3000);
    expect(seeded.rows['recovery_operation_h']).toBe(shape.recoveries);
    expect(seeded.rows['backup_schedule_h']).toBe(shape.schedules);

    const one = async (sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows[0];
    // Exactly one current version per key, history end-dated without overlaps.
    expect(await one(`SELECT count(*)::int AS n FROM backup_mgmt.backup_execution_current`)).toEqual({ n: 3000 });
    expect(
      await one(`SELECT count(*)::int AS n FROM backup_mgmt.backup_execution_s AS a JOIN backup_mgmt.backup_execution_s AS b
                   ON b.backup_hk = a.backup_hk AND b.load_date = a.load_end_date`),
    ).toEqual(await one(`SELECT count(*)::int AS n FROM backup_mgmt.backup_execution_s WHERE load_end_date IS NOT NULL`));
    // The secondary indexes came back.
    expect(await one(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'backup_mgmt' AND indexname = 'idx_backup_execution_s_start_time'`)).toEqual({ n: 1 });

    const w = await one(`SELECT earliest_recoverable_time AS lo, latest_recoverable_time AS hi, missing_segments FROM backup_mgmt.recoverable_window()`);
    expect(w.lo).toBeInstanceOf(Date);
    expect(w.missing_segments).toBe('0');
    const target = new Date((w.lo.getTime() + w.hi.getTime()) / 2).toISOString();
    const plan = (await one(`SELECT backup_mgmt.plan_recovery('time', $1) AS p`, [target])).p;
    expect(plan.base.backup_bk).toMatch(/^FULL_BACKUP_SYSTEM_/);
    expect(plan.wal.segments).toBeGreaterThan(0);
    expect((await client.query('SELECT * FROM backup_mgmt.get_next_scheduled_backups(10)')).rows).toHaveLength(10);
  });
});
