// The one wait of awaitBackup and awaitRecovery: block in the server's
// await_* function, or (with onProgress) poll the row and report each state.
// What differs between the two is data (BACKUP_WAIT, RECOVERY_WAIT), not code.
import { sql, type Kysely } from 'kysely';
import { BackupTimeoutError, RecoveryTimeoutError } from './errors.js';
import {
  isRecoveryFinal,
  isSettled,
  progressOf,
  recoveryProgressOf,
  type BackupListRow,
  type BackupProgress,
  type ClientDatabase,
  type RecoveryListRow,
  type RecoveryProgress,
} from './types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How one kind of row is awaited. */
export interface AwaitKind<Row, P> {
  /** Blocks in backup_mgmt.<fn>(key, timeout) until final; rejects with SQLSTATE 57014 on timeout. */
  serverFunction: 'await_backup' | 'await_recovery';
  keyOf: (row: Row) => Buffer;
  isFinal: (row: Row) => boolean;
  progressOf: (row: Row) => P;
  /** The error of a wait that timed out, given the row's latest state. */
  timedOut: (id: string, timeoutMs: number, row: Row) => Error;
}

/** A backup is awaited until final and its verification (if any) no longer pending. */
export const BACKUP_WAIT: AwaitKind<BackupListRow, BackupProgress> = {
  serverFunction: 'await_backup',
  keyOf: (row) => row.backup_hk,
  isFinal: isSettled,
  progressOf,
  timedOut: (id, ms, row) => new BackupTimeoutError(id, ms, row.backup_status),
};

/** A recovery is awaited until COMPLETED, FAILED, CANCELLED or REJECTED (PENDING approval is not final). */
export const RECOVERY_WAIT: AwaitKind<RecoveryListRow, RecoveryProgress> = {
  serverFunction: 'await_recovery',
  keyOf: (row) => row.recovery_hk,
  isFinal: isRecoveryFinal,
  progressOf: recoveryProgressOf,
  timedOut: (id, ms, row) => new RecoveryTimeoutError(id, ms, row.recovery_status),
};

export interface AwaitSettings<P> {
  timeoutMs: number;
  pollMs: number;
  onProgress?: (p: P) => void;
}

/**
 * Waits for row `id` (read by `read`, which throws when there is none).
 * Without onProgress it blocks in the server's await function; with it,
 * it polls every pollMs and reports each state.
 */
export async function awaitFinal<Row, P>(
  db: Kysely<ClientDatabase>,
  kind: AwaitKind<Row, P>,
  id: string,
  read: () => Promise<Row>,
  o: AwaitSettings<P>,
): Promise<Row> {
  const first = await read();
  if (!o.onProgress) {
    try {
      await sql`SELECT 1 FROM ${sql.ref(`backup_mgmt.${kind.serverFunction}`)}(${kind.keyOf(first)}, make_interval(secs => ${o.timeoutMs / 1000}))`.execute(db);
    } catch (e) {
      if ((e as { code?: string }).code === '57014') throw kind.timedOut(id, o.timeoutMs, await read());
      throw e;
    }
    return read();
  }
  const deadline = Date.now() + o.timeoutMs;
  let row = first;
  for (;;) {
    o.onProgress(kind.progressOf(row));
    if (kind.isFinal(row)) return row;
    if (Date.now() >= deadline) throw kind.timedOut(id, o.timeoutMs, row);
    await sleep(Math.min(o.pollMs, Math.max(0, deadline - Date.now())));
    row = await read();
  }
}
