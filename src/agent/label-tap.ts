// backup_label from a base archive as it streams past on its way to the
// off-host repository: no second read of the archive. The label is the
// archive's first member, so only the first bytes are looked at: a zstd
// archive's head goes through `zstd -dc` until the label is out, then
// nothing more is copied.
import { PassThrough } from 'node:stream';
import { spawnZstd } from '../storage/zstd.js';
import { labelFromTar, type BackupLabel } from './backup-label.js';

/** Bytes of the archive's head offered to the parser at most (bounds memory). */
const HEAD_LIMIT = 4 * 1024 * 1024;

export interface LabelTap {
  /** Offer the next chunk of the archive (never blocks, never throws). */
  push(chunk: Buffer): void;
  /** The archive ended (or failed): stop feeding. */
  end(): void;
  /** The label, or the reason it could not be read. */
  readonly label: Promise<BackupLabel>;
}

export function labelTap(compressed: boolean, where: string): LabelTap {
  const head = new PassThrough();
  const z = compressed ? spawnZstd(['-q', '-d', '-c']) : undefined;
  if (z) head.pipe(z.stdin);
  let fed = 0;
  let done = false;
  const stop = () => {
    if (done) return;
    done = true;
    head.end();
  };
  const label = labelFromTar(z ? z.stdout : head, where).finally(() => {
    stop();
    // The rest of the archive is not needed: zstd need not finish.
    z?.kill();
    z?.stdout.resume();
    head.resume();
  });
  label.catch(() => {});
  return {
    push(chunk) {
      if (done) return;
      head.write(chunk);
      fed += chunk.length;
      if (fed >= HEAD_LIMIT) stop();
    },
    end: stop,
    label,
  };
}
