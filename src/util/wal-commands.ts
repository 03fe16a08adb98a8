// The archive_command and restore_command lines that run this package's CLI:
// absolute node and absolute dist/cli/main.js, because the server runs them
// through the shell with its own environment and working directory.
import { cliEntry } from './paths.js';

/** Single-quote for sh -c (archive_command runs through the shell) when needed. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function commandLine(parts: string[], placeholders: string[]): string {
  return parts.map((a) => (placeholders.includes(a) ? a : shellQuote(a))).join(' ');
}

export function archiveCommand(repo: string): string {
  return commandLine([process.execPath, cliEntry(), 'wal-push', '%p', '--repo', repo], ['%p']);
}

/** With the system identifier wal-fetch need not guess the cluster from the repository. */
export function restoreCommand(repo: string, systemIdentifier?: string): string {
  const parts = [process.execPath, cliEntry(), 'wal-fetch', '%f', '%p', '--repo', repo];
  if (systemIdentifier !== undefined) parts.push('--system-identifier', systemIdentifier);
  return commandLine(parts, ['%f', '%p']);
}

/**
 * restore_command for a restore whose agent reads WAL ahead into `spoolDir`
 * (src/agent/wal-prefetch.ts): a spooled file is moved into place by the
 * shell; a timeline history file the repository does not hold is answered
 * "not found" by the shell too (recovery probes for several); anything else
 * goes to wal-fetch as without a spool.
 */
export function spooledRestoreCommand(spoolDir: string, historyDir: string, repo: string, systemIdentifier: string): string {
  const spooled = `${shellQuote(spoolDir)}/$f`;
  return [
    'f=%f',
    `if [ -f ${spooled} ]; then exec mv -f ${spooled} %p; fi`,
    `case $f in *.history) set -- ${shellQuote(historyDir)}/$f-*.zst; [ -e "$1" ] || exit 1;; esac`,
    `exec ${restoreCommand(repo, systemIdentifier)}`,
  ].join('; ');
}
