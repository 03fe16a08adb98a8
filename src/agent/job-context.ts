// What an executor gets to run one claimed job, and what it hands back. The
// job runner turns the outcome into complete_job / fail_job / release_job.
import type { AgentConfig } from './config.js';
import type { Logger } from './log.js';
import type { ProgressReporter } from './progress-reporter.js';
import type { AgentSql } from './sql.js';

export interface JobContext {
  readonly jobId: number;
  readonly agentId: string;
  readonly config: AgentConfig;
  readonly sql: AgentSql;
  readonly log: Logger;
  readonly progress: ProgressReporter;
  /** Aborted when the agent is asked to shut down. */
  readonly shutdown: AbortSignal;
  /** Aborted when the catalog says the job is no longer ours. */
  readonly lost: AbortSignal;
  /** Runs (or joins) the agent's WAL registry scan: register_wal for what is new. */
  readonly scanWal: () => Promise<number>;
}

export type JobOutcome =
  | { status: 'succeeded'; result: object }
  | { status: 'failed'; error: string; retryable: boolean }
  /** Shutdown interrupted the work; the job goes back to the queue. */
  | { status: 'released' }
  /** Cancelled or taken over: nothing to report, the job is not ours. */
  | { status: 'lost' };

/** An error whose message is fit for error_message as it stands. */
export class JobFailure extends Error {
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'JobFailure';
  }
}
