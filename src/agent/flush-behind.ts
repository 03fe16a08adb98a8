// Writing a restore's files back to disk while they are still being
// extracted. A restored copy starts like a crashed cluster, so PostgreSQL
// first makes its whole data directory durable (recovery_init_sync_method):
// seconds of disk writes after the extraction, with the CPU idle. Flushing
// the filesystem in a loop meanwhile (syncfs, through `sync -f`) lets the disk
// work while zstd and tar use the CPU, and leaves little for that start.
//
// syncfs flushes every dirty page of the restore directory's filesystem,
// not only ours, exactly as recovery_init_sync_method = syncfs does.
import { CommandError, runCommand } from '../util/process.js';

const PAUSE_MS = 100;

export interface FlushBehind {
  /** Stops the loop after the flush in progress; the data is not necessarily all on disk yet. */
  stop(): Promise<void>;
}

export function flushBehind(dir: string): FlushBehind {
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      try {
        await runCommand('sync', ['-f', dir], { timeoutMs: 600_000 });
      } catch (e) {
        // No syncfs here (old coreutils, not Linux): the server's own start-up flush does it all.
        if (e instanceof CommandError) return;
        throw e;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, PAUSE_MS);
      });
    }
  })().catch(() => {});
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
