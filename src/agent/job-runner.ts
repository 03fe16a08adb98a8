// Runs one claimed job: picks the executor, then reports the outcome through
// complete_job / fail_job / release_job exactly once.
import { JOB_TYPES } from '../generated/job-types.js';
import { runFullBackup } from './backup-job.js';
import { runIncrementalBackup } from './incremental-job.js';
import { runDelete } from './delete-job.js';
import type { AgentConfig } from './config.js';
import { JobFailure, type JobContext, type JobOutcome } from './job-context.js';
import { errorText, type Logger } from './log.js';
import { ProgressReporter } from './progress-reporter.js';
import type { JobRow } from './protocol.js';
import { runRestore } from './restore-job.js';
import type { AgentSql, JobType } from './sql.js';
import { runVerify } from './verify-job.js';

/**
 * The executor of each job type of codegen/protocol.ts: a job type added
 * there does not compile here until it has one.
 */
const EXECUTORS: Record<JobType, (ctx: JobContext, job: JobRow) => Promise<JobOutcome>> = {
  BACKUP: async (ctx, job) => {
    const kind = job.plan.kind;
    if (kind !== 'full' && kind !== 'incremental') throw new JobFailure(`this agent cannot run backups of kind ${JSON.stringify(kind)}`);
    const facts = await ctx.sql.serverFacts();
    return kind === 'full' ? runFullBackup(ctx, job, facts) : runIncrementalBackup(ctx, job, facts);
  },
  VERIFY: runVerify,
  RESTORE: runRestore,
  DELETE: runDelete,
};

/** The job types this agent can execute; claim_job is asked for these only. */
export const SUPPORTED_JOB_TYPES: readonly JobType[] = JOB_TYPES.filter((t) => t in EXECUTORS);

export interface RunnerDeps {
  sql: AgentSql;
  config: AgentConfig;
  agentId: string;
  log: Logger;
  shutdown: AbortSignal;
  scanWal: () => Promise<number>;
}

async function execute(ctx: JobContext, job: JobRow): Promise<JobOutcome> {
  const executor = Object.hasOwn(EXECUTORS, job.job_type) ? EXECUTORS[job.job_type] : undefined;
  if (!executor) throw new JobFailure(`this agent does not run ${job.job_type} jobs`);
  return executor(ctx, job);
}

const SOCKET_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND']);

/** Connection trouble (class 08, admin shutdown, a dropped socket) may pass; SQL errors will not. */
export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  if (code === undefined) return /connection|terminated|timeout/i.test(errorText(e));
  return code.startsWith('08') || code.startsWith('57P') || SOCKET_ERRORS.has(code);
}

async function withRetries<T>(what: string, log: Logger, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 5 || !isConnectionError(e)) throw e;
      log('warn', `${what} failed (${errorText(e)}); retrying`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
}

async function report(deps: RunnerDeps, job: JobRow, outcome: JobOutcome): Promise<void> {
  const { sql, agentId, log } = deps;
  const id = job.job_id;
  switch (outcome.status) {
    case 'succeeded':
      try {
        await withRetries(`complete_job(${id})`, log, () => sql.complete(id, agentId, outcome.result));
        log('info', `job ${id} (${job.job_type}) completed`);
      } catch (e) {
        if (isConnectionError(e)) throw e;
        // The catalog refused the result: say so in the catalog rather than only here.
        await report(deps, job, { status: 'failed', error: `complete_job rejected the result: ${errorText(e)}`, retryable: false });
      }
      return;
    case 'failed':
      await withRetries(`fail_job(${id})`, log, () => sql.fail(id, agentId, outcome.error, outcome.retryable));
      log('warn', `job ${id} (${job.job_type}) failed${outcome.retryable ? ' (will be retried)' : ''}: ${outcome.error}`);
      return;
    case 'released':
      await withRetries(`release_job(${id})`, log, () => sql.release(id, agentId));
      log('info', `job ${id} (${job.job_type}) released for another agent`);
      return;
    case 'lost':
      // Acknowledges a cancellation; a job reclaimed by another agent answers 55000, which is fine.
      try {
        await sql.fail(id, agentId, 'stopped: the job was cancelled or taken over', false);
      } catch (e) {
        if ((e as { code?: string }).code !== '55000') throw e;
      }
      log('warn', `job ${id} (${job.job_type}) abandoned: it is no longer this agent's`);
  }
}

export async function runJob(deps: RunnerDeps, job: JobRow): Promise<void> {
  const lost = new AbortController();
  const progress = new ProgressReporter(deps.sql, job.job_id, deps.agentId, deps.log, () => lost.abort());
  const ctx: JobContext = { ...deps, jobId: job.job_id, progress, lost: lost.signal };
  deps.log('info', `job ${job.job_id} (${job.job_type}) claimed, attempt ${job.attempts}/${job.max_attempts} (retry_count ${job.attempts - 1}, max_retries ${job.max_attempts - 1} in the catalog)`);
  let outcome: JobOutcome;
  try {
    // Claimed just as a shutdown began: hand it straight back.
    outcome = deps.shutdown.aborted ? { status: 'released' } : await execute(ctx, job);
  } catch (e) {
    outcome =
      e instanceof JobFailure
        ? { status: 'failed', error: e.message, retryable: e.retryable }
        : { status: 'failed', error: `agent error: ${errorText(e)}`, retryable: isConnectionError(e) };
  }
  await progress.close();
  try {
    await report(deps, job, outcome);
  } catch (e) {
    // The lease will expire and claim_job will decide; nothing more to do here.
    deps.log('error', `job ${job.job_id}: could not report ${outcome.status}: ${errorText(e)}`);
  }
}
