// `npm run bench`: performance of backup_mgmt side by side with pg_basebackup
// and pgBackRest on throwaway clusters, and of its catalog at scale. Prints a
// markdown report on stdout (progress on stderr), JSON on request. Speed is
// reported, never asserted.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { archiveCommand } from '../../src/util/wal-commands.js';
import { pgTool } from '../../src/util/process.js';
import { parseBenchArgs, SECTION_NAMES, type SectionName, USAGE, UsageError } from './args.js';
import type { BackupFacts, BenchContext, DataCluster } from './context.js';
import { loadMix, loadPgbench } from './datasets.js';
import { createBenchCluster, enableArchiving, log, one, runCleanups, setArchiveCommand, setQuiet, startAgent } from './env.js';
import { PgBackRest, pgbackrestUnavailable, pgbackrestVersion } from './pgbackrest.js';
import { renderJson, renderMarkdown, type Report, type Section } from './report.js';
import { catalogSection } from './sections/catalog.js';
import { fullBackupSection } from './sections/full-backup.js';
import { impactSection } from './sections/impact.js';
import { pickupSection } from './sections/pickup.js';
import { restoreSection } from './sections/restore.js';
import { offsiteSection } from './sections/offsite.js';
import { streamSection } from './sections/stream.js';
import { walSection } from './sections/wal.js';

const SECTIONS: Record<SectionName, (ctx: BenchContext) => Promise<Section>> = {
  backup: fullBackupSection,
  restore: restoreSection,
  wal: walSection,
  impact: impactSection,
  catalog: catalogSection,
  pickup: pickupSection,
  stream: streamSection,
  s3: offsiteSection,
};

/** Sections that run on the shared data-set clusters (ctx.dataset). */
const USES_DATASETS: ReadonlySet<SectionName> = new Set(['backup', 'restore', 'wal', 'impact', 's3']);

const TITLES: Record<SectionName, string> = {
  backup: '1. Full backup throughput',
  restore: '2. Restore / RTO (point-in-time recovery)',
  wal: '3. WAL archiving',
  impact: '4. Foreground impact of a backup',
  catalog: '5. Catalog at scale',
  pickup: '6. Job pickup latency',
  stream: '7. RPO and streaming WAL',
  s3: '8. Object storage (S3 on loopback, encrypted)',
};

function osName(): string {
  try {
    const m = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'));
    return m ? m[1]! : 'Linux';
  } catch {
    return 'Linux';
  }
}

function machine(): Record<string, string | number> {
  const pgv = spawnSync(pgTool('postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim();
  return {
    os: `${osName()} (kernel ${release()})`,
    cpu: `${cpus()[0]?.model.trim() ?? 'unknown'} × ${cpus().length}`,
    memory: `${(totalmem() / 1024 ** 3).toFixed(0)} GiB`,
    postgres: pgv.replace(/^postgres \(PostgreSQL\) /, 'PostgreSQL '),
    pgbackrest: pgbackrestVersion(),
    node: process.version,
    'load average at start': loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

function makeContext(opts: BenchContext['opts']): BenchContext {
  const prepared = new Map<string, Promise<DataCluster>>();
  const backupFacts = new Map<string, BackupFacts>();
  const ctx: BenchContext = {
    opts,
    pgbrUnavailable: undefined,
    backupFacts,
    prepared: [],
    dataset(name) {
      let p = prepared.get(name);
      if (!p) {
        p = prepare(name);
        prepared.set(name, p);
      }
      return p;
    },
  };
  const prepare = async (name: 'pgbench' | 'mix'): Promise<DataCluster> => {
    // The mix is loaded to the size pgbench reached at this scale.
    const target = name === 'mix' ? (await ctx.dataset('pgbench')).info.databaseBytes : 0;
    log(`data set ${name}: creating its cluster`);
    const c = await createBenchCluster(name);
    const info = name === 'pgbench' ? await loadPgbench(c, opts.scale) : await loadMix(c, target);
    log(`data set ${name}: ${(info.databaseBytes / 1024 / 1024).toFixed(0)} MB in ${info.loadSeconds.toFixed(0)} s; configuring archiving (backup-mgmt setup --apply)`);
    await enableArchiving(c);
    // setup adds --catalog (registration on push) to the plain wal-push line.
    const current = await one<{ v: string }>(c.catalog, `SELECT setting AS v FROM pg_settings WHERE name = 'archive_command'`);
    if (!current.v.startsWith(`${archiveCommand(c.repo)} --catalog `)) throw new Error(`setup --apply left archive_command = ${current.v}`);
    const walPushCommand = current.v;
    let pgbr: PgBackRest | undefined;
    if (!ctx.pgbrUnavailable) {
      pgbr = new PgBackRest(c, name);
      await pgbr.init();
    }
    const baseArchiveCommand = pgbr ? `${walPushCommand} && ${pgbr.archivePushCommand()}` : walPushCommand;
    await setArchiveCommand(c, baseArchiveCommand);
    await startAgent(c);
    const d = { info, c, pgbr, walPushCommand, baseArchiveCommand };
    ctx.prepared.push(d);
    return d;
  };
  return ctx;
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message) process.stderr.write(`bench: ${e.message}\n`);
      process.stderr.write(`${USAGE}\n`);
      return e.message ? 2 : 0;
    }
    throw e;
  }
  setQuiet(opts.quiet);
  if (opts.keep) process.env.BM_KEEP_CLUSTERS = '1';
  const t0 = performance.now();
  const report: Report = {
    title: 'backup_mgmt benchmark',
    startedAt: new Date().toISOString(),
    machine: {},
    options: { scale: opts.scale, runs: opts.runs, only: opts.only, catalogBackups: opts.catalogBackups, pickupRequests: opts.pickupRequests },
    datasets: [],
    sections: [],
  };
  const ctx = makeContext(opts);
  if (opts.only.some((s) => s === 'backup' || s === 'restore' || s === 'wal')) ctx.pgbrUnavailable = pgbackrestUnavailable();
  else ctx.pgbrUnavailable = 'not needed by the selected sections';
  report.machine = machine();

  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${sig}: cleaning up\n`);
    // Servers go down under open connections now; nothing of that may stop the cleanup.
    process.on('uncaughtException', (e) => process.stderr.write(`bench: during cleanup: ${e.message}\n`));
    void runCleanups().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const selected = SECTION_NAMES.filter((n) => opts.only.includes(n));
    for (const [i, name] of selected.entries()) {
      const st = performance.now();
      log(`section ${TITLES[name]}`);
      let section: Section;
      try {
        section = await SECTIONS[name](ctx);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        log(`section ${name} failed: ${msg}`);
        section = { id: name, title: TITLES[name], rows: [], notes: [], details: [], error: msg.split('\n').slice(0, 6).join(' ') };
      }
      section.seconds = (performance.now() - st) / 1000;
      report.sections.push(section);
      // Clusters nobody needs any more go now: their agents, archivers and
      // autovacuum would otherwise run beside the next section's timings.
      if (!selected.slice(i + 1).some((n) => USES_DATASETS.has(n))) {
        log('stopping the clusters of the finished sections');
        await runCleanups();
      }
    }
    report.datasets = ctx.prepared.map((d) => d.info);
  } finally {
    if (!interrupted) {
      log('cleaning up');
      await runCleanups();
    }
  }
  report.finishedAt = new Date().toISOString();
  report.durationSeconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${renderMarkdown(report)}\n`);
  if (opts.json) await writeFile(opts.json, `${renderJson(report)}\n`);
  log(`done in ${(report.durationSeconds / 60).toFixed(1)} min`);
  return report.sections.some((s) => s.error) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await runCleanups();
    process.exit(1);
  },
);
