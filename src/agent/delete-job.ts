// DELETE job (PROTOCOL.md "DELETE job"): remove what retention decided to
// remove. A backup directory is first renamed into <repo>/<sysid>/trash/ and
// only then removed, so a crash leaves either the whole backup or trash that
// the retried job finishes; a directory already gone is not an error. WAL
// purges remove archived files of one timeline before a given segment. SQL
// decided all of it; this file only checks that the plan points where a
// DELETE may point.
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, readdir, realpath, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { exists, fsyncDir, mkdirDurable } from '../storage/fsync.js';
import { backupDir, HISTORY_DIR, parseStoredWalName, resolveInsideRoot, systemDir, walRoot } from '../storage/layout.js';
import { JobFailure, type JobContext, type JobOutcome } from './job-context.js';
import { isS3Location, offsiteStoreFor } from './offsite.js';
import { purgeOffsiteWal, removeOffsiteBackup } from './offsite-delete.js';
import { DeletePlan, parsePlan, type DeleteJobResult, type JobRow } from './protocol.js';

/** Test hook: BACKUP_MGMT_TEST_CRASH_AFTER=delete-rename kills the agent between rename and removal. */
const CRASH_HOOK = 'BACKUP_MGMT_TEST_CRASH_AFTER';

async function readdirOrNone(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** The plan's repository must be this agent's: it removes files only where it keeps them. */
async function ourRepository(ctx: JobContext, planned: string): Promise<string> {
  const mine = await realpath(ctx.config.repo);
  let theirs: string;
  try {
    theirs = await realpath(planned);
  } catch {
    theirs = resolve(planned);
  }
  if (theirs !== mine) {
    throw new JobFailure(`the plan's repository ${planned} is not this agent's repository ${ctx.config.repo}`);
  }
  return mine;
}

async function removeBackup(ctx: JobContext, repo: string, plan: DeletePlan): Promise<NonNullable<DeleteJobResult['backup']>> {
  const bk = plan.backup_bk!;
  // Only ever <repo>/<sysid>/backups/<bk>: never the WAL tree, never anything else.
  const expected = backupDir(plan.repository_root, plan.system_identifier, bk);
  if (resolve(plan.repository_path!) !== expected) {
    throw new JobFailure(`refusing to delete ${plan.repository_path}: a backup directory is ${expected}`);
  }
  const dir = await resolveInsideRoot(repo, backupDir(repo, plan.system_identifier, bk));
  const trash = join(systemDir(repo, plan.system_identifier), 'trash');

  const removed = await exists(dir);
  if (removed) {
    await mkdirDurable(trash);
    await rename(dir, join(trash, `${bk}.${randomBytes(6).toString('hex')}`));
    await fsyncDir(dirname(dir));
    await fsyncDir(trash);
    if (process.env[CRASH_HOOK] === 'delete-rename') {
      ctx.log('warn', `job ${ctx.jobId}: ${CRASH_HOOK}=delete-rename, killing the agent after renaming ${dir}`);
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
    }
  }

  // This attempt's rename and any a crashed attempt left behind.
  const leftovers = (await readdirOrNone(trash)).filter((e) => e.name.startsWith(`${bk}.`) && /^[0-9a-f]{12}$/.test(e.name.slice(bk.length + 1)));
  for (const e of leftovers) await rm(join(trash, e.name), { recursive: true, force: true });
  if (leftovers.length > 0) await fsyncDir(trash);
  ctx.log('info', `job ${ctx.jobId}: backup ${bk} ${removed ? 'removed' : 'was already gone'}${leftovers.length > (removed ? 1 : 0) ? ' (finished an earlier attempt)' : ''}`);
  return { repository_path: expected, removed, trash_removed: leftovers.length - (removed ? 1 : 0) };
}

async function purgeWal(ctx: JobContext, repo: string, purge: NonNullable<DeletePlan['wal_purge']>): Promise<NonNullable<DeleteJobResult['wal']>> {
  const root = walRoot(repo, purge.system_identifier);
  const tli = purge.before_segment.slice(0, 8);
  const limitDir = purge.before_segment.slice(0, 16);
  let files = 0;
  let bytes = 0;
  // Subdirectories are <TLI><log>; only this timeline's, up to the log of before_segment.
  const subdirs = (await readdirOrNone(root))
    .filter((d) => d.isDirectory() && d.name !== HISTORY_DIR && /^[0-9A-F]{16}$/.test(d.name) && d.name.startsWith(tli) && d.name <= limitDir)
    .map((d) => d.name)
    .sort();
  for (const sub of subdirs) {
    const dir = join(root, sub);
    let touched = false;
    for (const e of await readdirOrNone(dir)) {
      const parsed = parseStoredWalName(e.name);
      // Segments, .partial and .backup files before the cut; temp files and strays stay.
      if (!parsed || parsed.kind === 'history' || !e.isFile() || parsed.fileName.slice(0, 24) >= purge.before_segment) continue;
      const path = join(dir, e.name);
      try {
        bytes += (await lstat(path)).size;
        await rm(path);
        files++;
        touched = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (files % 200 === 0) ctx.progress.report(files, null, 'purging WAL');
      // No longer ours: stop; the job runs again and finds the rest.
      if (ctx.lost.aborted) break;
    }
    if (touched) await fsyncDir(dir);
    // An emptied directory of an older log goes too; one still in use stays.
    if (sub < limitDir) {
      try {
        await rmdir(dir);
        touched = true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw err;
      }
    }
    if (touched) await fsyncDir(root);
  }
  ctx.log('info', `job ${ctx.jobId}: purged ${files} archived WAL file(s) of timeline ${purge.timeline} before ${purge.before_segment}`);
  return { timeline: purge.timeline, before_segment: purge.before_segment, files_removed: files, stored_bytes_removed: bytes };
}

/** The same job when the plan's repository is this agent's off-host one. */
async function runOffsiteDelete(ctx: JobContext, plan: DeletePlan): Promise<JobOutcome> {
  const { store, cfg } = await offsiteStoreFor(plan.repository_root);
  if (plan.repository_root !== cfg.location) {
    throw new JobFailure(`the plan's repository ${plan.repository_root} is not this agent's off-host repository ${cfg.location}`);
  }
  if (!(await ctx.progress.flush(0, null, 'deleting'))) return { status: 'lost' };
  const result: DeleteJobResult = { backup: null, wal: null };
  if (plan.backup_bk !== null) result.backup = await removeOffsiteBackup(ctx, store, cfg.location, plan);
  if (ctx.lost.aborted) return { status: 'lost' };
  if (plan.wal_purge !== null) result.wal = await purgeOffsiteWal(ctx, store, plan.wal_purge);
  if (ctx.lost.aborted) return { status: 'lost' };
  return { status: 'succeeded', result };
}

export async function runDelete(ctx: JobContext, job: JobRow): Promise<JobOutcome> {
  let plan: DeletePlan;
  try {
    plan = parsePlan(DeletePlan, job.plan, 'delete');
  } catch (e) {
    throw new JobFailure((e as Error).message);
  }
  if (isS3Location(plan.repository_root)) return runOffsiteDelete(ctx, plan);
  const repo = await ourRepository(ctx, plan.repository_root);
  if (!(await ctx.progress.flush(0, null, 'deleting'))) return { status: 'lost' };
  const result: DeleteJobResult = { backup: null, wal: null };
  if (plan.backup_bk !== null) result.backup = await removeBackup(ctx, repo, plan);
  if (ctx.lost.aborted) return { status: 'lost' };
  if (plan.wal_purge !== null) result.wal = await purgeWal(ctx, repo, plan.wal_purge);
  if (ctx.lost.aborted) return { status: 'lost' };
  return { status: 'succeeded', result };
}
