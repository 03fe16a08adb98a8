// Errors the client raises besides PostgreSQL's own (which keep their SQLSTATE in `code`).
export { BackupMgmtInputError } from './inputs.js';

/** A backup or recovery that does not exist (or is another tenant's). */
abstract class NotFoundError extends Error {
  readonly code = 'P0002';
  constructor(kind: string, readonly id: string) {
    super(`${kind} ${id} not found`);
  }
}

/** An await that gave up, with the last status seen. */
abstract class AwaitTimeoutError extends Error {
  constructor(
    kind: string,
    readonly id: string,
    readonly timeoutMs: number,
    readonly lastStatus: string,
  ) {
    super(`${kind} ${id} did not finish within ${Math.round(timeoutMs / 1000)} s (status ${lastStatus})`);
  }
}

export class BackupNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('backup', id);
    this.name = 'BackupNotFoundError';
  }
}

export class BackupTimeoutError extends AwaitTimeoutError {
  constructor(id: string, timeoutMs: number, lastStatus: string) {
    super('backup', id, timeoutMs, lastStatus);
    this.name = 'BackupTimeoutError';
  }
}

export class RecoveryNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('recovery', id);
    this.name = 'RecoveryNotFoundError';
  }
}

export class RecoveryTimeoutError extends AwaitTimeoutError {
  constructor(id: string, timeoutMs: number, lastStatus: string) {
    super('recovery', id, timeoutMs, lastStatus);
    this.name = 'RecoveryTimeoutError';
  }
}
