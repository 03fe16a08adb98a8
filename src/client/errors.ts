// Errors the client raises besides PostgreSQL's own (which keep their SQLSTATE in `code`).
export { BackupMgmtInputError } from './inputs.js';

export class BackupNotFoundError extends Error {
  readonly code = 'P0002';
  constructor(readonly id: string) {
    super(`backup ${id} not found`);
    this.name = 'BackupNotFoundError';
  }
}

export class BackupTimeoutError extends Error {
  constructor(
    readonly id: string,
    readonly timeoutMs: number,
    readonly lastStatus: string,
  ) {
    super(`backup ${id} did not finish within ${Math.round(timeoutMs / 1000)} s (status ${lastStatus})`);
    this.name = 'BackupTimeoutError';
  }
}

export class RecoveryNotFoundError extends Error {
  readonly code = 'P0002';
  constructor(readonly id: string) {
    super(`recovery ${id} not found`);
    this.name = 'RecoveryNotFoundError';
  }
}

export class RecoveryTimeoutError extends Error {
  constructor(
    readonly id: string,
    readonly timeoutMs: number,
    readonly lastStatus: string,
  ) {
    super(`recovery ${id} did not finish within ${Math.round(timeoutMs / 1000)} s (status ${lastStatus})`);
    this.name = 'RecoveryTimeoutError';
  }
}
