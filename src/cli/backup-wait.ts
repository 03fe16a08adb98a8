// What `backup full` and `backup incremental` do once a backup is queued:
// print it, or with --wait follow its progress and print the outcome.
import type { BackupListRow, BackupMgmt } from '../client/index.js';
import { printBackup } from './backup-view.js';
import { requireLiveAgent, timeoutExit } from './errors.js';
import { progressDisplay } from './progress-display.js';

export interface WaitFlags {
  wait?: boolean;
  json?: boolean;
  timeoutMs: number;
  /** A timed-out wait exits 3 (backup incremental) rather than failing as an error. */
  timeoutExit?: boolean;
}

/** The final row when waiting, undefined when only queued. */
export async function printOrAwaitBackup(bm: BackupMgmt, queued: BackupListRow, flags: WaitFlags): Promise<BackupListRow | undefined> {
  if (!flags.wait) {
    if (flags.json) printBackup(queued, true);
    else process.stdout.write(`${queued.backup_bk} ${queued.backup_status} (${queued.backup_hk.toString('hex')})\n`);
    return undefined;
  }
  await requireLiveAgent(bm, queued.backup_bk);
  if (!flags.json) process.stderr.write(`${queued.backup_bk} queued, waiting\n`);
  const display = await progressDisplay();
  let final: BackupListRow;
  try {
    const waiting = bm.awaitBackup(queued.backup_hk.toString('hex'), { timeoutMs: flags.timeoutMs, onProgress: (p) => display.update(p) });
    final = await (flags.timeoutExit ? timeoutExit(waiting) : waiting);
  } finally {
    display.stop();
  }
  printBackup(final, flags.json);
  return final;
}
