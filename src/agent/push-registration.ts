// Registering a file in the catalog the moment it is stored, so that a
// segment pg_stat_archiver reports archived (or the WAL receiver completed)
// is already known to PITR planning; the agent's periodic scan stays the
// safety net (register_wal is idempotent).
import { PINNED_OPTIONS } from './conninfo.js';
import pg from 'pg';
import { walFileKind, walTimeline } from '../storage/layout.js';
import type { WalPushResult } from '../storage/wal-push.js';
import { fileCommitTimes, type CommitTimes } from './wal-commit-times.js';
import type { WalRegistration } from './protocol.js';
import { registrationOf } from './wal-registry.js';

const NO_COMMITS: CommitTimes = { first: null, last: null };

/** Commit times of the original file; only complete segments bound time targets. */
export function originalCommitTimes(fileName: string, originalPath: string): Promise<CommitTimes> {
  return walFileKind(fileName) === 'segment' ? fileCommitTimes(originalPath) : Promise.resolve(NO_COMMITS);
}

export function pushedRegistration(r: WalPushResult, segSize: number, times: CommitTimes): WalRegistration {
  const kind = walFileKind(r.fileName);
  if (!kind) throw new Error(`${r.fileName} is not a WAL file name`);
  return registrationOf(
    { fileName: r.fileName, kind, timeline: walTimeline(r.fileName), sha256: r.sha256, storedBytes: r.storedBytes, mtime: new Date() },
    segSize,
    r.bytes,
    times,
  );
}

/**
 * One connection, one call. The session pins search_path in the startup
 * packet and commits locally: with the WAL receiver in
 * synchronous_standby_names a commit would otherwise wait for a receiver
 * that may be the very thing that is down, and archiving would stall.
 */
export async function registerInCatalog(catalogUrl: string, r: WalPushResult, times: CommitTimes, timeoutMs = 10_000): Promise<number> {
  const client = new pg.Client({
    connectionString: catalogUrl,
    application_name: 'backup-mgmt wal-push',
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    options: `${PINNED_OPTIONS} -c synchronous_commit=local`,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    const seg = await client.query<{ s: string }>("SELECT pg_catalog.current_setting('wal_segment_size') AS s");
    const segSize = parseSegmentSize(seg.rows[0]!.s);
    const row = pushedRegistration(r, segSize, times);
    const res = await client.query<{ n: number }>('SELECT backup_mgmt.register_wal($1, $2::jsonb) AS n', [r.systemIdentifier, JSON.stringify([row])]);
    return Number(res.rows[0]?.n ?? 0);
  } finally {
    await client.end().catch(() => {});
  }
}

/** '16MB' (current_setting's form) → bytes. */
function parseSegmentSize(s: string): number {
  const m = /^(\d+)\s*(kB|MB|GB)$/.exec(s.trim());
  if (!m) throw new Error(`unexpected wal_segment_size ${s}`);
  return Number(m[1]) * { kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] as 'kB' | 'MB' | 'GB'];
}

/** Whether a connection string carries a password (it must not sit in archive_command, which pg_settings shows). */
export function hasPassword(url: string): boolean {
  // Not through new URL(): it refuses a user without a host (postgresql://postgres@/db?host=/socket).
  if (/^postgres(ql)?:\/\//.test(url)) return /^postgres(ql)?:\/\/[^/@?]*:[^/@?]*@/.test(url) || /[?&]password=/.test(url);
  return /(^|\s)password\s*=/.test(url);
}
