// BACKUP job, kind "incremental", method WAL_ARCHIVE (PostgreSQL < 17): a
// proven WAL range. Switch the segment, wait until the archiver stored it,
// check every segment from the chain's full backup to it, register them, and
// report the range. Nothing is written to the local repository by this job;
// a chain in the off-host repository gets the range's WAL stored there too.
import { realpath } from 'node:fs/promises';
import { walRoot } from '../storage/layout.js';
import { listArchivedWal, checkWalRange } from '../storage/wal-list.js';
import { parseLsn, walFileNameForLsn, walSegmentRange } from '../storage/wal-names.js';
import { ArchiveWaitError, waitUntilArchived } from './archive-wait.js';
import { JobFailure, type JobContext, type JobOutcome } from './job-context.js';
import { errorText } from './log.js';
import { IncrementalBackupPlan, parsePlan, type IncrementalBackupResult, type JobRow, type Verification } from './protocol.js';
import type { ServerFacts } from './sql.js';
import { isS3Location, offsiteStoreFor } from './offsite.js';
import { storeWalRange } from './offsite-wal.js';
import { toRegistration } from './wal-registry.js';

const MAX_DETAIL = 4000;

function clip(s: string): string {
  return s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL - 1)}…` : s;
}

async function sameDir(a: string, b: string): Promise<boolean> {
  try {
    return (await realpath(a)) === (await realpath(b));
  } catch {
    return false;
  }
}

/**
 * register_wal for the range. The agent's own registry covers its repository
 * (and skips what it registered before); a plan pointing at another root is
 * registered here directly.
 */
async function registerRange(ctx: JobContext, plan: IncrementalBackupPlan, root: string, names: Set<string>): Promise<void> {
  if (await sameDir(root, ctx.config.repo)) {
    await ctx.scanWal();
    return;
  }
  const rows = [];
  for (const w of await listArchivedWal({ repo: root, systemIdentifier: plan.system_identifier })) {
    if (names.has(w.fileName)) rows.push(await toRegistration(w, plan.wal_segment_size));
  }
  if (rows.length > 0) await ctx.sql.registerWal(plan.system_identifier, rows);
}

function verificationOf(
  check: Awaited<ReturnType<typeof checkWalRange>>,
  first: string,
  last: string,
  contentRead: boolean,
  seconds: string,
): Verification {
  const verified_at = new Date().toISOString();
  if (check.complete) {
    const what = contentRead ? 'checksums and page headers OK' : 'present (content not read: plan.verify is false)';
    return { status: 'VERIFIED', detail: `${check.segments} WAL segment(s) ${first} .. ${last} archived, ${what} (${seconds} s)`, verified_at };
  }
  const parts = [];
  if (check.missing.length) parts.push(`missing: ${check.missing.join(', ')}`);
  if (check.corrupt.length) parts.push(`corrupt: ${check.details.join('; ')}`);
  return { status: 'FAILED', detail: clip(`WAL chain ${first} .. ${last} is broken: ${parts.join('; ')}`), verified_at };
}

export async function runIncrementalBackup(ctx: JobContext, job: JobRow, facts: ServerFacts): Promise<JobOutcome> {
  const plan = parsePlan(IncrementalBackupPlan, job.plan, 'incremental backup');
  const startedAt = new Date();
  const segSize = plan.wal_segment_size;
  if (plan.system_identifier !== facts.systemIdentifier) {
    throw new JobFailure(`the plan is for system ${plan.system_identifier}, but the server is system ${facts.systemIdentifier}`);
  }
  if (segSize !== facts.walSegmentSize) {
    throw new JobFailure(`the plan assumes ${segSize}-byte WAL segments, the server has ${facts.walSegmentSize}`);
  }
  // A chain in the off-host repository: the archiver stores into the local
  // repository, the range is proven there and then stored off-host too.
  const offsite = isS3Location(plan.repository_root) ? await offsiteStoreFor(plan.repository_root) : undefined;
  const root = offsite ? ctx.config.repo : plan.repository_root;
  if (!(await ctx.progress.flush(0, null, 'switching WAL'))) return { status: 'lost' };

  // 1. The switch closes the segment holding everything committed so far.
  let sw;
  try {
    sw = await ctx.sql.switchWal();
  } catch (e) {
    const hint = (e as { code?: string }).code === '42501' ? ' (GRANT EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() TO the agent\'s role)' : '';
    throw new JobFailure(`pg_switch_wal() failed: ${errorText(e)}${hint}`);
  }
  if (sw.systemIdentifier !== plan.system_identifier) {
    throw new JobFailure(`the server is system ${sw.systemIdentifier}, the plan is for ${plan.system_identifier}`);
  }
  if (sw.timeline !== plan.timeline_id) {
    throw new JobFailure(`the server writes timeline ${sw.timeline}, the plan's chain is on timeline ${plan.timeline_id}: take a full backup first`);
  }
  const stop = parseLsn(sw.lsn);
  const rangeStart = parseLsn(plan.range_start_lsn);
  if (stop < rangeStart) throw new JobFailure(`pg_switch_wal() returned ${sw.lsn}, before the parent's end ${plan.range_start_lsn}`);
  // pg_walfile_name() semantics: the segment holding the byte before stop_lsn.
  const stopWalFile = walFileNameForLsn(plan.timeline_id, stop > 0n ? stop - 1n : stop, segSize);
  ctx.log('info', `job ${ctx.jobId}: switched WAL at ${sw.lsn}; waiting for ${stopWalFile} to be archived`);

  // 2. Until the archiver has stored it, the range is not in the repository.
  const stopWait = new AbortController();
  const abort = () => stopWait.abort();
  ctx.lost.addEventListener('abort', abort);
  ctx.shutdown.addEventListener('abort', abort);
  try {
    await waitUntilArchived({
      sql: ctx.sql,
      repo: root,
      systemIdentifier: plan.system_identifier,
      segment: stopWalFile,
      timeoutMs: ctx.config.archiveWaitSeconds * 1000,
      signal: stopWait.signal,
      // Reported (throttled) so that a cancellation is heard while waiting.
      onPoll: () => ctx.progress.report(0, null, 'waiting for the archiver'),
    });
  } catch (e) {
    if (e instanceof ArchiveWaitError) throw new JobFailure(e.message);
    throw e;
  } finally {
    ctx.lost.removeEventListener('abort', abort);
    ctx.shutdown.removeEventListener('abort', abort);
  }
  if (ctx.lost.aborted) return { status: 'lost' };
  // Nothing was stored: handing the job back costs only the switch.
  if (ctx.shutdown.aborted) return { status: 'released' };

  // 3. From the segment containing the chain's start (not pg_walfile_name's rounding) to the switch.
  const first = walFileNameForLsn(plan.timeline_id, plan.chain_start_lsn, segSize);
  const names = walSegmentRange(first, stopWalFile, segSize);
  // Progress in WAL bytes, as the backup views show progress.
  if (!(await ctx.progress.flush(0, names.length * segSize, 'checking WAL'))) return { status: 'lost' };
  const checkStarted = Date.now();
  let check;
  try {
    check = await checkWalRange({
      repo: root,
      systemIdentifier: plan.system_identifier,
      timeline: plan.timeline_id,
      startSegment: first,
      endSegment: stopWalFile,
      verifyContent: plan.verify,
      segSize,
      signal: ctx.lost,
      onSegment: (done, total) => ctx.progress.report(done * segSize, total * segSize, 'checking WAL'),
    });
  } catch (e) {
    if (ctx.lost.aborted) return { status: 'lost' };
    throw e;
  }
  // A damaged segment is a gap for the window and planning until it reads intact again.
  for (const [i, name] of check.corrupt.entries()) {
    await ctx.sql
      .reportWalIntegrity(plan.system_identifier, name, false, check.details[i] ?? `${name}: damaged`)
      .catch((e) => ctx.log('warn', `job ${ctx.jobId}: could not report ${name} damaged: ${errorText(e)}`));
  }
  const verification = verificationOf(check, first, stopWalFile, plan.verify, ((Date.now() - checkStarted) / 1000).toFixed(1));
  ctx.log('info', `job ${ctx.jobId}: ${verification.status}: ${verification.detail}`);

  await ctx.progress.flush(names.length * segSize, names.length * segSize, 'registering WAL');
  await registerRange(ctx, plan, root, new Set(names));
  if (ctx.lost.aborted) return { status: 'lost' };
  // A broken range is reported as it is; only a proven one is worth storing off-host.
  if (offsite && verification.status === 'VERIFIED') {
    const archived = await listArchivedWal({ repo: root, systemIdentifier: plan.system_identifier });
    await ctx.progress.flush(0, names.length * segSize, 'storing WAL off-host');
    const r = await storeWalRange(offsite.store, plan.system_identifier, names, archived, (done, total) =>
      ctx.progress.report(done * segSize, total * segSize, 'storing WAL off-host'),
    );
    ctx.log('info', `job ${ctx.jobId}: off-host repository ${offsite.cfg.location}: ${r.uploaded} WAL segment(s) stored (${r.bytes} bytes), ${r.present} already there`);
    if (ctx.lost.aborted) return { status: 'lost' };
  }

  const result: IncrementalBackupResult = {
    stop_lsn: sw.lsn,
    stop_wal_file: stopWalFile,
    stop_time: sw.time,
    next_xid: sw.nextXid,
    changes_captured: Number(stop - rangeStart),
    wal_files_checked: check.segments,
    started_at: startedAt.toISOString(),
    ended_at: new Date().toISOString(),
    pg_version: facts.pgVersion,
    pg_version_num: facts.pgVersionNum,
    repository_path: offsite ? `${plan.repository_root}/${walRoot('', plan.system_identifier)}` : walRoot(plan.repository_root, plan.system_identifier),
    ...(offsite ? { encryption_fingerprints: [...offsite.cfg.encryption.fingerprints] } : {}),
    verification,
  };
  return { status: 'succeeded', result };
}
