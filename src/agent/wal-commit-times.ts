// First and last commit timestamps in an archived WAL segment, read with
// pg_waldump from a verified temporary copy. They bound which recovery
// target times the archive can reach.
//
// pg_waldump reads one segment here, so a commit record that crosses into
// the next segment is seen in neither: the bounds err on the safe side (a
// slightly earlier last commit, a slightly later first one).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompressStoredVerified } from '../storage/wal-store.js';
import { BACKGROUND_PRIORITY, CommandError, pgTool, runCommand } from '../util/process.js';

export interface CommitTimes {
  first: string | null;
  last: string | null;
}

// "desc: COMMIT 2026-11-22 01:33:04.966532 UTC" (COMMIT_PREPARED adds "<xid>: ").
const COMMIT_RE = /desc: COMMIT(?:_PREPARED \d+:)? (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC/;

/** Commit times in pg_waldump output, as timestamptz literals that keep the microseconds. */
export function parseCommitTimes(waldumpOutput: string): CommitTimes {
  let first: string | null = null;
  let last: string | null = null;
  for (const line of waldumpOutput.split('\n')) {
    const m = COMMIT_RE.exec(line);
    if (!m) continue;
    // Same format and zone throughout, so text order is time order.
    const t = `${m[1]}+00`;
    if (first === null || t < first) first = t;
    if (last === null || t > last) last = t;
  }
  return { first, last };
}

async function waldump(segmentPath: string, priority = BACKGROUND_PRIORITY): Promise<string> {
  const args = ['--rmgr=Transaction', segmentPath];
  // TZ=UTC: pg_waldump prints timestamps in its own time zone.
  const opts = { env: { TZ: 'UTC' }, timeoutMs: 120_000, priority };
  try {
    return (await runCommand(pgTool('pg_waldump'), args, opts)).stdout;
  } catch (e) {
    // A segment's last record usually continues in the next segment, which is
    // not here: pg_waldump then ends with an error after printing the rest.
    if (e instanceof CommandError && e.exitCode === 1 && !e.signal) return e.stdout;
    throw e;
  }
}

/**
 * Decompress into a temporary directory, prove the copy against the checksum,
 * and read the commit times. zstd writes the copy itself and both tools run
 * at background priority: registration runs beside backups on the same cores.
 */
export async function segmentCommitTimes(storedPath: string, sha256: string, segmentName: string): Promise<CommitTimes> {
  const dir = await mkdtemp(join(tmpdir(), 'bm-wal-commits-'));
  try {
    // A scratch copy: no fsync needed.
    const path = join(dir, segmentName);
    await decompressStoredVerified(storedPath, sha256, path, BACKGROUND_PRIORITY);
    return parseCommitTimes(await waldump(path));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Commit times of an uncompressed segment file (the original wal-push or the
 * WAL receiver stores), at normal priority: archive_command waits for them.
 * pg_waldump takes the segment's name from the file name, so `path` must end
 * in the 24-character segment name (a `.partial` is read through a link).
 */
export async function fileCommitTimes(path: string, priority = 0): Promise<CommitTimes> {
  return parseCommitTimes(await waldump(path, priority));
}
