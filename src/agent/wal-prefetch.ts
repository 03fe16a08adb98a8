// WAL read ahead of replay. restore_command starts one process per WAL file,
// and a Node start-up alone (~0.2 s here) is most of what a segment costs to
// replay. The plan names the segments recovery will ask for, so the agent
// decompresses, checks and flushes them in advance, two at a time, into a
// spool directory; restore_command then only moves the file into place
// (spooledRestoreCommand). The spool is a shortcut, never the authority: a
// segment it lacks (not yet spooled, damaged, not archived) goes to wal-fetch,
// which finds, refuses or reports it exactly as without a spool. Segments the
// local repository lacks come from the off-host one (when configured), with
// the same bound on what is read ahead.
import { chown, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { postgresIds } from '../pg/postgres-user.js';
import { parseStoredWalName, walDirFor, walRoot } from '../storage/layout.js';
import type { SealedStore } from '../storage/offsite/sealed.js';
import { fetchWalOffsite, offsiteVersions, sharedWalOffsite } from '../storage/wal-offsite.js';
import { decompressStoredVerified, storedVersions } from '../storage/wal-store.js';
import { BACKGROUND_PRIORITY, isRoot } from '../util/process.js';
import { SPOOL_TMP_PREFIX } from '../util/wal-commands.js';

/** Spooled segments not yet taken by recovery, at most (16 MiB each): bounds the extra disk. */
const MAX_AHEAD = 64;
const WORKERS = 2;
/**
 * While the base backup is still being extracted: one worker and a short lead.
 * The extraction must be on disk before the server can start, the spool only
 * as replay reaches it; reading far ahead then would take the disk and the
 * cores from the extraction.
 */
const HEAD_START = 8;
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
  /** The off-host repository; default: the one the agent's environment names. */
  offsite?: () => Promise<SealedStore | undefined>;
}

export interface WalPrefetch {
  /** Segments spooled so far. */
  readonly spooled: () => number;
  /** The base backup is in place and the server about to start: read ahead at full speed. */
  unthrottle(): void;
  /** Stops reading ahead and removes the spool (recovery has ended or failed). */
  stop(): Promise<void>;
}

/**
 * Archived segments between two names, in order. Names of one timeline sort
 * in segment order and the repository keeps one directory per timeline and
 * log id (the first 16 characters), so no segment size is needed.
 */
async function archivedBetween(repo: string, sysid: string, from: string, to: string, offsite: SealedStore | undefined): Promise<string[]> {
  const timeline = from.slice(0, 8);
  const inRange = (d: string) => d.startsWith(timeline) && d >= from.slice(0, 16) && d <= to.slice(0, 16);
  const names = new Set<string>();
  const add = (stored: string) => {
    const p = parseStoredWalName(stored);
    if (p?.kind === 'segment' && p.fileName >= from && p.fileName <= to) names.add(p.fileName);
  };
  const dirs = (await readdir(walRoot(repo, sysid)).catch(() => [] as string[])).filter(inRange).sort();
  for (const d of dirs) for (const f of await readdir(join(walRoot(repo, sysid), d)).catch(() => [] as string[])) add(f);
  if (offsite) {
    // One listing per timeline+log directory the range touches (256 segments of 16 MiB each).
    const root = walRoot('', sysid);
    for (let log = BigInt(`0x${from.slice(8, 16)}`); log <= BigInt(`0x${to.slice(8, 16)}`); log++) {
      const d = `${timeline}${log.toString(16).toUpperCase().padStart(8, '0')}`;
      for await (const o of offsite.list(`${root}/${d}/`)) add(o.key.slice(root.length + d.length + 2));
    }
  }
  return [...names].sort();
}

/**
 * zstd writes the spool file itself (no byte passes through this process; at
 * background priority beside the extraction), then the copy is proven
 * against its SHA-256 and flushed: PostgreSQL fsyncs every restored segment
 * before replaying it (durable_rename), which is then nearly free.
 */
export async function spoolOne(opts: WalPrefetchOptions, name: string, priority: number, offsite?: SealedStore): Promise<boolean> {
  const versions = await storedVersions(walDirFor(opts.repo, opts.systemIdentifier, name), name);
  // An ambiguous archive: wal-fetch decides (and explains) at replay.
  if (versions.length > 1) return false;
  const remote = versions.length === 0 && offsite ? await offsiteVersions(offsite, opts.systemIdentifier, name) : [];
  // None anywhere (or ambiguous off-host): wal-fetch again.
  if (versions.length === 0 && remote.length !== 1) return false;
  const tmp = join(opts.spoolDir, `${SPOOL_TMP_PREFIX}${name}`);
  try {
    // Nothing reaches its final name before the whole content matched its SHA-256.
    if (versions.length === 1) await decompressStoredVerified(versions[0]!.storedPath, versions[0]!.sha256, tmp, priority);
    else await fetchWalOffsite(offsite!, remote[0]!, tmp);
    if (opts.signal.aborted) throw new Error('stopped');
    const fh = await open(tmp, 'r+');
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
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
  // Beside the extraction: a short lead at background priority. Once replay
  // runs, the spool is on its critical path: full lead, normal priority.
  let ahead = HEAD_START;
  let wanted = 1;
  let priority = BACKGROUND_PRIORITY;
  const abort = new AbortController();
  const signal = AbortSignal.any([opts.signal, abort.signal]);
  let names: string[] | undefined;
  let next = 0;
  const workers: Promise<void>[] = [];
  let offsite: SealedStore | undefined;
  const worker = async () => {
    while (next < names!.length && !signal.aborted) {
      // Recovery moves what it takes out of the spool: wait while it is far behind.
      while ((await spooledCount(opts.spoolDir)) >= ahead && !signal.aborted) await new Promise((r) => setTimeout(r, FULL_POLL_MS));
      if (signal.aborted) return;
      const name = names![next++]!;
      if (name === undefined) return;
      try {
        if (await spoolOne({ ...opts, signal }, name, priority, offsite)) spooled++;
      } catch (e) {
        if (!signal.aborted) opts.onError(name, e);
      }
    }
  };
  const startWorkers = () => {
    while (names && workers.length < wanted) workers.push(worker());
  };
  const run = async () => {
    // Without a usable off-host repository the local one is still read ahead; wal-fetch reports the problem at replay.
    offsite = await (opts.offsite ?? sharedWalOffsite)().catch((e: unknown) => {
      opts.onError(opts.fromSegment, e);
      return undefined;
    });
    names = await archivedBetween(opts.repo, opts.systemIdentifier, opts.fromSegment, opts.toSegment, offsite);
    startWorkers();
    // Workers started later (unthrottle) join this list; wait for all of them.
    for (let i = 0; i < workers.length; i++) await workers[i];
  };
  const done = run().catch((e) => opts.onError(opts.fromSegment, e));
  return {
    spooled: () => spooled,
    unthrottle() {
      ahead = MAX_AHEAD;
      wanted = WORKERS;
      priority = 0;
      startWorkers();
    },
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
