// 3. WAL archiving: per-segment latency of the real `backup-mgmt wal-push`
// (as archive_command runs it: sh -c, as the postgres OS user, on real
// segments) against cp and pgbackrest archive-push, and sustained archiving
// under pgbench write load with the archiver's backlog sampled over time.
import { readdirSync } from 'node:fs';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { serverEnvironment } from '../../local-cluster.js';
import { archiveCommand, restoreCommand } from '../../../src/util/wal-commands.js';
import type { BenchContext, DataCluster } from '../context.js';
import { archiverBacklog, chownTreeToPostgres, connectClient, currentLsnBytes, log, mkdirForPostgres, nowMs, one, setArchiveCommand, sleep, timed } from '../env.js';
import { PGBACKREST, PgBackRest } from '../pgbackrest.js';
import { startPgbench } from '../pgbench.js';
import { fmt, newSection, type Row, type Section } from '../report.js';
import { slope, summarize } from '../stats.js';

const SEGMENT = 16 * 1024 * 1024;
const MB = 1024 * 1024;

interface Sample {
  t: number;
  walBytes: number;
  archived: number;
  ready: number;
}

interface SustainedRun {
  tps: number;
  walMBps: number;
  archivedMBps: number;
  maxBacklog: number;
  endBacklog: number;
  slopeSecondHalf: number;
  drainSeconds: number;
  failed: number;
  growing: boolean;
  samples: Sample[];
}

async function archiverCounters(d: DataCluster): Promise<{ archived: number; failed: number }> {
  const r = await one<{ a: string; f: string }>(d.c.catalog, 'SELECT archived_count AS a, failed_count AS f FROM pg_stat_archiver');
  return { archived: Number(r.a), failed: Number(r.f) };
}

async function waitDrained(d: DataCluster, timeoutMs: number): Promise<number> {
  const t0 = nowMs();
  while (archiverBacklog(d.c.pg.dataDir) > 0) {
    if (nowMs() - t0 > timeoutMs) break;
    await sleep(100);
  }
  return (nowMs() - t0) / 1000;
}

async function sustained(d: DataCluster, command: string, seconds: number): Promise<SustainedRun> {
  await setArchiveCommand(d.c, command);
  await waitDrained(d, 300_000);
  await d.c.catalog.query('CHECKPOINT');
  const c0 = await archiverCounters(d);
  const lsn0 = await currentLsnBytes(d.c.catalog);
  const bench = startPgbench(d.c, { seconds });
  const t0 = bench.startedAtMs;
  const samples: Sample[] = [];
  let finished = false;
  const result = bench.done.finally(() => {
    finished = true;
  });
  while (!finished) {
    const [lsn, cnt] = [await currentLsnBytes(d.c.catalog), await archiverCounters(d)];
    samples.push({ t: (nowMs() - t0) / 1000, walBytes: lsn - lsn0, archived: cnt.archived - c0.archived, ready: archiverBacklog(d.c.pg.dataDir) });
    await sleep(500);
  }
  const r = await result;
  const tEnd = (r.endedAtMs - t0) / 1000;
  const lsn1 = await currentLsnBytes(d.c.catalog);
  const c1 = await archiverCounters(d);
  const endBacklog = archiverBacklog(d.c.pg.dataDir);
  const drainSeconds = await waitDrained(d, 300_000);
  const half = samples.filter((s) => s.t >= tEnd / 2);
  const slopeSecondHalf = slope(half.map((s) => [s.t, s.ready] as const));
  const maxBacklog = Math.max(0, ...samples.map((s) => s.ready));
  return {
    tps: r.tps,
    walMBps: (lsn1 - lsn0) / MB / tEnd,
    archivedMBps: ((c1.archived - c0.archived) * SEGMENT) / MB / tEnd,
    maxBacklog,
    endBacklog,
    slopeSecondHalf,
    drainSeconds,
    failed: c1.failed - c0.failed,
    // Lag grows when the backlog ends above a couple of segments and was still rising.
    growing: endBacklog > 2 && slopeSecondHalf > 0.05,
    samples,
  };
}

/** Real segments for the latency runs: copied out of the cp archive into a fake data directory. */
async function prepareSegments(d: DataCluster, cpArchive: string, k: number, srcDir: string): Promise<string[]> {
  const have = () => readdirSync(cpArchive).filter((f) => /^[0-9A-F]{24}$/.test(f)).sort();
  const db = d.c;
  const deadline = Date.now() + 300_000;
  while (have().length < k && Date.now() < deadline) {
    const dbc = await connectClient(db.pg, db.dataDb);
    try {
      await dbc.query('UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 200000');
      await dbc.query('SELECT pg_switch_wal()');
    } finally {
      await dbc.end();
    }
    await waitDrained(d, 120_000);
  }
  const names = have().slice(-k);
  await mkdirForPostgres(join(srcDir, 'pg_wal'));
  for (const f of names) await copyFile(join(cpArchive, f), join(srcDir, 'pg_wal', f));
  await chownTreeToPostgres(srcDir);
  return names;
}

/** A command as archive_command / restore_command run it: sh -c, as the server's user, with the server's environment. */
function sh(command: string, cwd: string) {
  return timed('/bin/sh', ['-c', command], { cwd, asPostgres: true, timeoutMs: 120_000, baseEnv: serverEnvironment() });
}

export async function walSection(ctx: BenchContext): Promise<Section> {
  const section = newSection('wal', '3. WAL archiving');
  const d = await ctx.dataset('pgbench');
  const base = await mkdirForPostgres(join(d.c.pg.baseDir, 'wal-bench'));
  const cpArchive = await mkdirForPostgres(join(base, 'cp-archive'));
  const seconds = ctx.opts.smoke ? 4 : 15;
  const k = ctx.opts.smoke ? 4 : 10;

  const commands: Array<{ name: string; command: string }> = [
    { name: 'cp', command: `test ! -f ${cpArchive}/%f && cp %p ${cpArchive}/%f` },
    { name: 'backup-mgmt wal-push', command: d.walPushCommand },
  ];
  if (d.pgbr) commands.push({ name: 'pgbackrest archive-push', command: d.pgbr.archivePushCommand() });

  // Sustained archiving under load, interleaved per run.
  const runs = new Map<string, SustainedRun[]>(commands.map((c) => [c.name, []]));
  try {
    for (let run = 0; run < ctx.opts.runs; run++) {
      for (const cmd of commands) {
        log(`wal run ${run + 1}/${ctx.opts.runs}: pgbench ${seconds} s with archive_command = ${cmd.name}`);
        runs.get(cmd.name)!.push(await sustained(d, cmd.command, seconds));
      }
    }

    // Per-segment latency, as the archiver runs the command.
    await setArchiveCommand(d.c, commands[0]!.command);
    const src = join(base, 'walsrc');
    const segs = await prepareSegments(d, cpArchive, k, src);
    const dst = await mkdirForPostgres(join(base, 'lat-cp'));
    const repoIdle = await mkdirForPostgres(join(base, 'lat-repo-idle'));
    const repoLoad = await mkdirForPostgres(join(base, 'lat-repo-load'));
    let scratch: PgBackRest | undefined;
    if (d.pgbr) {
      scratch = new PgBackRest(d.c, d.pgbr.stanza, 'pgbackrest-latency');
      await scratch.init();
    }
    const lat = { cp: [] as number[], push: [] as number[], pgbr: [] as number[], pushLoad: [] as number[], fetch: [] as number[], pgbrGet: [] as number[] };
    log(`wal: per-segment latency on ${segs.length} real segments`);
    for (const f of segs) {
      lat.cp.push((await sh(`test ! -f ${dst}/${f} && cp pg_wal/${f} ${dst}/${f}`, src)).ms);
      lat.push.push((await sh(archiveCommand(repoIdle).replace('%p', `pg_wal/${f}`), src)).ms);
      if (scratch) lat.pgbr.push((await sh(scratch.archivePushCommand().replace('%p', join(src, 'pg_wal', f)), src)).ms);
    }
    // The way back, as restore_command runs during recovery: what PITR replay waits for per segment.
    const fetched = await mkdirForPostgres(join(base, 'fetched'));
    for (const f of segs) {
      lat.fetch.push((await sh(restoreCommand(repoIdle, d.c.systemIdentifier).replace('%f', f).replace('%p', `fetched/${f}`), base)).ms);
      await rm(join(fetched, f), { force: true });
      if (scratch) {
        lat.pgbrGet.push((await sh(`${PGBACKREST} --config=${scratch.conf} --stanza=${scratch.stanza} archive-get ${f} ${join(fetched, f)}`, base)).ms);
        await rm(join(fetched, f), { force: true });
      }
    }
    // The same wal-push while pgbench writes (archive_command = cp meanwhile).
    const loadSeconds = Math.ceil((summarize(lat.push).median / 1000) * segs.length * 2.5 + 3);
    log(`wal: wal-push latency under pgbench load (${loadSeconds} s)`);
    const bench = startPgbench(d.c, { seconds: loadSeconds });
    await sleep(1000);
    for (const f of segs) lat.pushLoad.push((await sh(archiveCommand(repoLoad).replace('%p', `pg_wal/${f}`), src)).ms);
    await bench.done;

    // Rows.
    const cpWal = summarize(runs.get('cp')!.map((r) => r.walMBps)).median;
    const capacity = lat.pushLoad.map((ms) => SEGMENT / MB / (ms / 1000));
    const capMedian = SEGMENT / MB / (summarize(lat.pushLoad).median / 1000);
    const pushRuns = runs.get('backup-mgmt wal-push')!;
    const anyGrowing = pushRuns.some((r) => r.growing);
    const ratio = capMedian / cpWal;
    const rows: Row[] = [
      { name: 'per-segment latency: cp (archive_command via sh, idle)', unit: 'ms', kind: 'samples', values: lat.cp },
      {
        name: 'per-segment latency: backup-mgmt wal-push (idle)',
        unit: 'ms',
        kind: 'samples',
        values: lat.push,
        reference: scratch ? { name: 'pgbackrest archive-push', value: summarize(lat.pgbr).median } : undefined,
        ratio: scratch ? summarize(lat.push).median / summarize(lat.pgbr).median : undefined,
        ratioLabel: '× pgBackRest',
      },
    ];
    if (scratch) rows.push({ name: 'per-segment latency: pgbackrest archive-push (idle)', unit: 'ms', kind: 'samples', values: lat.pgbr });
    rows.push(
      {
        name: 'per-segment latency: backup-mgmt wal-fetch (restore_command, idle)',
        unit: 'ms',
        kind: 'samples',
        values: lat.fetch,
        reference: scratch ? { name: 'pgbackrest archive-get', value: summarize(lat.pgbrGet).median } : undefined,
        ratio: scratch ? summarize(lat.fetch).median / summarize(lat.pgbrGet).median : undefined,
        ratioLabel: '× pgBackRest',
      },
    );
    if (scratch) rows.push({ name: 'per-segment latency: pgbackrest archive-get (idle)', unit: 'ms', kind: 'samples', values: lat.pgbrGet });
    rows.push(
      { name: 'per-segment latency: backup-mgmt wal-push (under pgbench load)', unit: 'ms', kind: 'samples', values: lat.pushLoad },
      {
        name: `pgbench tpcb-like, 4 clients, ${seconds} s after a checkpoint: WAL rate (archive_command = cp)`,
        unit: 'MB/s',
        kind: 'runs',
        values: runs.get('cp')!.map((r) => r.walMBps),
      },
      {
        name: 'wal-push capacity under load (16 MiB / per-segment latency)',
        unit: 'MB/s',
        kind: 'samples',
        values: capacity,
        reference: { name: 'pgbench WAL rate', value: cpWal, unit: 'MB/s' },
        ratio,
        ratioLabel: '× WAL rate',
        targetStat: 'median',
        target: {
          text: '≥ 2 × pgbench WAL rate, archiver lag not growing',
          pass: ratio >= 2 && !anyGrowing,
          why: anyGrowing ? 'backlog grew during a run' : undefined,
        },
      },
    );
    for (const cmd of commands) {
      const rs = runs.get(cmd.name)!;
      rows.push(
        {
          name: `archive_command = ${cmd.name}: archived during the run`,
          unit: 'MB/s',
          kind: 'runs',
          values: rs.map((r) => r.archivedMBps),
          extra: `WAL written ${fmt(summarize(rs.map((r) => r.walMBps)).median)} MB/s, pgbench ${fmt(summarize(rs.map((r) => r.tps)).median, 0)} TPS`,
        },
        {
          name: `archive_command = ${cmd.name}: archiver backlog (.ready files), max during the run`,
          unit: 'files',
          kind: 'runs',
          values: rs.map((r) => r.maxBacklog),
          extra:
            `at end ${rs.map((r) => r.endBacklog).join('/')}, trend ${rs.map((r) => fmt(r.slopeSecondHalf, 2)).join('/')} files/s, ` +
            `drained ${rs.map((r) => fmt(r.drainSeconds, 1)).join('/')} s after, failures ${rs.reduce((a, r) => a + r.failed, 0)}${rs.some((r) => r.growing) ? ', GROWING' : ''}`,
        },
      );
    }
    section.rows.push(...rows);

    // The backlog over time of the median wal-push run.
    const sorted = [...pushRuns].sort((a, b) => a.archivedMBps - b.archivedMBps);
    const mid = sorted[Math.floor(sorted.length / 2)]!;
    const step = Math.max(1, Math.round(mid.samples.length / 12));
    const lines = ['Archiver over time, a wal-push run (pg_current_wal_lsn, pg_stat_archiver.archived_count, pending .ready files):', '', '| t (s) | WAL written (MB) | segments archived | .ready |', '| --- | --- | --- | --- |'];
    for (let i = 0; i < mid.samples.length; i += step) {
      const s = mid.samples[i]!;
      lines.push(`| ${fmt(s.t, 1)} | ${fmt(s.walBytes / MB, 1)} | ${s.archived} | ${s.ready} |`);
    }
    section.details.push(lines.join('\n'));
    section.notes.push(
      `Latency: each command run the way the archiver runs it (sh -c, as the postgres OS user, with the server's environment — no NODE_OPTIONS or NODE_EXTRA_CA_CERTS, as under systemd; cwd = a directory holding pg_wal/<segment>) on ${segs.length} real 16 MiB segments written by pgbench; cp does not fsync, wal-push compresses (zstd 3), hashes (SHA-256) and fsyncs, pgbackrest archive-push compresses (zst 3) and checksums. ` +
        `wal-fetch and pgbackrest archive-get then bring the same segments back the way restore_command does (decompress, check the checksum): recovery asks for one segment at a time.`,
      `The archiver is one process and archives one segment at a time, so its capacity is 16 MiB / per-segment latency; the target compares that, measured while pgbench runs, with the WAL rate pgbench reaches with a free archiver (cp), checkpoint just before each run (full-page writes: the heaviest WAL).`,
      `Backlog "trend" is the least-squares slope of the .ready count over the second half of the run; lag counts as growing when it ends above 2 files and still rises.`,
    );
    if (scratch) await rm(scratch.dir, { recursive: true, force: true });
  } finally {
    await setArchiveCommand(d.c, d.baseArchiveCommand);
  }
  return section;
}
