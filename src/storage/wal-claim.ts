// The claim on a WAL file name while wal-push decides and publishes: a small
// file that appears atomically with its content (written under a temporary
// name, then link(2), which fails with EEXIST if the claim exists). Without it
// two pushers of different content could both find no stored version and
// both store one, after which wal-fetch refuses that segment.
import { link, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTemp } from './fsync.js';

const RETRY_MS = 20;
/** A pusher of the same content holds the claim at most this long in practice (one commit). */
const WAIT_MS = 120_000;

export function claimPath(dir: string, fileName: string): string {
  return join(dir, `.claim-${fileName}`);
}

interface Claim {
  sha256: string;
  pid: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readClaim(path: string): Promise<Claim | undefined> {
  try {
    const [sha256, pid] = (await readFile(path, 'utf8')).trim().split(' ');
    return { sha256: sha256 ?? '', pid: Number(pid) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Takes the claim on `fileName` for content `sha256`, and returns its release.
 * Held by a live pusher of other content: refused at once (a conflict). Held
 * by one of the same content: waited for. Left by a pusher that died: taken over.
 */
export async function claimWalName(dir: string, fileName: string, sha256: string): Promise<() => Promise<void>> {
  const path = claimPath(dir, fileName);
  const tmp = await writeTemp(dir, `${sha256} ${process.pid}\n`);
  const deadline = Date.now() + WAIT_MS;
  try {
    for (;;) {
      try {
        await link(tmp.path, path);
        return async () => {
          await unlink(path).catch(() => {});
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = await readClaim(path);
      if (held === undefined) continue;
      if (!Number.isInteger(held.pid) || held.pid <= 0 || !alive(held.pid)) {
        // Its owner died between claiming and releasing: move it aside, then retry.
        await rm(path, { force: true });
        continue;
      }
      if (held.sha256 !== sha256) {
        throw new Error(`${fileName} is being archived concurrently with different content (${held.sha256}, pid ${held.pid}); refusing to store this one (${sha256})`);
      }
      if (Date.now() > deadline) throw new Error(`${fileName}: waited ${WAIT_MS / 1000} s for the claim of pid ${held.pid} (${path})`);
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  } finally {
    await tmp.discard();
  }
}
