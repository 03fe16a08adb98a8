// The archive_command and restore_command lines that run this package's CLI:
// absolute node and absolute dist/cli/main.js, because the server runs them
// through the shell with its own environment and working directory.
import { configFileInUse } from './config-file.js';
import { cliEntry } from './paths.js';

/** Single-quote for sh -c (archive_command runs through the shell) when needed. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function commandLine(parts: string[], placeholders: string[]): string {
  return parts.map((a) => (placeholders.includes(a) ? a : shellQuote(a))).join(' ');
}

/** `--config <file>` when this process runs with one: the server gives the commands its own environment only. */
function configArgs(configFile: string | undefined): string[] {
  return configFile === undefined ? [] : ['--config', configFile];
}

/** With `catalogUrl` (no password) wal-push registers each file in the catalog before it reports success. */
export function archiveCommand(repo: string, catalogUrl?: string, configFile = configFileInUse()): string {
  const parts = [process.execPath, cliEntry(), 'wal-push', '%p', '--repo', repo, ...configArgs(configFile)];
  if (catalogUrl !== undefined) parts.push('--catalog', catalogUrl);
  return commandLine(parts, ['%p']);
}

/** With the system identifier wal-fetch need not guess the cluster from the repository. */
export function restoreCommand(repo: string, systemIdentifier?: string, configFile = configFileInUse()): string {
  const parts = [process.execPath, cliEntry(), 'wal-fetch', '%f', '%p', '--repo', repo, ...configArgs(configFile)];
  if (systemIdentifier !== undefined) parts.push('--system-identifier', systemIdentifier);
  return commandLine(parts, ['%f', '%p']);
}

/** The name a segment has in the spool while it is being written and checked. */
export const SPOOL_TMP_PREFIX = '.tmp-';

/** How long restore_command waits for a segment the read-ahead is writing: 200 × 10 ms. */
const SPOOL_WAIT_ROUNDS = 200;

/**
 * restore_command for a restore whose agent reads WAL ahead into `spoolDir`
 * (src/agent/wal-prefetch.ts): a spooled file is moved into place by the
 * shell, one being written is waited for (briefly: a wal-fetch start costs
 * more); a timeline history file the repository does not hold is answered
 * "not found" by the shell too (recovery probes for several); anything else
 * goes to wal-fetch as without a spool.
 */
export function spooledRestoreCommand(spoolDir: string, historyDir: string, repo: string, systemIdentifier: string, configFile = configFileInUse()): string {
  const spooled = `${shellQuote(spoolDir)}/$f`;
  const writing = `${shellQuote(spoolDir)}/${SPOOL_TMP_PREFIX}$f`;
  return [
    'f=%f',
    `i=0; while [ -f ${writing} ] && [ ! -f ${spooled} ] && [ $i -lt ${SPOOL_WAIT_ROUNDS} ]; do sleep 0.01; i=$((i+1)); done`,
    `if [ -f ${spooled} ]; then exec mv -f ${spooled} %p; fi`,
    // With a config file an off-host repository may hold history files the local one lacks: wal-fetch asks it.
    ...(configFile === undefined ? [`case $f in *.history) set -- ${shellQuote(historyDir)}/$f-*.zst; [ -e "$1" ] || exit 1;; esac`] : []),
    `exec ${restoreCommand(repo, systemIdentifier, configFile)}`,
  ].join('; ');
}
