// Errors the CLI reports as one line with a chosen exit code. Exit codes follow
// monitoring conventions: 0 ok, 1 failure/warning, 2 usage or critical, 3 unknown.
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** One line for a human: the message, plus PostgreSQL's SQLSTATE and hint when there are. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const pgErr = err as Error & { code?: string; hint?: string; detail?: string };
  let line = err.message.replace(/\s+/g, ' ').trim();
  if (pgErr.code && /^[0-9A-Z]{5}$/.test(pgErr.code)) line += ` [SQLSTATE ${pgErr.code}]`;
  if (pgErr.hint) line += ` (hint: ${pgErr.hint.replace(/\s+/g, ' ')})`;
  return line;
}

/** Exit code 3 ("unknown": the outcome is not known yet) when waiting timed out. */
export const EXIT_TIMEOUT = 3;

export async function timeoutExit<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof Error && /TimeoutError$/.test(e.name)) throw new CliError(e.message, EXIT_TIMEOUT);
    throw e;
  }
}

/**
 * --wait with nobody to do the work would wait silently until the timeout:
 * exit 3 (the request stays queued) with one line instead.
 */
export async function requireLiveAgent(bm: { agentStatus(): Promise<{ liveAgents: number; newestHeartbeat: Date | null }> }, queued: string): Promise<void> {
  let status;
  try {
    status = await bm.agentStatus();
  } catch {
    return; // an older schema or no privilege: wait as before
  }
  if (status.liveAgents > 0) return;
  const last = status.newestHeartbeat ? `last heartbeat ${status.newestHeartbeat.toISOString()}` : 'none has ever registered';
  throw new CliError(`no agent is alive (${last}): ${queued} stays queued until one runs; start it: backup-mgmt agent (or systemctl start backup-mgmt-agent)`, EXIT_TIMEOUT);
}
