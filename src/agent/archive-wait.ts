// Waiting until PostgreSQL's archiver has put a WAL segment into the
// repository. The repository is the proof; pg_stat_archiver explains a delay.
import { walDirFor } from '../storage/layout.js';
import { storedVersions } from '../storage/wal-store.js';
import type { ArchiverStatus, AgentSql } from './sql.js';

export interface ArchiveWaitOptions {
  sql: AgentSql;
  repo: string;
  systemIdentifier: string;
  segment: string;
  timeoutMs: number;
  pollMs?: number;
  /** Stops the wait early; the caller tells why. */
  signal?: AbortSignal;
  onPoll?: (elapsedMs: number) => void;
}

export class ArchiveWaitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveWaitError';
  }
}

/** The archiver's own account of its last failure, for the error message. */
export function describeArchiver(a: ArchiverStatus): string {
  if (a.lastFailedWal) {
    return `the archiver last failed on ${a.lastFailedWal}${a.lastFailedTime ? ` at ${a.lastFailedTime}` : ''} (${a.failedCount} failure(s); see the server log for archive_command's output)`;
  }
  return `the archiver reports no failure (last archived: ${a.lastArchivedWal ?? 'none'}); is archive_command pushing to this repository?`;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });

/** Resolves once the segment is stored; throws ArchiveWaitError on timeout or when archiving is off. */
export async function waitUntilArchived(o: ArchiveWaitOptions): Promise<void> {
  const started = Date.now();
  const dir = walDirFor(o.repo, o.systemIdentifier, o.segment);
  let first = true;
  for (;;) {
    if ((await storedVersions(dir, o.segment)).length > 0) return;
    if (o.signal?.aborted) return;
    if (first) {
      first = false;
      const a = await o.sql.archiverStatus();
      // Without archive_mode nothing will ever arrive: say so now rather than after the timeout.
      if (a.archiveMode === 'off') {
        throw new ArchiveWaitError(
          `WAL segment ${o.segment} cannot be archived: archive_mode is off (run backup-mgmt setup --apply and restart the server)`,
        );
      }
    }
    const elapsed = Date.now() - started;
    if (elapsed >= o.timeoutMs) {
      const a = await o.sql.archiverStatus();
      throw new ArchiveWaitError(`WAL segment ${o.segment} not archived after ${Math.round(elapsed / 1000)} s: ${describeArchiver(a)}`);
    }
    o.onPoll?.(elapsed);
    await sleep(o.pollMs ?? 200, o.signal);
  }
}
