// 8. Object storage: the same data set backed up, restored and archived
// through a real S3 server on loopback (s3rver, its own process), encrypted
// with age, against the local repository in the same run. Runs alternate so
// drift on the shared machine hits both alike. Every agent operation also
// reports the agent's peak RSS (VmHWM, reset before the operation).
import { createReadStream } from 'node:fs';
import { chown, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encryptStream, generateIdentity } from '../../../src/storage/crypto/index.js';
import type { BenchContext, DataCluster } from '../context.js';
import {
  archiverBacklog,
  cli,
  connectClient,
  currentLsnBytes,
  jobFinished,
  log,
  nowMs,
  one,
  postgresIds,
  setArchiveCommand,
  settle,
  sleep,
  startAgent,
  stopRestored,
} from '../env.js';
import { freePort, makeRestoreDir, queryPort } from '../ops.js';
import { startPgbench } from '../pgbench.js';
import { fmt, mbps, newSection, type Row, type Section } from '../report.js';
import { s3Settings, startS3Server, type S3Server } from '../s3-server.js';
import { summarize } from '../stats.js';

const MB = 1024 * 1024;
const MARKERS = 500;
type Where = 'local' | 's3';

interface Offsite {
  server: S3Server;
  location: string;
  configFile: string;
  keyFile: string;
  recipient: ReturnType<typeof generateIdentity>['identity']['recipient'];
}

/** An env file (--config) for the S3 server and a fresh age key, readable by the postgres user only. */
async function prepareOffsite(d: DataCluster): Promise<Offsite> {
  const server = await startS3Server(['bench']);
  const location = `s3://bench/${d.info.name}`;
  const id = generateIdentity();
  const ids = postgresIds();
  const own = async (file: string, text: string) => {
    await writeFile(file, text, { mode: 0o600 });
    if (ids) await chown(file, ids.uid, ids.gid);
    return file;
  };
  const keyFile = await own(join(d.c.pg.baseDir, 'bench-age-key.txt'), `${id.secret}\n`);
  const settings: Record<string, string> = {
    BACKUP_MGMT_REPO_S3: location,
    BACKUP_MGMT_ENCRYPT_RECIPIENT: id.identity.recipient.text,
    BACKUP_MGMT_DECRYPT_IDENTITY_FILE: keyFile,
    ...s3Settings(server),
  };
  const configFile = await own(join(d.c.pg.baseDir, 'bench-s3.env'), Object.entries(settings).map(([k, v]) => `${k}=${v}\n`).join(''));
  return { server, location, configFile, keyFile, recipient: id.identity.recipient };
}

/** The agent's peak RSS since the last reset (MiB); reset by writing 5 to clear_refs. */
async function peakRssMiB(pid: number | undefined): Promise<number> {
  if (!pid) return Number.NaN;
  const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** CPU seconds (user + system) a process has used so far. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (!pid) return Number.NaN;
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

async function resetPeakRss(pid: number | undefined): Promise<void> {
  if (pid) await writeFile(`/proc/${pid}/clear_refs`, '5').catch(() => {});
}

/**
 * Before a timed step: the replicator has copied what earlier steps left to
 * copy (with an off-host repository configured, every local backup is copied
 * to S3 asynchronously), so no step is charged another's upload.
 */
async function settleCopies(d: DataCluster): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (Number((await one<{ n: string }>(d.c.catalog, `SELECT count(*) AS n FROM backup_mgmt.backup_copies WHERE copy_status IN ('PENDING', 'COPYING')`)).n) > 0) {
    if (Date.now() > deadline) throw new Error('backup copies still pending after 600 s');
    await sleep(200);
  }
  await settle(d.c, 300_000);
}

interface Backup {
  hk: string;
  seconds: number;
  backupBytes: number;
  rssMiB: number;
  /** CPU seconds the agent and the S3 server used during the backup. */
  agentCpu: number;
  s3Cpu: number;
}

async function backup(d: DataCluster, where: Where, verify = false, s3Pid?: number): Promise<Backup> {
  const c = d.c;
  const pid = c.agent?.child.pid;
  await resetPeakRss(pid);
  const [a0, s0] = [await cpuSeconds(pid), await cpuSeconds(s3Pid)];
  const t0 = nowMs();
  const req = await one<{ hk: string }>(
    c.catalog,
    `SELECT encode(backup_id, 'hex') AS hk FROM backup_mgmt.create_full_backup(p_storage_type => $1, p_verify_backup => $2)`,
    [where === 's3' ? 'S3' : 'LOCAL', verify],
  );
  const done = await jobFinished(c, req.hk, 'BACKUP', 3_600_000);
  const seconds = (done.atMs - t0) / 1000;
  const rssMiB = await peakRssMiB(pid);
  const [a1, s1] = [await cpuSeconds(pid), await cpuSeconds(s3Pid)];
  const r = await one<{ s: string; e: string | null; b: string | null; v: string | null }>(
    c.catalog,
    'SELECT backup_status AS s, error_message AS e, backup_size_bytes AS b, verification_status AS v FROM backup_mgmt.get_backup($1)',
    [req.hk],
  );
  if (r.s !== 'COMPLETED') throw new Error(`${where} backup ended ${r.s}: ${r.e ?? ''}`);
  if (verify && r.v !== 'VERIFIED') throw new Error(`${where} backup verification ${r.v}`);
  return { hk: req.hk, seconds, backupBytes: Number(r.b), rssMiB, agentCpu: a1 - a0, s3Cpu: s1 - s0 };
}

/** Markers before a target time, the time, markers after, and a WAL switch both repositories received. */
async function markTarget(d: DataCluster): Promise<string> {
  const db = await connectClient(d.c.pg, d.c.dataDb);
  try {
    await db.query('CREATE TABLE IF NOT EXISTS bench_s3_marker (id bigserial PRIMARY KEY, phase text NOT NULL)');
    await db.query('TRUNCATE bench_s3_marker');
    await db.query('UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 50 = 0');
    await db.query(`INSERT INTO bench_s3_marker (phase) SELECT 'before' FROM generate_series(1, ${MARKERS})`);
    await sleep(1100);
    const t = await one<{ t: string }>(db, `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS t`);
    await sleep(1100);
    for (let i = 0; i < 10; i++) await db.query(`INSERT INTO bench_s3_marker (phase) VALUES ('after')`);
    await db.query('SELECT pg_switch_wal()');
    await settle(d.c, 300_000);
    const deadline = Date.now() + 120_000;
    while ((await one<{ ok: boolean }>(d.c.catalog, 'SELECT coalesce((SELECT max(latest_recoverable_time) FROM backup_mgmt.recoverable_window()) > $1::timestamptz, false) AS ok', [t.t])).ok === false) {
      if (Date.now() > deadline) throw new Error(`target ${t.t} not recoverable after 120 s`);
      await sleep(200);
    }
    return t.t;
  } finally {
    await db.end();
  }
}

async function markersRight(port: number, db: string): Promise<boolean> {
  const rows = await queryPort<{ phase: string; n: string }>(port, db, 'SELECT phase, count(*) AS n FROM bench_s3_marker GROUP BY phase');
  return Number(rows.find((x) => x.phase === 'before')?.n ?? 0) === MARKERS && !rows.some((x) => x.phase === 'after');
}

interface Restore {
  seconds: number;
  rssMiB: number;
  correct: boolean;
  repository: string;
}

/** The agent's PITR to `target` from the given base backup (approval skipped), until validated. */
async function agentRestore(d: DataCluster, target: string, backupHk: string): Promise<Restore> {
  const c = d.c;
  const pid = c.agent?.child.pid;
  await resetPeakRss(pid);
  const t0 = nowMs();
  const req = await one<{ hk: string }>(
    c.catalog,
    `SELECT encode(recovery_id, 'hex') AS hk FROM backup_mgmt.initiate_recovery('time', $1, NULL, false, decode($2, 'hex'))`,
    [target, backupHk],
  );
  const done = await jobFinished(c, req.hk, 'RESTORE', 3_600_000);
  const seconds = (done.atMs - t0) / 1000;
  const rssMiB = await peakRssMiB(pid);
  const r = await one<{ s: string; e: string | null; port: number | null; dir: string | null }>(
    c.catalog,
    'SELECT recovery_status AS s, error_message AS e, restore_port AS port, restore_directory AS dir FROM backup_mgmt.get_recovery($1)',
    [req.hk],
  );
  const job = await one<{ repo: string | null }>(
    c.catalog,
    `SELECT result->'repository'->>'name' AS repo FROM backup_mgmt.job WHERE subject_hk = decode($1, 'hex') AND job_type = 'RESTORE' ORDER BY job_id DESC LIMIT 1`,
    [req.hk],
  );
  try {
    if (r.s !== 'COMPLETED') throw new Error(`agent recovery ended ${r.s}: ${r.e ?? ''}`);
    const correct = r.port ? await markersRight(r.port, c.dataDb) : false;
    return { seconds, rssMiB, correct, repository: job.repo ?? '?' };
  } finally {
    if (r.dir) await stopRestored(r.dir);
  }
}

/** `restore --repo <local dir | s3://…> --start` with no database, until promoted. */
async function repoRestore(d: DataCluster, o: Offsite, where: Where, target: string, run: number): Promise<Restore> {
  const dir = await makeRestoreDir(d.c.restoreRoot, `bench-s3-${where}-${run}`);
  const port = await freePort();
  try {
    const t0 = nowMs();
    const repo = where === 's3' ? o.location : d.c.repo;
    await cli(['restore', '--repo', repo, '--to', dir, '--target-time', target, '--start', '--port', String(port), '--json', '--config', o.configFile], {
      ...d.c.env,
      DATABASE_URL: '',
    });
    const seconds = (nowMs() - t0) / 1000;
    return { seconds, rssMiB: Number.NaN, correct: await markersRight(port, d.c.dataDb), repository: where };
  } finally {
    await stopRestored(dir);
  }
}

interface WalRun {
  /** WAL pgbench generated per second while it ran. */
  walMBps: number;
  /** What sequential wal-push moved per second draining the backlog pgbench left. */
  pushMBps: number;
  segments: number;
}

/**
 * Two pgbench runs on the same cluster: one with `command` archiving as usual
 * (the WAL rate pgbench reaches with it), then one with archiving held back
 * (archive_command empty: segments wait as .ready; PostgreSQL must then
 * create new segment files, so this run's own rate is not the rate above),
 * after which `command` drains the backlog one segment at a time, as the
 * archiver runs it: its sustained capacity on real segments.
 */
async function walRun(d: DataCluster, command: string, seconds: number): Promise<WalRun> {
  const c = d.c;
  await settle(c, 300_000);
  await setArchiveCommand(c, command);
  await c.catalog.query('CHECKPOINT');
  const lsn0 = await currentLsnBytes(c.catalog);
  const rate = await startPgbench(c, { seconds }).done;
  const lsn1 = await currentLsnBytes(c.catalog);
  const walMBps = (lsn1 - lsn0) / MB / ((rate.endedAtMs - rate.startedAtMs) / 1000);

  await settle(c, 300_000);
  await setArchiveCommand(c, '');
  await startPgbench(c, { seconds }).done;
  await c.catalog.query('SELECT pg_switch_wal()');
  await sleep(200);
  const segments = archiverBacklog(c.pg.dataDir);
  const t0 = nowMs();
  await setArchiveCommand(c, command);
  while (archiverBacklog(c.pg.dataDir) > 0) {
    if (nowMs() - t0 > 900_000) throw new Error('wal-push did not drain the backlog within 15 min');
    await sleep(50);
  }
  const drain = (nowMs() - t0) / 1000;
  const failed = await one<{ f: string }>(c.catalog, 'SELECT failed_count AS f FROM pg_stat_archiver');
  log(`s3 wal: ${segments} segments drained in ${fmt(drain)} s (archiver failures so far ${failed.f})`);
  return { walMBps, pushMBps: (segments * 16 * MB) / MB / drain, segments };
}

/**
 * What encryption adds to a backup to S3: the stored base archive of a
 * backup (the bytes the agent encrypts: pg_basebackup's compressed tar) read
 * and passed on to a discarding sink, with and without the age stream, often
 * enough to be timed (≥ 256 MiB per sample); seconds per pass of the archive.
 */
async function encryptionCost(d: DataCluster, o: Offsite, backupHk: string, runs: number): Promise<{ plain: number[]; sealed: number[]; bytes: number }> {
  const p = await one<{ p: string }>(d.c.catalog, 'SELECT repository_path AS p FROM backup_mgmt.get_backup($1)', [backupHk]);
  const archive = join(p.p, 'base.tar.zst');
  const bytes = (await stat(archive)).size;
  const passes = Math.max(1, Math.ceil((256 * MB) / bytes));
  const discard = () => new Writable({ write: (_c, _e, cb) => cb() });
  const time = async (encrypt: boolean) => {
    const t0 = nowMs();
    for (let i = 0; i < passes; i++) {
      const source = createReadStream(archive, { highWaterMark: 1 << 20 });
      await (encrypt ? pipeline(source, encryptStream([o.recipient]), discard()) : pipeline(source, new PassThrough(), discard()));
    }
    return (nowMs() - t0) / 1000 / passes;
  };
  const plain: number[] = [];
  const sealed: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const enc of i % 2 === 0 ? [false, true] : [true, false]) (enc ? sealed : plain).push(await time(enc));
  }
  return { plain, sealed, bytes };
}

const med = (v: number[]) => summarize(v).median;
const rss = (v: number[]) => `agent peak RSS ${fmt(Math.max(...v.filter(Number.isFinite)), 0)} MiB`;

export async function offsiteSection(ctx: BenchContext): Promise<Section> {
  const section = newSection('s3', '8. Object storage (S3 on loopback, encrypted)');
  const d = await ctx.dataset('pgbench');
  const c = d.c;
  const o = await prepareOffsite(d);
  try {
    // The agent and archive_command get the off-host repository through --config.
    await c.agent?.stop();
    await startAgent(c, ['--config', o.configFile]);
    // The real wal-push (setup's, with catalog registration), to the local repository only or also to S3.
    const localPush = d.walPushCommand;
    const s3Push = `${d.walPushCommand} --config ${o.configFile}`;
    await setArchiveCommand(c, s3Push);

    // 1. Full backup: local repository against S3 (streamed, encrypted), alternating.
    const b: Record<Where, Backup[]> = { local: [], s3: [] };
    for (let run = 0; run < ctx.opts.runs; run++) {
      for (const where of run % 2 === 0 ? (['local', 's3'] as const) : (['s3', 'local'] as const)) {
        await settleCopies(d);
        log(`s3 backup run ${run + 1}/${ctx.opts.runs}: ${where}`);
        b[where].push(await backup(d, where, false, o.server.pid));
      }
    }
    const bytes = med(b.local.map((x) => x.backupBytes));
    const rate = (v: Backup[]) =>
      `${fmt(mbps(bytes, med(v.map((x) => x.seconds))), 0)} MB/s, ${rss(v.map((x) => x.rssMiB))}; CPU: agent ${fmt(med(v.map((x) => x.agentCpu)), 2)} s, S3 server ${fmt(med(v.map((x) => x.s3Cpu)), 2)} s`;
    const localB = med(b.local.map((x) => x.seconds));
    const s3B = med(b.s3.map((x) => x.seconds));
    section.rows.push(
      { name: 'full backup to the local repository: request → COMPLETED', unit: 's', kind: 'runs', values: b.local.map((x) => x.seconds), extra: rate(b.local), note: 'reference' },
      {
        name: 'full backup to S3 (pg_basebackup → age → multipart upload): request → COMPLETED',
        unit: 's',
        kind: 'runs',
        values: b.s3.map((x) => x.seconds),
        extra: rate(b.s3),
        reference: { name: 'local repository', value: localB },
        ratio: localB / s3B,
        ratioLabel: '× local speed',
        target: { text: '≥ 0.8 × local-repository speed', pass: localB / s3B >= 0.8 },
      },
    );

    // 2. Restore: the same target from a local base and from an S3 base.
    // Verified: only verified backups open a recoverable window.
    log('s3 restore: verified base backups (S3, then local) and a target');
    const s3Base = await backup(d, 's3', true);
    const localBase = await backup(d, 'local', true);
    const target = await markTarget(d);
    await settleCopies(d);
    const r: Record<Where, Restore[]> = { local: [], s3: [] };
    const dr: Record<Where, Restore[]> = { local: [], s3: [] };
    for (let run = 0; run < ctx.opts.runs; run++) {
      for (const where of run % 2 === 0 ? (['local', 's3'] as const) : (['s3', 'local'] as const)) {
        await settleCopies(d);
        log(`s3 restore run ${run + 1}/${ctx.opts.runs}: agent PITR from the ${where} base`);
        r[where].push(await agentRestore(d, target, where === 's3' ? s3Base.hk : localBase.hk));
        log(`s3 restore run ${run + 1}/${ctx.opts.runs}: restore --repo ${where} (no database)`);
        dr[where].push(await repoRestore(d, o, where, target, run));
      }
    }
    const localR = med(r.local.map((x) => x.seconds));
    const s3R = med(r.s3.map((x) => x.seconds));
    const localDr = med(dr.local.map((x) => x.seconds));
    const s3Dr = med(dr.s3.map((x) => x.seconds));
    section.rows.push(
      { name: 'agent PITR from a local base: initiate_recovery → COMPLETED, validated', unit: 's', kind: 'runs', values: r.local.map((x) => x.seconds), extra: rss(r.local.map((x) => x.rssMiB)), note: 'reference' },
      {
        name: 'agent PITR from an S3 base (streamed into extraction)',
        unit: 's',
        kind: 'runs',
        values: r.s3.map((x) => x.seconds),
        extra: rss(r.s3.map((x) => x.rssMiB)),
        reference: { name: 'local base', value: localR },
        ratio: s3R / localR,
        ratioLabel: '× local RTO',
        target: { text: 'RTO ≤ 1.25 × local', pass: s3R / localR <= 1.25 },
      },
      { name: 'restore --repo <local directory> (no database) + start until promoted', unit: 's', kind: 'runs', values: dr.local.map((x) => x.seconds), note: 'reference' },
      {
        name: 'restore --repo s3://… (no database: base and every WAL file from S3) + start until promoted',
        unit: 's',
        kind: 'runs',
        values: dr.s3.map((x) => x.seconds),
        reference: { name: 'local repository', value: localDr },
        ratio: s3Dr / localDr,
        ratioLabel: '× local RTO',
        target: { text: 'RTO ≤ 1.25 × local', pass: s3Dr / localDr <= 1.25 },
      },
    );
    const allRight = [...r.local, ...r.s3, ...dr.local, ...dr.s3].every((x) => x.correct);
    section.notes.push(
      `Restores: target ${target}; marker rows at the target ${allRight ? 'correct in every run' : 'WRONG in some run'}; the agent's S3 restores were served by repository ${[...new Set(r.s3.map((x) => x.repository))].join('/')}, the local ones by ${[...new Set(r.local.map((x) => x.repository))].join('/')}. ` +
        'The agent PITR pins its base backup (initiate_recovery p_backup_hk); its WAL comes from the nearest repository (local). restore --repo s3:// reads base and WAL from S3 only.',
    );

    // 3. WAL: sequential wal-push capacity against pgbench's WAL rate.
    const seconds = ctx.opts.smoke ? 10 : 20;
    const w: Record<Where, WalRun[]> = { local: [], s3: [] };
    for (let run = 0; run < ctx.opts.runs; run++) {
      for (const where of run % 2 === 0 ? (['local', 's3'] as const) : (['s3', 'local'] as const)) {
        log(`s3 wal run ${run + 1}/${ctx.opts.runs}: pgbench ${seconds} s, then wal-push (${where}) drains`);
        w[where].push(await walRun(d, where === 's3' ? s3Push : localPush, seconds));
      }
    }
    await setArchiveCommand(c, s3Push);
    const walRate = med([...w.local, ...w.s3].map((x) => x.walMBps));
    const s3Push1 = med(w.s3.map((x) => x.pushMBps));
    section.rows.push(
      { name: "pgbench's WAL rate (4 clients) while that wal-push archives", unit: 'MB/s', kind: 'runs', values: [...w.local, ...w.s3].map((x) => x.walMBps), note: 'reference' },
      { name: 'wal-push to the local repository, sequential (as archive_command)', unit: 'MB/s', kind: 'runs', values: w.local.map((x) => x.pushMBps) },
      {
        name: 'wal-push to local + S3 (encrypted), sequential (as archive_command)',
        unit: 'MB/s',
        kind: 'runs',
        values: w.s3.map((x) => x.pushMBps),
        reference: { name: "pgbench's WAL rate", value: walRate, unit: 'MB/s' },
        ratio: s3Push1 / walRate,
        ratioLabel: "× pgbench's WAL rate",
        target: { text: "≥ 2 × pgbench's WAL rate", pass: s3Push1 / walRate >= 2 },
      },
    );
    section.notes.push(
      `WAL: pgbench ran ${seconds} s with each command archiving (its WAL rate), then ${seconds} s with archiving held back, after which the command drained the backlog (${med(w.s3.map((x) => x.segments))} segments median): capacity = segments × 16 MiB / drain time, one wal-push process per segment, as PostgreSQL runs it.`,
    );

    // 4. Encryption: its added time on the bytes a backup to S3 encrypts, against that backup's duration.
    const enc = await encryptionCost(d, o, localBase.hk, Math.max(3, ctx.opts.runs));
    const added = Math.max(0, med(enc.sealed) - med(enc.plain));
    const cost = added / s3B;
    section.rows.push(
      {
        name: 'stored base archive (what the agent encrypts) read and discarded, plain',
        unit: 's',
        kind: 'runs',
        values: enc.plain,
        extra: `${fmt(enc.bytes / MB, 1)} MB, ${fmt(mbps(enc.bytes, med(enc.plain)), 0)} MB/s`,
        note: 'reference',
      },
      {
        name: 'the same through age encryption (X25519 + ChaCha20-Poly1305 STREAM)',
        unit: 's',
        kind: 'runs',
        values: enc.sealed,
        extra: `${fmt(mbps(enc.bytes, med(enc.sealed)), 0)} MB/s; adds ${fmt(added, 3)} s to a ${fmt(s3B, 2)} s backup to S3 (${fmt(cost * 100, 1)} %)`,
        reference: { name: 'backup to S3', value: s3B },
        ratio: cost,
        ratioLabel: 'of backup time',
        target: { text: 'encryption costs ≤ 10 % of backup throughput', pass: cost <= 0.1 },
      },
    );
    section.notes.push(
      `Data set pgbench (${fmt(bytes / MB, 0)} MB backed up). The S3 server is s3rver in its own process on 127.0.0.1, storing on the same disk: a real HTTP S3 API, not a fast one. ` +
        'Agent peak RSS is VmHWM of the agent process, reset (clear_refs 5) before each operation; the upload itself is bounded at (queue + 1) × part size = 48 MiB.',
    );
  } finally {
    await setArchiveCommand(c, d.walPushCommand).catch(() => {});
    await o.server.stop();
  }
  return section;
}
