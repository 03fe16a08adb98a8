// Errors the client raises besides PostgreSQL's own (which keep their SQLSTATE in `code`).
export { BackupMgmtInputError } from './inputs.js';

// Each error's name is its class name (new.target), as callers match on it.

/** A backup or recovery that does not exist (or is another tenant's). */
abstract class NotFoundError extends Error {
  readonly code = 'P0002';
  constructor(kind: string, readonly id: string) {
    super(`${kind} ${id} not found`);
    this.name = new.target.name;
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
    this.name = new.target.name;
  }
}

export class BackupNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('backup', id);
  }
}

export class RecoveryNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('recovery', id);
  }
}

export class BackupTimeoutError extends AwaitTimeoutError {
  constructor(id: string, timeoutMs: number, lastStatus: string) {
    super('backup', id, timeoutMs, lastStatus);
  }
}

export class RecoveryTimeoutError extends AwaitTimeoutError {
  constructor(id: string, timeoutMs: number, lastStatus: string) {
    super('recovery', id, timeoutMs, lastStatus);
  }
}
