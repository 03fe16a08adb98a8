// BACKUP job, kind "full": pg_basebackup into a staging directory, publish it
// atomically under backups/<bk>, describe what was stored, verify on request.
// Until the rename nothing exists under backups/; after it, everything does.
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { followDirectory, type FollowedFile } from '../storage/follow-hash.js';
import { renameDirAtomic } from '../storage/fsync.js';
import { backupDir, BASE_TAR_NAMES, MANIFEST_NAME, stagingDir, stagingRoot } from '../storage/layout.js';
import { parseManifest } from '../storage/manifest.js';
import { parseLsn, walFileNameForLsn } from '../storage/wal-names.js';
import { readBackupLabel, type BackupLabel } from './backup-label.js';
import { BaseBackupError, startBaseBackup, type BaseBackupOptions, type BaseBackupOutcome, type BaseBackupRun } from './basebackup.js';
import { JobFailure, type JobContext, type JobOutcome } from './job-context.js';
import { errorText } from './log.js';
import { FullBackupPlan, parsePlan, type FullBackupResult, type JobRow, type StoredFile, type Verification } from './protocol.js';
import { isS3Location } from './offsite.js';
import { runFullBackupToOffsite } from './offsite-backup.js';
import { assertWritableDir, mkdirShared } from './repository.js';
import type { ServerFacts } from './sql.js';
import { describeStoredFiles, isAppendOnlyArchive } from './stored-files.js';
import { verifyBackupDir } from './verification.js';

async function removeQuietly(path: string | undefined): Promise<void> {
  if (path) await rm(path, { recursive: true, force: true }).catch(() => {});
}

/** The staging area exists and is writable, or the job fails saying so. */
export async function prepareStaging(root: string, sysid: string): Promise<string> {
  const dir = stagingRoot(root, sysid);
  try {
    await mkdirShared(root, dir);
  } catch (e) {
    throw new JobFailure(`repository ${root} is not writable: ${errorText(e)}`);
  }
  try {
    await assertWritableDir(dir, 'repository staging directory');
  } catch (e) {
    throw new JobFailure(`repository ${root} is not writable: ${errorText(e)}`);
  }
  return dir;
}

/**
 * Leftovers of earlier attempts at this backup (an agent killed mid-way, or
 * one that published but could not report): this attempt holds the job, so
 * nothing else is working on them, and the catalog does not reference them.
 */
export async function removeEarlierAttempts(ctx: JobContext, root: string, sysid: string, bk: string): Promise<void> {
  const staging = stagingRoot(root, sysid);
  for (const name of await readdir(staging)) {
    if (name.startsWith(`${bk}.`)) {
      ctx.log('info', `job ${ctx.jobId}: removing staging leftover ${name} of an earlier attempt`);
      await rm(join(staging, name), { recursive: true, force: true });
    }
  }
  const final = backupDir(root, sysid, bk);
  if (existsSync(final)) {
    ctx.log('warn', `job ${ctx.jobId}: removing ${final}, published by an earlier attempt that never reported`);
    await rm(final, { recursive: true, force: true });
  }
}

/**
 * Take the backup (`take`) holding a temporary replication slot, so the WAL
 * it needs is not recycled first. A stop by shutdown or loss, or a failed
 * pg_basebackup, becomes the job's outcome; `onStop` runs before.
 */
export async function withWalSlot<T>(ctx: JobContext, job: JobRow, take: () => Promise<T>, onStop?: () => Promise<unknown>): Promise<{ value: T } | { outcome: JobOutcome }> {
  // One slot name per attempt: a killed attempt's session may outlive it on the server for a while.
  const slot = `backup_mgmt_job_${ctx.jobId}_${job.attempts}`;
  const releaseWal = await ctx.sql.reserveWal(slot, (m) => ctx.log('warn', `job ${ctx.jobId}: ${m}`)).catch((e: Error) => {
    // Without a slot the backup can still succeed when the WAL survives; say why it might not.
    ctx.log('warn', `job ${ctx.jobId}: no temporary replication slot (${e.message}); WAL may be recycled before pg_basebackup fetches it`);
    return async () => {};
  });
  try {
    return { value: await take() };
  } catch (e) {
    await onStop?.();
    if (ctx.lost.aborted) return { outcome: { status: 'lost' } };
    if (ctx.shutdown.aborted) return { outcome: { status: 'released' } };
    if (e instanceof BaseBackupError) return { outcome: { status: 'failed', error: e.message, retryable: e.retryable } };
    throw e;
  } finally {
    await releaseWal();
  }
}

/** pg_walfile_name() semantics for the stop point: the segment holding the last byte before it. */
function stopWalFile(timeline: number, stopLsn: string, segSize: number): string {
  const lsn = parseLsn(stopLsn);
  return walFileNameForLsn(timeline, lsn > 0n ? lsn - 1n : lsn, segSize);
}

/** pg_basebackup for the plan, stopped when the agent shuts down or loses the job; `extra` for a streamed run. */
export async function runBaseBackup(
  ctx: JobContext,
  plan: FullBackupPlan,
  staging: string,
  extra: Pick<BaseBackupOptions, 'noSync' | 'onInitiating'> & { started?: (run: BaseBackupRun) => void } = {},
): Promise<BaseBackupOutcome> {
  const run = startBaseBackup({
    plan,
    stagingDir: staging,
    databaseUrl: ctx.config.databaseUrl,
    defaultMaxRate: ctx.config.maxRate,
    onProgress: (p, phase) => ctx.progress.report(p.doneBytes, p.totalBytes, phase),
    noSync: extra.noSync,
    onInitiating: extra.onInitiating,
  });
  extra.started?.(run);
  ctx.log('info', `job ${ctx.jobId}: pg_basebackup started (pid ${run.pid}) into ${staging}`);
  const stop = () => run.kill();
  ctx.shutdown.addEventListener('abort', stop);
  ctx.lost.addEventListener('abort', stop);
  // An abort that came before the listeners would otherwise go unnoticed.
  if (ctx.shutdown.aborted || ctx.lost.aborted) stop();
  try {
    return await run.done;
  } finally {
    ctx.shutdown.removeEventListener('abort', stop);
    ctx.lost.removeEventListener('abort', stop);
  }
}

interface Published {
  path: string;
  result: Omit<FullBackupResult, 'verification' | 'ended_at'>;
}

export type DescribedBackup = Omit<FullBackupResult, 'verification' | 'ended_at'>;

/** What the catalog records of a finished pg_basebackup run, wherever its files went. */
export function describeBackup(
  facts: ServerFacts,
  bb: BaseBackupOutcome & { nextXid: string },
  startedAt: Date,
  stored: { repositoryPath: string; manifestBytes: Buffer; label: BackupLabel; storedFiles: StoredFile[] },
): DescribedBackup {
  const { manifestBytes, label, storedFiles } = stored;
  const manifest = parseManifest(manifestBytes);
  // The manifest's WAL ranges are the server's word; the verbose lines are the fallback.
  const first = manifest.walRanges[0];
  const last = manifest.walRanges.at(-1);
  const startLsn = first?.startLsn ?? label.startLsn ?? bb.start.lsn;
  const stopLsn = last?.endLsn ?? bb.end.lsn;
  const startTli = first?.timeline ?? label.startTimeline ?? bb.start.timeline ?? 1;
  const stopTli = last?.timeline ?? startTli;
  return {
    repository_path: stored.repositoryPath,
    system_identifier: facts.systemIdentifier,
    backup_size_bytes: manifest.files.reduce((n, f) => n + f.size, 0),
    compressed_size_bytes: storedFiles.reduce((n, f) => n + f.bytes, 0),
    start_lsn: startLsn,
    stop_lsn: stopLsn,
    timeline_id: startTli,
    start_wal_file: walFileNameForLsn(startTli, startLsn, facts.walSegmentSize),
    stop_wal_file: stopWalFile(stopTli, stopLsn, facts.walSegmentSize),
    start_time: label.startTime ?? bb.startSeenAt.toISOString(),
    stop_time: bb.endSeenAt.toISOString(),
    pg_version: facts.pgVersion,
    pg_version_num: facts.pgVersionNum,
    next_xid: bb.nextXid,
    manifest_sha256: createHash('sha256').update(manifestBytes).digest('hex'),
    stored_files: storedFiles,
    started_at: startedAt.toISOString(),
    backup_label: label.text,
  };
}

/** Describe the finished staging directory, then rename it into place. */
async function publish(
  plan: FullBackupPlan,
  facts: ServerFacts,
  staging: string,
  bb: BaseBackupOutcome & { nextXid: string },
  startedAt: Date,
  hashed: ReadonlyMap<string, FollowedFile>,
): Promise<Published> {
  const baseTar = BASE_TAR_NAMES.find((n) => existsSync(join(staging, n)));
  if (!baseTar) throw new JobFailure(`pg_basebackup left no ${BASE_TAR_NAMES.join(' or ')} in ${staging}`);
  // Independent reads, side by side: they are on the backup's critical path.
  const [manifestBytes, label, storedFiles] = await Promise.all([
    readFile(join(staging, MANIFEST_NAME)),
    readBackupLabel(staging, baseTar),
    describeStoredFiles(staging, hashed),
  ]);
  const final = backupDir(plan.repository_root, facts.systemIdentifier, plan.backup_bk);
  const result = describeBackup(facts, bb, startedAt, { repositoryPath: final, manifestBytes, label, storedFiles });
  await renameDirAtomic(staging, final);
  return { path: final, result };
}

async function verifyIfAsked(ctx: JobContext, plan: FullBackupPlan, path: string, size: number): Promise<Verification> {
  if (!plan.verify) return { status: 'SKIPPED', detail: 'verification not requested', verified_at: new Date().toISOString() };
  await ctx.progress.flush(0, size, 'verify');
  return verifyBackupDir(path, {
    pgBinDir: ctx.config.pgBindir,
    onProgress: (bytes) => ctx.progress.report(bytes, size, 'verify'),
  });
}

export async function runFullBackup(ctx: JobContext, job: JobRow, facts: ServerFacts): Promise<JobOutcome> {
  const plan = parsePlan(FullBackupPlan, job.plan, 'full backup');
  if (isS3Location(plan.repository_root)) return runFullBackupToOffsite(ctx, job, plan, facts);
  const startedAt = new Date();
  await prepareStaging(plan.repository_root, facts.systemIdentifier);
  await removeEarlierAttempts(ctx, plan.repository_root, facts.systemIdentifier, plan.backup_bk);
  const staging = stagingDir(plan.repository_root, facts.systemIdentifier, plan.backup_bk);

  let published: Published | undefined;
  try {
    if (!(await ctx.progress.flush(0, null, 'checkpoint'))) return { status: 'lost' };
    const t0 = performance.now();
    // The archives are hashed as they are written; publish only checks the result.
    const follower = followDirectory(staging, isAppendOnlyArchive);
    const taken = await withWalSlot(ctx, job, () => runBaseBackup(ctx, plan, staging), () => follower.stop());
    if ('outcome' in taken) return taken.outcome;
    const bb = taken.value;
    // From here on the bytes are all here: a shutdown lets the job finish (publish, verify, report).
    // Transactions from this id on began after the backup ended: the bound for xid recovery targets.
    const t2 = performance.now();
    const [nextXid, hashed] = await Promise.all([ctx.sql.nextXid(), follower.finish()]);
    published = await publish(plan, facts, staging, { ...bb, nextXid }, startedAt, hashed);
    const endedAt = new Date();
    const s = (a: number, b: number) => ((b - a) / 1000).toFixed(3);
    ctx.log('info', `job ${ctx.jobId}: published ${published.path} (WAL slot and pg_basebackup ${s(t0, t2)} s, publish ${s(t2, performance.now())} s)`);
    const verification = await verifyIfAsked(ctx, plan, published.path, published.result.backup_size_bytes);
    if (ctx.lost.aborted) {
      await removeQuietly(published.path);
      return { status: 'lost' };
    }
    const result: FullBackupResult = { ...published.result, ended_at: endedAt.toISOString(), verification };
    return { status: 'succeeded', result };
  } catch (e) {
    if (published) await removeQuietly(published.path);
    throw e;
  } finally {
    await removeQuietly(staging);
  }
}
