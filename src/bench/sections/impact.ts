// 4. Foreground impact: pgbench TPS (tpcb-like, 4 clients, fixed duration)
// while the agent takes a full backup, as a fraction of the TPS of the same
// run before the backup started; then with the backup rate limit
// (backup.max_rate → pg_basebackup --max-rate), searching for a limit that
// keeps ≥ 90 % and reporting what it costs in backup time.
import { join } from 'node:path';
import type { BenchContext, DataCluster } from '../context.js';
import { log, nowMs, setArchiveCommand, sleep } from '../env.js';
import { agentFullBackup, dropAgentBackupFiles } from '../ops.js';
import { startPgbench, tpsBetween } from '../pgbench.js';
import { fmt, newSection, type Row, type Section } from '../report.js';
import { summarize } from '../stats.js';

interface ImpactRun {
  baselineTps: number;
  duringTps: number;
  fraction: number;
  backupSeconds: number;
  backupBytes: number;
  storedBytes: number;
  clipped: boolean;
}

async function setMaxRate(d: DataCluster, rate: string | null): Promise<void> {
  await d.c.catalog.query(`SELECT backup_mgmt.set_setting('backup.max_rate', $1)`, [rate]);
}

async function impactRun(d: DataCluster, opts: { verify: boolean; rate: string | null; estSeconds: number; warmSeconds: number; tag: string }): Promise<ImpactRun> {
  await setMaxRate(d, opts.rate);
  await d.c.catalog.query('CHECKPOINT');
  const seconds = opts.warmSeconds + opts.estSeconds * 1.5 + 3;
  const bench = startPgbench(d.c, { seconds, logDir: join(d.c.pg.baseDir, `pgbench-log-${opts.tag}-${Date.now()}`) });
  await sleep(Math.max(0, bench.startedAtMs + opts.warmSeconds * 1000 - nowMs()));
  const b = await agentFullBackup(d.c, { verify: opts.verify });
  const r = await bench.done;
  await dropAgentBackupFiles(d.c, b.hk);
  const completions = r.completions!;
  // The first second is connection start-up; the window before the request is the baseline.
  const baselineTps = tpsBetween(completions, r.startedAtMs + 1000, b.requestedAtMs);
  const end = Math.min(b.completedAtMs, r.endedAtMs);
  const duringTps = tpsBetween(completions, b.requestedAtMs, end);
  return {
    baselineTps,
    duringTps,
    fraction: (100 * duringTps) / baselineTps,
    backupSeconds: b.wallSeconds,
    backupBytes: b.backupBytes,
    storedBytes: b.storedBytes,
    clipped: b.completedAtMs > r.endedAtMs,
  };
}

function rateText(kb: number): string {
  return kb >= 10240 && kb % 1024 === 0 ? `${kb / 1024}M` : `${kb}k`;
}

export async function impactSection(ctx: BenchContext): Promise<Section> {
  const section = newSection('impact', '4. Foreground impact of a backup');
  const d = await ctx.dataset('pgbench');
  const runs = ctx.opts.runs;
  const warm = ctx.opts.smoke ? 3 : 6;
  await setArchiveCommand(d.c, d.walPushCommand);
  try {
    const facts = ctx.backupFacts.get('pgbench');
    const est = facts ? facts.agentSeconds : Math.max(2, (ctx.opts.scale * 16) / 200);

    const unlimited: ImpactRun[] = [];
    const verifyOn: ImpactRun[] = [];
    for (let i = 0; i < runs; i++) {
      log(`impact run ${i + 1}/${runs}: agent backup without a rate limit during pgbench`);
      unlimited.push(await impactRun(d, { verify: false, rate: null, estSeconds: est, warmSeconds: warm, tag: 'unl' }));
      if (ctx.opts.smoke) continue;
      log(`impact run ${i + 1}/${runs}: agent backup with verification during pgbench`);
      verifyOn.push(await impactRun(d, { verify: true, rate: null, estSeconds: est * 2.5, warmSeconds: warm, tag: 'ver' }));
    }
    const U = summarize(unlimited.map((r) => r.backupSeconds)).median;
    const stored = summarize(unlimited.map((r) => r.storedBytes)).median;
    const raw = summarize(unlimited.map((r) => r.backupBytes)).median;

    // Search: slow the backup down by k (the limit applies to the compressed stream).
    const tried: Array<{ k: number; rate: string; runs: ImpactRun[] }> = [];
    let chosen: (typeof tried)[number] | undefined;
    for (const k of ctx.opts.smoke ? [4, 12] : [3, 6, 12, 24]) {
      const kb = Math.max(32, Math.floor(stored / 1024 / (k * U)));
      const rate = rateText(kb);
      const entry = { k, rate, runs: [] as ImpactRun[] };
      tried.push(entry);
      log(`impact: backup.max_rate = ${rate} (≈ ${k}× the unlimited backup time), run 1`);
      entry.runs.push(await impactRun(d, { verify: false, rate, estSeconds: U * k, warmSeconds: warm, tag: `k${k}` }));
      if (entry.runs[0]!.fraction < 90) continue;
      for (let i = 1; i < runs; i++) {
        log(`impact: backup.max_rate = ${rate}, run ${i + 1}/${runs}`);
        entry.runs.push(await impactRun(d, { verify: false, rate, estSeconds: U * k, warmSeconds: warm, tag: `k${k}` }));
      }
      if (summarize(entry.runs.map((r) => r.fraction)).median >= 90) {
        chosen = entry;
        break;
      }
    }

    const baseline = [...unlimited, ...verifyOn, ...tried.flatMap((t) => t.runs)].map((r) => r.baselineTps);
    const rows: Row[] = [
      { name: 'pgbench TPS before the backup (baseline window of every run)', unit: 'TPS', kind: 'runs', values: baseline },
      {
        name: 'TPS during the agent backup, no rate limit, verification off',
        unit: '% of baseline',
        kind: 'runs',
        values: unlimited.map((r) => r.fraction),
        extra: `backup ${fmt(U)} s`,
      },
    ];
    if (verifyOn.length) {
      rows.push({
        name: 'TPS during the agent backup, no rate limit, verification on',
        unit: '% of baseline',
        kind: 'runs',
        values: verifyOn.map((r) => r.fraction),
        extra: `backup ${fmt(summarize(verifyOn.map((r) => r.backupSeconds)).median)} s`,
      });
    }
    for (const t of tried) {
      const isChosen = t === chosen;
      const last = t === tried.at(-1);
      const frac = summarize(t.runs.map((r) => r.fraction)).median;
      const secs = summarize(t.runs.map((r) => r.backupSeconds)).median;
      rows.push({
        name: `TPS during the agent backup, backup.max_rate = ${t.rate}${isChosen ? ' (chosen)' : ''}`,
        unit: '% of baseline',
        kind: 'runs',
        values: t.runs.map((r) => r.fraction),
        extra: `backup ${fmt(secs)} s, ≈ ${fmt(raw / 1024 / 1024 / secs, 0)} MB/s of data${t.runs.some((r) => r.clipped) ? ', window clipped' : ''}`,
        target: isChosen || (!chosen && last) ? { text: '≥ 90 % of baseline with the rate limit on', pass: frac >= 90 } : undefined,
      });
      if (isChosen || (!chosen && last)) {
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
      `Each run: CHECKPOINT, pgbench -c 4 -j 2 -T (warm-up ${warm} s + the backup), per-transaction log (-l); the agent backup is requested after ${warm} s; TPS is counted from the log in [1 s, request) (baseline) and [request, COMPLETED seen] (during). archive_command = wal-push throughout.`,
      `pg_basebackup --max-rate with server-side compression throttles the compressed stream: this data set compresses ${fmt(raw / stored, 1)}:1, so a limit of R moves about ${fmt(raw / stored, 1)} × R of data per second. Candidate limits were derived from the unlimited backup (${fmt(stored / 1024 / 1024, 1)} MB stored in ${fmt(U)} s): stored bytes / (k × time) for k = ${tried.map((t) => t.k).join(', ')}; the first whose median kept ≥ 90 % is chosen.`,
      chosen
        ? `Chosen: SELECT backup_mgmt.set_setting('backup.max_rate', '${chosen.rate}') for this data set; for data that compresses less, scale it by the compression ratio.`
        : 'No tried limit kept ≥ 90 %: see the rows for the closest one.',
    );
  } finally {
    await setMaxRate(d, null);
    await setArchiveCommand(d.c, d.baseArchiveCommand);
  }
  return section;
}
