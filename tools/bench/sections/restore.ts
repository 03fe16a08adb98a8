// 2. Restore / RTO: an approved PITR request (approval skipped as admin) until
// the agent reports a promoted, validated cluster, against pgBackRest restore
// to the same target time plus pg_ctl start until promotion; and the
// disaster-recovery path on the same backups: `restore --repo` with no
// database (offline plan, extract, configure) plus start until promotion.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { BenchContext, DataCluster } from '../context.js';
import { cli, connectClient, jobFinished, log, mkdirForPostgres, nowMs, one, setArchiveCommand, sleep, stopRestored } from '../env.js';
import { agentFullBackup, freePort, makeRestoreDir, queryPort, startRestored, waitPromoted } from '../ops.js';
import { fmt, newSection, type Row, type Section } from '../report.js';
import { summarize } from '../stats.js';

const MARKERS_BEFORE = 1000;

interface Prepared {
  targetTime: string;
  /** Newest WAL segment that must be archived for the target to be reachable. */
  switchedSegment: string;
}

/**
 * Both tools get a fresh base backup, then a workload with markers, a target
 * time between two commits, more work, and a WAL switch that both archives
 * have received (archive_command runs wal-push, then pgbackrest archive-push).
 */
async function prepare(d: DataCluster): Promise<Prepared> {
  const c = d.c;
  await setArchiveCommand(c, d.baseArchiveCommand);
  log(`restore [${d.info.name}]: base backups (agent, verified; pgBackRest)`);
  await agentFullBackup(c, { verify: true });
  if (d.pgbr) await d.pgbr.backup();

  const db = await connectClient(c.pg, c.dataDb);
  try {
    await db.query('CREATE TABLE IF NOT EXISTS bench_marker (id bigserial PRIMARY KEY, phase text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), pad text)');
    await db.query('TRUNCATE bench_marker');
    // WAL to replay: realistic row changes on the data set, plus the markers.
    if (d.info.name === 'pgbench') {
      await db.query('UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 50 = 0');
    } else {
      await db.query('UPDATE mix_events SET amount = coalesce(amount, 0) + 1 WHERE id % 50 = 0');
    }
    await db.query(`INSERT INTO bench_marker (phase, pad) SELECT 'before', repeat(md5(g::text), 8) FROM generate_series(1, ${MARKERS_BEFORE}) AS g`);
    await sleep(1100);
    const t = await one<{ t: string }>(db, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t`);
    await sleep(1100);
    // Commits after the target: recovery stops at the first one.
    for (let i = 0; i < 10; i++) await db.query(`INSERT INTO bench_marker (phase) VALUES ('after')`);
    const sw = await one<{ f: string }>(db, 'SELECT pg_walfile_name(pg_switch_wal()) AS f');
    // Wait until the segment is archived by both (the combined command succeeded) and registered.
    const deadline = Date.now() + 300_000;
    for (;;) {
      const a = await one<{ last: string | null; ok: boolean }>(
        c.catalog,
        `SELECT last_archived_wal AS last, (SELECT max(latest_recoverable_time) FROM backup_mgmt.recoverable_window()) > $1::timestamptz AS ok FROM pg_stat_archiver`,
        [t.t],
      );
      if (a.last !== null && a.last >= sw.f && a.ok) break;
      if (Date.now() > deadline) throw new Error(`WAL ${sw.f} not archived and registered after 300 s (last archived ${a.last})`);
      await sleep(200);
    }
    return { targetTime: t.t, switchedSegment: sw.f };
  } finally {
    await db.end();
  }
}

interface AgentRestore {
  wall: number;
  rto: number;
  validation: string;
  correct: boolean;
  /** The agent's own breakdown of the RTO (job result phases_seconds). */
  phases: Record<string, number>;
  /** WAL segments the plan replays (base start to the target's segment). */
  segments: number;
}

async function agentRestore(d: DataCluster, p: Prepared): Promise<AgentRestore> {
  const c = d.c;
  const t0 = nowMs();
  const req = await one<{ hk: string }>(c.catalog, `SELECT encode(recovery_id, 'hex') AS hk FROM backup_mgmt.initiate_recovery('time', $1, NULL, false)`, [p.targetTime]);
  // The job's notification ends the measurement: polling meanwhile would share the cores with the replay.
  const done = await jobFinished(c, req.hk, 'RESTORE', 3_600_000);
  const wall = (done.atMs - t0) / 1000;
  const r = await one<{
    recovery_status: string;
    recovery_duration_seconds: string | null;
    validation_status: string | null;
    restore_port: number | null;
    restore_directory: string | null;
    error_message: string | null;
    segments: string | null;
  }>(
    c.catalog,
    `SELECT recovery_status, recovery_duration_seconds, validation_status, restore_port, restore_directory, error_message,
            plan->'wal'->>'segments' AS segments
       FROM backup_mgmt.get_recovery($1)`,
    [req.hk],
  );
  let socketDir: string | undefined;
  try {
    if (r.recovery_status !== 'COMPLETED') throw new Error(`agent recovery ended ${r.recovery_status}: ${r.error_message ?? ''}`);
    let correct = false;
    if (r.restore_port) {
      const rows = await queryPort<{ phase: string; n: string }>(r.restore_port, c.dataDb, 'SELECT phase, count(*) AS n FROM bench_marker GROUP BY phase');
      const before = Number(rows.find((x) => x.phase === 'before')?.n ?? 0);
      const after = Number(rows.find((x) => x.phase === 'after')?.n ?? 0);
      correct = before === MARKERS_BEFORE && after === 0;
    }
    const job = await c.catalog.query<{ phases: Record<string, number> | null; sock: string | null }>(
      `SELECT result->'phases_seconds' AS phases, result->>'socket_directory' AS sock FROM backup_mgmt.job
        WHERE subject_hk = decode($1, 'hex') AND job_type = 'RESTORE' ORDER BY job_id DESC LIMIT 1`,
      [req.hk],
    );
    socketDir = job.rows[0]?.sock ?? undefined;
    return { wall, rto: Number(r.recovery_duration_seconds), validation: r.validation_status ?? '-', correct, phases: job.rows[0]?.phases ?? {}, segments: Number(r.segments ?? 0) };
  } finally {
    if (r.restore_directory) await stopRestored(r.restore_directory);
    // A restore directory with a long path gets its socket in a temporary directory.
    if (socketDir && basename(socketDir).startsWith('bm-restore-') && dirname(socketDir) === tmpdir()) await rm(socketDir, { recursive: true, force: true });
  }
}

/** The restored copy holds every marker before the target and none after it. */
async function markersAtTarget(port: number, db: string): Promise<boolean> {
  const rows = await queryPort<{ phase: string; n: string }>(port, db, 'SELECT phase, count(*) AS n FROM bench_marker GROUP BY phase');
  const before = Number(rows.find((x) => x.phase === 'before')?.n ?? 0);
  const after = Number(rows.find((x) => x.phase === 'after')?.n ?? 0);
  return before === MARKERS_BEFORE && after === 0;
}

interface PgbrRestore {
  wall: number;
  restore: number;
  start: number;
  correct: boolean;
}

async function pgbrRestore(d: DataCluster, p: Prepared, run: number): Promise<PgbrRestore> {
  const pgbr = d.pgbr!;
  const base = join(d.c.pg.baseDir, 'pgbr-restores');
  await mkdirForPostgres(base);
  const dir = await makeRestoreDir(base, `run-${run}`);
  const sock = await mkdirForPostgres(join(base, `sock-${run}`), 0o700);
  const port = await freePort();
  try {
    const t0 = nowMs();
    await pgbr.restore(dir, p.targetTime);
    const t1 = nowMs();
    await pgbr.overrideRestoredSettings(dir, port, sock);
    await startRestored(dir, join(base, `run-${run}.log`));
    await waitPromoted(port);
    const t2 = nowMs();
    return { wall: (t2 - t0) / 1000, restore: (t1 - t0) / 1000, start: (t2 - t1) / 1000, correct: await markersAtTarget(port, d.c.dataDb) };
  } finally {
    await stopRestored(dir);
  }
}

interface RepoRestore {
  wall: number;
  /** restore --repo's own breakdown (planning, restoring, configuring, recovering). */
  phases: Record<string, number>;
  correct: boolean;
}

/** `backup-mgmt restore --repo --start` (no DATABASE_URL) into a fresh directory, until promoted. */
async function repoRestore(d: DataCluster, p: Prepared, run: number): Promise<RepoRestore> {
  const base = join(d.c.pg.baseDir, 'repo-restores');
  await mkdirForPostgres(base);
  const dir = await makeRestoreDir(base, `run-${run}`);
  const port = await freePort();
  try {
    const t0 = nowMs();
    // --start waits until promoted; beside the running source on a port of
    // its own (the new timeline it archives is never a target here).
    const r = await cli(['restore', '--repo', d.c.repo, '--to', dir, '--target-time', p.targetTime, '--start', '--port', String(port), '--json'], { ...d.c.env, DATABASE_URL: '' });
    const t1 = nowMs();
    const phases = (JSON.parse(r.stdout) as { phases_seconds: Record<string, number> }).phases_seconds;
    return { wall: (t1 - t0) / 1000, phases, correct: await markersAtTarget(port, d.c.dataDb) };
  } finally {
    await stopRestored(dir);
  }
}

/** Median seconds per phase of the agent's restore, in the order the phases ran. */
function phaseText(all: Array<Record<string, number>>): string {
  const names = [...new Set(all.flatMap((p) => Object.keys(p)))];
  return names
    .map((n) => `${n} ${fmt(summarize(all.map((p) => p[n] ?? 0)).median, 1)}`)
    .join(', ')
    .concat(names.length ? ' s' : '');
}

export async function restoreSection(ctx: BenchContext): Promise<Section> {
  const section = newSection('restore', '2. Restore / RTO (point-in-time recovery)');
  const names = ctx.opts.smoke ? (['pgbench'] as const) : (['pgbench', 'mix'] as const);
  if (ctx.opts.smoke) section.notes.push('Smoke run: the pgbench data set only.');
  for (const name of names) {
    const d = await ctx.dataset(name);
    const hasExecutor = d.c.agent?.jobTypes.includes('RESTORE') ?? false;
    const p = await prepare(d);
    const agentRuns: AgentRestore[] = [];
    const pgbrRuns: PgbrRestore[] = [];
    const repoRuns: RepoRestore[] = [];
    for (let run = 0; run < ctx.opts.runs; run++) {
      if (hasExecutor) {
        log(`restore [${name}] run ${run + 1}/${ctx.opts.runs}: agent PITR to ${p.targetTime}`);
        agentRuns.push(await agentRestore(d, p));
      }
      log(`restore [${name}] run ${run + 1}/${ctx.opts.runs}: restore --repo (no database) to ${p.targetTime}`);
      repoRuns.push(await repoRestore(d, p, run));
      if (d.pgbr) {
        log(`restore [${name}] run ${run + 1}/${ctx.opts.runs}: pgBackRest restore --type=time`);
        pgbrRuns.push(await pgbrRestore(d, p, run));
      }
    }
    const pgbrMedian = summarize(pgbrRuns.map((r) => r.wall)).median;
    const rows: Row[] = [];
    if (d.pgbr) {
      rows.push({
        name: `[${name}] pgBackRest restore --type=time + pg_ctl start until promoted`,
        unit: 's',
        kind: 'runs',
        values: pgbrRuns.map((r) => r.wall),
        extra: `restore ${fmt(summarize(pgbrRuns.map((r) => r.restore)).median)} s + start/replay ${fmt(summarize(pgbrRuns.map((r) => r.start)).median)} s`,
        note: 'reference',
      });
    } else {
      rows.push({ name: `[${name}] pgBackRest restore`, unit: 's', kind: 'runs', values: [], unavailable: `n/a (${ctx.pgbrUnavailable})` });
    }
    const targetText = '≤ pgBackRest restore + recovery';
    if (hasExecutor) {
      const wall = agentRuns.map((r) => r.wall);
      const med = summarize(wall).median;
      rows.push(
        {
          name: `[${name}] agent PITR: initiate_recovery (approval skipped) → COMPLETED, validated`,
          unit: 's',
          kind: 'runs',
          values: wall,
          reference: d.pgbr ? { name: 'pgBackRest', value: pgbrMedian } : undefined,
          ratio: d.pgbr ? med / pgbrMedian : undefined,
          ratioLabel: '× pgBackRest',
          target: d.pgbr ? { text: targetText, pass: med <= pgbrMedian } : { text: targetText, pass: null, why: 'no pgBackRest' },
        },
        {
          name: `[${name}] agent recovery_duration_seconds (claim → validated, the catalog's RTO)`,
          unit: 's',
          kind: 'runs',
          values: agentRuns.map((r) => r.rto),
          extra: phaseText(agentRuns.map((r) => r.phases)),
        },
      );
      section.notes.push(
        `${name}: agent validation ${[...new Set(agentRuns.map((r) => r.validation))].join('/')}; marker rows at the target ${agentRuns.every((r) => r.correct) ? 'correct in every run' : 'WRONG in some run'}; ` +
          `the plan replays ${agentRuns[0]?.segments ?? '?'} WAL segments, each fetched by restore_command (backup-mgmt wal-fetch for the agent, pgbackrest archive-get for pgBackRest: see their per-segment latency in section 3).`,
      );
    } else {
      rows.push({
        name: `[${name}] agent PITR`,
        unit: 's',
        kind: 'runs',
        values: [],
        unavailable: 'n/a (restore executor missing)',
        target: { text: targetText, pass: null, why: 'restore executor missing' },
      });
    }
    {
      const wall = repoRuns.map((r) => r.wall);
      const med = summarize(wall).median;
      const agentMed = hasExecutor ? summarize(agentRuns.map((r) => r.wall)).median : Number.NaN;
      rows.push({
        name: `[${name}] disaster recovery: restore --repo (no database) + start until promoted, same backups`,
        unit: 's',
        kind: 'runs',
        values: wall,
        extra: phaseText(repoRuns.map((r) => r.phases)),
        reference: hasExecutor ? { name: 'catalog-driven agent PITR', value: agentMed } : undefined,
        ratio: hasExecutor ? med / agentMed : undefined,
        ratioLabel: '× catalog-driven',
        target: hasExecutor ? { text: '≤ 1.1 × catalog-driven', pass: med <= 1.1 * agentMed } : { text: '≤ 1.1 × catalog-driven', pass: null, why: 'restore executor missing' },
      });
      section.notes.push(`${name}: repository-only restore marker rows at the target ${repoRuns.every((r) => r.correct) ? 'correct in every run' : 'WRONG in some run'} (it does not count rows; the catalog-driven one validates).`);
    }
    if (d.pgbr) section.notes.push(`${name}: pgBackRest marker rows at the target ${pgbrRuns.every((r) => r.correct) ? 'correct in every run' : 'WRONG in some run'}.`);
    section.rows.push(...rows);
    section.notes.push(`${name}: target time ${p.targetTime}; WAL switched at ${p.switchedSegment}.`);
  }
  section.notes.push(
    "The agent's time includes what pgBackRest's does not: validation (row counts of every table of every database, target check); the pgBackRest path stops at promotion, as the issue defines the reference.",
  );
  return section;
}
