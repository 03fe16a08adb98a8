// WAL read ahead of replay. restore_command starts one process per WAL file,
// and a Node start-up alone (~0.2 s here) is most of what a segment costs to
// replay. The plan names the segments recovery will ask for, so the agent
// decompresses and checks them in advance, in-process and two at a time, into
// a spool directory; restore_command then only moves the file into place
// (spooledRestoreCommand). The spool is a shortcut, never the authority: a
// segment it lacks (not yet spooled, damaged, not archived) goes to wal-fetch,
// which finds, refuses or reports it exactly as without a spool.
import { createWriteStream } from 'node:fs';
import { chown, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { postgresIds } from '../pg/local-cluster.js';
import { walDirFor, walRoot } from '../storage/layout.js';
import { readStoredVerified, storedVersions } from '../storage/wal-store.js';
import { isRoot } from '../util/process.js';

/** Spooled segments not yet taken by recovery, at most (16 MiB each): bounds the extra disk. */
const MAX_AHEAD = 64;
const WORKERS = 2;
const FULL_POLL_MS = 50;

export const SPOOL_DIR_NAME = 'backup_mgmt_wal_spool';

export interface WalPrefetchOptions {
  repo: string;
  systemIdentifier: string;
  /** First and last segment recovery needs (the plan's wal.from_segment / to_segment). */
  fromSegment: string;
  toSegment: string;
  spoolDir: string;
  signal: AbortSignal;
  onError: (fileName: string, error: unknown) => void;
}

export interface WalPrefetch {
  /** Segments spooled so far. */
  readonly spooled: () => number;
  /** Stops reading ahead and removes the spool (recovery has ended or failed). */
  stop(): Promise<void>;
}

/**
 * Archived segments between two names, in order. Names of one timeline sort
 * in segment order and the repository keeps one directory per timeline and
 * log id (the first 16 characters), so no segment size is needed.
 */
async function archivedBetween(repo: string, sysid: string, from: string, to: string): Promise<string[]> {
  const timeline = from.slice(0, 8);
  const dirs = (await readdir(walRoot(repo, sysid)).catch(() => [] as string[]))
    .filter((d) => d.startsWith(timeline) && d >= from.slice(0, 16) && d <= to.slice(0, 16))
    .sort();
  const names = new Set<string>();
  for (const d of dirs) {
    for (const f of await readdir(join(walRoot(repo, sysid), d)).catch(() => [] as string[])) {
      const name = f.slice(0, 24);
      if (/^[0-9A-F]{24}-/.test(f) && name >= from && name <= to) names.add(name);
    }
  }
  return [...names].sort();
}

async function spoolOne(opts: WalPrefetchOptions, name: string): Promise<boolean> {
  const versions = await storedVersions(walDirFor(opts.repo, opts.systemIdentifier, name), name);
  // None or an ambiguous archive: wal-fetch decides (and explains) at replay.
  if (versions.length !== 1) return false;
  const tmp = join(opts.spoolDir, `.tmp-${name}`);
  try {
    // Nothing reaches its final name before the whole content matched its SHA-256.
    await pipeline(Readable.from(readStoredVerified(versions[0]!.storedPath, versions[0]!.sha256)), createWriteStream(tmp, { mode: 0o600 }), {
      signal: opts.signal,
    });
    if (isRoot()) {
      const { uid, gid } = postgresIds();
      await chown(tmp, uid, gid);
    }
    await rename(tmp, join(opts.spoolDir, name));
    return true;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

async function spooledCount(dir: string): Promise<number> {
  return (await readdir(dir).catch(() => [] as string[])).filter((f) => !f.startsWith('.')).length;
}

/** Starts reading ahead; the spool directory must exist and be writable by the server's user. */
export function startWalPrefetch(opts: WalPrefetchOptions): WalPrefetch {
  let spooled = 0;
  const abort = new AbortController();
  const signal = AbortSignal.any([opts.signal, abort.signal]);
  const run = async () => {
    const names = await archivedBetween(opts.repo, opts.systemIdentifier, opts.fromSegment, opts.toSegment);
    let next = 0;
    const worker = async () => {
      while (next < names.length && !signal.aborted) {
        // Recovery moves what it takes out of the spool: wait while it is far behind.
        while ((await spooledCount(opts.spoolDir)) >= MAX_AHEAD && !signal.aborted) await new Promise((r) => setTimeout(r, FULL_POLL_MS));
        if (signal.aborted) return;
        const name = names[next++]!;
        try {
          if (await spoolOne({ ...opts, signal }, name)) spooled++;
        } catch (e) {
          if (!signal.aborted) opts.onError(name, e);
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
  };
  const done = run().catch((e) => opts.onError(opts.fromSegment, e));
  return {
    spooled: () => spooled,
    async stop() {
      abort.abort();
      await done;
      await rm(opts.spoolDir, { recursive: true, force: true });
    },
  };
}

/** Creates the (empty) spool directory, owned by the server's user so that restore_command can move files out. */
export async function createSpoolDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    await chown(dir, uid, gid);
  }
}
