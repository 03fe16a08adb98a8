// VERIFY job: check what is in storage now against its backup_manifest.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_NAME, stagingRoot } from '../storage/layout.js';
import { systemIdentifierFromBackupPath } from '../storage/verify-common.js';
import { readAll } from '../storage/verify-sealed.js';
import { isS3Location, keyOf, offsiteStoreFor } from './offsite.js';
import { parseManifest } from '../storage/manifest.js';
import type { JobContext, JobOutcome } from './job-context.js';
import { parsePlan, VerifyPlan, type JobRow, type VerifyJobResult } from './protocol.js';
import { verifyBackupDir, verifyOffsiteBackup } from './verification.js';

/** Bytes the verification will read, for progress; unknown when the manifest is unreadable. */
async function expectedBytes(path: string): Promise<number | null> {
  try {
    return parseManifest(await readFile(join(path, MANIFEST_NAME))).files.reduce((n, f) => n + f.size, 0);
  } catch {
    return null;
  }
}

/** A backup in the off-host repository: streamed back, decrypted and checked; nothing is staged but pg_waldump's WAL. */
async function runVerifyOffsite(ctx: JobContext, location: string): Promise<JobOutcome> {
  const { store, cfg } = await offsiteStoreFor(location);
  const prefix = keyOf(cfg, location);
  const sysid = systemIdentifierFromBackupPath(location);
  let total: number | null = null;
  try {
    total = parseManifest(await readAll(await store.get(`${prefix}/${MANIFEST_NAME}`))).files.reduce((n, f) => n + f.size, 0);
  } catch {
    // verifyOffsiteBackup reports an unreadable manifest.
  }
  if (!(await ctx.progress.flush(0, total, 'verify'))) return { status: 'lost' };
  const tmpDir = sysid ? stagingRoot(ctx.config.repo, sysid) : undefined;
  if (tmpDir) await mkdir(tmpDir, { recursive: true });
  const verification = await verifyOffsiteBackup(store, prefix, location, {
    pgBinDir: ctx.config.pgBindir,
    tmpDir,
    onProgress: (bytes) => ctx.progress.report(bytes, total, 'verify'),
  });
  if (ctx.lost.aborted) return { status: 'lost' };
  ctx.log('info', `job ${ctx.jobId}: ${location} ${verification.status}`);
  const result: VerifyJobResult = { verification };
  return { status: 'succeeded', result };
}

export async function runVerify(ctx: JobContext, job: JobRow): Promise<JobOutcome> {
  const plan = parsePlan(VerifyPlan, job.plan, 'verify');
  const path = plan.repository_path;
  if (isS3Location(path)) return runVerifyOffsite(ctx, path);
  // A backup directory that vanished is a verification result, not an agent error.
  if (!existsSync(path)) {
    const result: VerifyJobResult = {
      verification: { status: 'FAILED', detail: `backup directory ${path} does not exist`, verified_at: new Date().toISOString() },
    };
    return { status: 'succeeded', result };
  }
  const total = await expectedBytes(path);
  if (!(await ctx.progress.flush(0, total, 'verify'))) return { status: 'lost' };
  const verification = await verifyBackupDir(path, {
    pgBinDir: ctx.config.pgBindir,
    onProgress: (bytes) => ctx.progress.report(bytes, total, 'verify'),
  });
  if (ctx.lost.aborted) return { status: 'lost' };
  ctx.log('info', `job ${ctx.jobId}: ${path} ${verification.status}`);
  const result: VerifyJobResult = { verification };
  return { status: 'succeeded', result };
}
