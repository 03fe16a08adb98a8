// Reports job progress to the catalog at most every 500 ms, and notices when
// the catalog answers that the job is no longer ours (cancelled, or the lease
// was taken over): then the work must stop at once.
import { errorText, type Logger } from './log.js';
import type { AgentSql } from './sql.js';

const MIN_INTERVAL_MS = 500;

interface Sample {
  done: number;
  total: number | null;
  phase: string;
}

export class ProgressReporter {
  private lastSentAt = 0;
  private lastPhase: string | undefined;
  private inFlight: Promise<void> | undefined;
  private pending: Sample | undefined;
  private lostFlag = false;
  private closed = false;

  constructor(
    private readonly sql: AgentSql,
    private readonly jobId: number,
    private readonly agentId: string,
    private readonly log: Logger,
    private readonly onLost: () => void,
  ) {}

  get lost(): boolean {
    return this.lostFlag;
  }

  /** Throttled; a phase change is always sent. */
  report(done: number, total: number | null, phase: string): void {
    const sample = { done, total, phase };
    if (this.lostFlag || this.closed) return;
    if (this.inFlight) {
      this.pending = sample;
      return;
    }
    if (phase === this.lastPhase && Date.now() - this.lastSentAt < MIN_INTERVAL_MS) {
      this.pending = sample;
      return;
    }
    this.send(sample);
  }

  /** Send now (after any call in flight) and tell whether the job is still ours. */
  async flush(done: number, total: number | null, phase: string): Promise<boolean> {
    this.pending = undefined;
    while (this.inFlight) await this.inFlight;
    if (!this.lostFlag) {
      this.send({ done, total, phase });
      await this.inFlight;
    }
    return !this.lostFlag;
  }

  /** No more reports: the outcome is about to be sent, a late progress call would only confuse. */
  async close(): Promise<void> {
    this.closed = true;
    this.pending = undefined;
    while (this.inFlight) await this.inFlight;
  }

  private send(s: Sample): void {
    this.lastSentAt = Date.now();
    this.lastPhase = s.phase;
    this.inFlight = this.sql
      .progress(this.jobId, this.agentId, s.done, s.total, s.phase)
      .then((ours) => {
        if (!ours && !this.lostFlag) {
          this.lostFlag = true;
          this.log('warn', `job ${this.jobId} is no longer ours (cancelled or taken over); stopping it`);
          this.onLost();
        }
      })
      .catch((e) => {
        // A hiccup of the catalog connection: the heartbeat keeps the lease, try again next time.
        this.log('warn', `job ${this.jobId}: could not report progress: ${errorText(e)}`);
      })
      .finally(() => {
        this.inFlight = undefined;
        const next = this.pending;
        this.pending = undefined;
        if (next && !this.lostFlag) this.report(next.done, next.total, next.phase);
      });
  }
}
