// Progress of a recovery while `--wait` waits: one line per phase change
// (and every few seconds within a long one) on stderr, so that a log or a
// pipe reads well and --json keeps stdout clean.
import type { RecoveryProgress } from '../client/index.js';
import { formatBytes } from './backup-view.js';

const EVERY_MS = 5_000;

function amount(p: RecoveryProgress): string {
  if (p.done === null) return '';
  if (p.phase === 'restoring') return ` ${formatBytes(p.done)}${p.total ? ` of ${formatBytes(p.total)}` : ''}`;
  if (p.phase === 'replaying') return ` ${formatBytes(p.done)}${p.total ? ` of ${formatBytes(p.total)}` : ''} of WAL replayed`;
  return p.total ? ` ${p.done}/${p.total}` : '';
}

export function recoveryProgressPrinter(out: NodeJS.WritableStream = process.stderr): (p: RecoveryProgress) => void {
  let lastKey = '';
  let lastAt = 0;
  const started = Date.now();
  return (p) => {
    const key = `${p.status} ${p.phase ?? ''}`;
    if (key === lastKey && Date.now() - lastAt < EVERY_MS) return;
    lastKey = key;
    lastAt = Date.now();
    const pct = p.percent === null ? '' : ` ${p.percent.toFixed(0)}%`;
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    out.write(`${p.recoveryBk}: ${[p.status, p.phase].filter(Boolean).join(' ')}${pct}${amount(p)} (${secs} s)\n`);
  };
}
