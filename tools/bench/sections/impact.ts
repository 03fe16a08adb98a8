// 4. Foreground impact: pgbench TPS (tpcb-like, 4 clients, fixed duration)
// while the agent takes a full backup, as a fraction of the TPS pgbench
// reaches without one; then with the backup rate limit (backup.max_rate →
// pg_basebackup --max-rate), searching for a limit that keeps ≥ 90 % and
// reporting what it costs in backup time.
//
// A backup starts with a fast checkpoint, and the full-page writes that
// follow any checkpoint slow pgbench for minutes (every first change of a
// page logs the whole page). So the reference is not "some earlier seconds of
// the same run" but control runs without a backup that checkpoint at the same
// moment: TPS over the same window after the same checkpoint.
import { join } from 'node:path';
import type { BenchContext, DataCluster } from '../context.js';
import { log, nowMs, setArchiveCommand, sleep } from '../env.js';
import { agentFullBackup, dropAgentBackupFiles } from '../ops.js';
import { startPgbench, tpsBetween, type PgbenchResult } from '../pgbench.js';
import { fmt, newSection, type Row, type Section } from '../report.js';
import { summarize } from '../stats.js';

/** Seconds of pgbench before the backup (or the control checkpoint): connections, a steady rate. */
const LEAD_SECONDS = 2;

interface BackupRun {
  /** ms after pgbench's start when the window began and ended. */
  fromMs: number;
  toMs: number;
  duringTps: number;
  backupSeconds: number;
  backupBytes: number;
  storedBytes: number;
  clipped: boolean;
}

async function setMaxRate(d: DataCluster, rate: string | null): Promise<void> {
  await d.c.catalog.query(`SELECT backup_mgmt.set_setting('backup.max_rate', $1)`, [rate]);
}

function logDir(d: DataCluster, tag: string): string {
  return join(d.c.pg.baseDir, `pgbench-log-${tag}-${Date.now()}`);
}

async function backupRun(d: DataCluster, rate: string | null, estSeconds: number, tag: string): Promise<BackupRun> {
  await setMaxRate(d, rate);
  await d.c.catalog.query('CHECKPOINT');
  const bench = startPgbench(d.c, { seconds: LEAD_SECONDS + estSeconds * 1.4 + 2, logDir: logDir(d, tag) });
  await sleep(Math.max(0, bench.startedAtMs + LEAD_SECONDS * 1000 - nowMs()));
  const b = await agentFullBackup(d.c, { verify: false });
  const r = await bench.done;
  await dropAgentBackupFiles(d.c, b.hk);
  const end = Math.min(b.completedAtMs, r.endedAtMs);
  return {
    fromMs: b.requestedAtMs - r.startedAtMs,
    toMs: end - r.startedAtMs,
    duringTps: tpsBetween(r.completions!, b.requestedAtMs, end),
    backupSeconds: b.wallSeconds,
    backupBytes: b.backupBytes,
    storedBytes: b.storedBytes,
    clipped: b.completedAtMs > r.endedAtMs,
  };
}

/** pgbench with a CHECKPOINT where a backup would have started, and nothing else. */
async function controlRun(d: DataCluster, seconds: number, tag: string): Promise<PgbenchResult> {
  await d.c.catalog.query('CHECKPOINT');
  const bench = startPgbench(d.c, { seconds: LEAD_SECONDS + seconds + 1, logDir: logDir(d, tag) });
  await sleep(Math.max(0, bench.startedAtMs + LEAD_SECONDS * 1000 - nowMs()));
  await d.c.catalog.query('CHECKPOINT');
  return bench.done;
}

/** TPS of the control runs over the window a backup run measured (same offsets from pgbench's start). */
function controlTps(controls: PgbenchResult[], run: BackupRun): number {
  const tps = controls.map((c) => tpsBetween(c.completions!, c.startedAtMs + run.fromMs, c.startedAtMs + Math.min(run.toMs, c.endedAtMs - c.startedAtMs)));
  return summarize(tps).median;
}

function rateText(kb: number): string {
  return kb >= 10240 && kb % 1024 === 0 ? `${kb / 1024}M` : `${kb}k`;
}

export async function impactSection(ctx: BenchContext): Promise<Section> {
  const section = newSection('impact', '4. Foreground impact of a backup');
  const d = await ctx.dataset('pgbench');
  const runs = ctx.opts.runs;
  await setArchiveCommand(d.c, d.walPushCommand);
  try {
    const facts = ctx.backupFacts.get('pgbench');
    const est = facts ? facts.agentSeconds * 2 : Math.max(2, (ctx.opts.scale * 16) / 150);

    const unlimited: BackupRun[] = [];
    for (let i = 0; i < runs; i++) {
      log(`impact run ${i + 1}/${runs}: agent backup without a rate limit during pgbench`);
      unlimited.push(await backupRun(d, null, est, 'unl'));
    }
    const U = summarize(unlimited.map((r) => r.backupSeconds)).median;
    const stored = summarize(unlimited.map((r) => r.storedBytes)).median;
    const raw = summarize(unlimited.map((r) => r.backupBytes)).median;

    // Search: slow the backup down by about k. The limit applies to the
    // compressed stream, so it is derived from the stored bytes.
    const tried: Array<{ k: number; rate: string; runs: BackupRun[] }> = [];
    // Smoke runs try one limit against one control run.
    // Slower limits than 6 x are not tried: a -X fetch backup carries the WAL
    // written while it runs, so under this write load a longer backup has more
    // to send and its impact hardly falls (and each try costs minutes).
    const ks = ctx.opts.smoke ? [4] : [3, 6];
    const controlRuns = ctx.opts.smoke ? 1 : runs;
    // Control runs as long as the longest window so far; replaced when a longer one is needed.
    let controls: PgbenchResult[] = [];
    const ensureControls = async (seconds: number, n: number) => {
      if (controls.length && (controls[0]!.endedAtMs - controls[0]!.startedAtMs) / 1000 < LEAD_SECONDS + seconds) controls = [];
      while (controls.length < n) {
        log(`impact: control run ${controls.length + 1}/${n} (pgbench with a checkpoint, no backup), ${fmt(seconds, 0)} s`);
        controls.push(await controlRun(d, seconds, `ctl${controls.length}`));
      }
    };
    let chosen: (typeof tried)[number] | undefined;
    for (const k of ks) {
      const kb = Math.max(32, Math.floor(stored / 1024 / (k * U)));
      const rate = rateText(kb);
      const entry = { k, rate, runs: [] as BackupRun[] };
      tried.push(entry);
      for (let i = 0; i < runs; i++) {
        log(`impact: backup.max_rate = ${rate} (≈ ${k}× the unlimited backup time), run ${i + 1}/${runs}`);
        const r = await backupRun(d, rate, U * k, `k${k}`);
        entry.runs.push(r);
        // Judge the first run against one control run: a limit that clearly fails is not repeated.
        if (i === 0) {
          await ensureControls(r.toMs / 1000 + 1, 1);
          if ((100 * r.duringTps) / controlTps(controls, r) < 90 && k !== ks.at(-1)) break;
        }
      }
      if (entry.runs.length < runs) continue;
      // Judged against the same control runs as the verdict below, so that "chosen" and the verdict agree.
      await ensureControls(Math.max(...entry.runs.map((r) => r.toMs)) / 1000 + 1, controlRuns);
      if (summarize(entry.runs.map((r) => (100 * r.duringTps) / controlTps(controls, r))).median >= 90) {
        chosen = entry;
        break;
      }
    }

    // All the control runs, as long as the longest window measured.
    const longest = Math.max(...[...unlimited, ...tried.flatMap((t) => t.runs)].map((r) => r.toMs)) / 1000 + 1;
    await ensureControls(longest, controlRuns);
    const fraction = (r: BackupRun) => (100 * r.duringTps) / controlTps(controls, r);

    const rows: Row[] = [
      {
        name: `control runs: pgbench TPS over ${fmt(longest, 0)} s after a checkpoint, no backup`,
        unit: 'TPS',
        kind: 'runs',
        values: controls.map((c) => tpsBetween(c.completions!, c.startedAtMs + LEAD_SECONDS * 1000, c.endedAtMs)),
      },
      {
        name: 'TPS during the agent backup, no rate limit (verification off)',
        unit: '% of control',
        kind: 'runs',
        values: unlimited.map(fraction),
        extra: `backup ${fmt(U)} s under load`,
      },
    ];
    for (const t of tried) {
      const isChosen = t === chosen;
      const judged = isChosen || (!chosen && t === tried.at(-1));
      const frac = summarize(t.runs.map(fraction)).median;
      const secs = summarize(t.runs.map((r) => r.backupSeconds)).median;
      rows.push({
        name: `TPS during the agent backup, backup.max_rate = ${t.rate}${isChosen ? ' (chosen)' : ''}`,
        unit: '% of control',
        kind: 'runs',
        values: t.runs.map(fraction),
        extra: `backup ${fmt(secs)} s, ≈ ${fmt(raw / 1024 / 1024 / secs, 0)} MB/s of data${t.runs.some((r) => r.clipped) ? ', window clipped' : ''}`,
        target: judged ? { text: '≥ 90 % of TPS without a backup, rate limit on', pass: frac >= 90 } : undefined,
      });
      if (judged) {
        rows.push({
          name: `backup time with backup.max_rate = ${t.rate}`,
          unit: 's',
          kind: 'runs',
          values: t.runs.map((r) => r.backupSeconds),
          reference: { name: 'no limit', value: U },
          ratio: secs / U,
          ratioLabel: '× (cost of the limit)',
        });
      }
    }
    section.rows.push(...rows);
    section.notes.push(
      `Each run: CHECKPOINT, pgbench -n -c 4 -j 2 -T (${LEAD_SECONDS} s + the backup) with its per-transaction log (-l); the agent backup (verification off) is requested after ${LEAD_SECONDS} s and TPS counted from the log between the request and COMPLETED. ` +
        `The reference is the same window of control runs that CHECKPOINT at the same moment instead of backing up (after a checkpoint full-page writes slow pgbench for minutes, backup or not). archive_command = wal-push throughout.`,
      `pg_basebackup --max-rate with server-side compression throttles the compressed stream: this data set compresses ${fmt(raw / stored, 1)}:1, so a limit of R moves about ${fmt(raw / stored, 1)} × R of data per second. ` +
        `Candidates: stored bytes / (k × the unlimited backup time under load, ${fmt(U)} s) for k = ${tried.map((t) => t.k).join(', ')}; the first whose runs kept ≥ 90 % is chosen (a candidate whose first run clearly fails is not repeated).${ctx.opts.smoke ? ' Smoke run: one candidate, one control run.' : ''}`,
      chosen
        ? `Chosen: SELECT backup_mgmt.set_setting('backup.max_rate', '${chosen.rate}') for this data set; for data that compresses less, raise it by the ratio of the compression ratios (it limits compressed bytes).`
        : 'No tried limit kept ≥ 90 %: see the rows for the closest one. What bounds it: a -X fetch backup also sends the WAL written while it runs (the writes of pgbench here), so a lower limit lengthens the backup and adds WAL to it rather than lowering its rate of work; the control runs themselves vary by several per cent.',
    );
  } finally {
    await setMaxRate(d, null);
    await setArchiveCommand(d.c, d.baseArchiveCommand);
  }
  return section;
}
