// Progress while a command waits: a cli-progress bar on a terminal, sparse
// plain lines otherwise (logs and pipes do not want a redraw every 500 ms).
import type { BackupProgress } from '../client/index.js';
import { formatBytes } from './backup-view.js';

export interface ProgressDisplay {
  update(p: BackupProgress): void;
  stop(): void;
}

const PLAIN_EVERY_MS = 5_000;

function label(p: BackupProgress): string {
  return p.phase ?? '';
}

function plainDisplay(out: NodeJS.WriteStream): ProgressDisplay {
  let last = '';
  let lastAt = 0;
  return {
    update(p) {
      const pct = p.percent === null ? '' : ` ${p.percent.toFixed(0)}%`;
      const bytes = p.doneBytes !== null && p.totalBytes ? ` (${formatBytes(p.doneBytes)} of ${formatBytes(p.totalBytes)})` : '';
      const key = `${p.status} ${label(p)}`;
      if (key === last && Date.now() - lastAt < PLAIN_EVERY_MS) return;
      last = key;
      lastAt = Date.now();
      out.write(`${p.backupBk}: ${[p.status, label(p)].filter(Boolean).join(' ')}${pct}${bytes}\n`);
    },
    stop() {},
  };
}

async function barDisplay(out: NodeJS.WriteStream): Promise<ProgressDisplay> {
  const cliProgress = (await import('cli-progress')).default;
  const bar = new cliProgress.SingleBar(
    { stream: out, format: '{bk} {phase} [{bar}] {percentage}% {done}/{totalh}', hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const total = p.totalBytes ?? 0;
      const payload = { bk: p.backupBk, phase: label(p).padEnd(10), done: formatBytes(p.doneBytes ?? 0), totalh: formatBytes(total) };
      if (!started) {
        bar.start(Math.max(total, 1), p.doneBytes ?? 0, payload);
        started = true;
      } else {
        if (total > 0) bar.setTotal(total);
        bar.update(p.doneBytes ?? 0, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export async function progressDisplay(out: NodeJS.WriteStream = process.stderr): Promise<ProgressDisplay> {
  return out.isTTY ? barDisplay(out) : plainDisplay(out);
}
