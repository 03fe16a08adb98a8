// Tells the catalog which WAL the repository holds: every scan lists the
// cluster's wal/ tree and registers what has not been registered yet.
// register_wal is idempotent, so a restarted agent simply registers all again.
// Files that leave the repository (deleted by hand, lost) are reported with
// sync_wal_presence, so recoverability shows the gap instead of trusting it.
import { existsSync } from 'node:fs';
import { walRoot } from '../storage/layout.js';
import { listArchivedWal, type ArchivedWal } from '../storage/wal-list.js';
import { readStoredVerified } from '../storage/wal-store.js';
import { formatLsn, parseWalSegmentName, segmentStartLsn } from '../storage/wal-names.js';
import type { WalRegistration } from './protocol.js';
import type { AgentSql } from './sql.js';
import { segmentCommitTimes, type CommitTimes } from './wal-commit-times.js';
import { errorText, type Logger } from './log.js';

const BATCH = 500;

/** Size of the original file; segments are always a full segment, small files are read. */
async function originalBytes(w: ArchivedWal, segSize: number): Promise<number> {
  if (w.kind === 'segment' || w.kind === 'partial') return segSize;
  let n = 0;
  for await (const chunk of readStoredVerified(w.storedPath, w.sha256)) n += chunk.length;
  return n;
}

function startLsn(w: Pick<ArchivedWal, 'fileName' | 'kind'>, segSize: number): string | null {
  if (w.kind === 'history') return null;
  const start = segmentStartLsn(parseWalSegmentName(w.fileName.slice(0, 24), segSize).segNo, segSize);
  // NNN.0000ABCD.backup: the offset of the backup's start within the segment.
  const offset = w.kind === 'backup' ? BigInt(parseInt(w.fileName.slice(25, 33), 16)) : 0n;
  return formatLsn(start + offset);
}

async function commitTimes(w: ArchivedWal): Promise<CommitTimes> {
  if (w.kind !== 'segment' && w.kind !== 'partial') return { first: null, last: null };
  return segmentCommitTimes(w.storedPath, w.sha256, w.fileName.slice(0, 24));
}

/** The catalog's row for a stored file whose original size and commit times are known. */
export function registrationOf(
  w: Pick<ArchivedWal, 'fileName' | 'kind' | 'timeline' | 'sha256' | 'storedBytes' | 'mtime'>,
  segSize: number,
  bytes: number,
  times: CommitTimes,
): WalRegistration {
  return {
    file_name: w.fileName,
    timeline_id: w.timeline,
    start_lsn: startLsn(w, segSize),
    bytes,
    stored_bytes: w.storedBytes,
    sha256: w.sha256,
    archived_at: w.mtime.toISOString(),
    first_commit_time: times.first,
    last_commit_time: times.last,
  };
}

export async function toRegistration(w: ArchivedWal, segSize: number): Promise<WalRegistration> {
  const times = await commitTimes(w);
  return registrationOf(w, segSize, await originalBytes(w, segSize), times);
}

export class WalRegistry {
  private readonly known = new Set<string>();
  /** Stored files that failed their checksum: reported once, never registered. */
  private readonly bad = new Set<string>();
  /** File names of the previous listing, and those seen before but missing since. */
  private present: Set<string> | undefined;
  private gone = new Set<string>();

  constructor(
    private readonly sql: AgentSql,
    private readonly repo: string,
    private readonly systemIdentifier: string,
    private readonly segSize: number,
    private readonly log: Logger,
  ) {}

  /** Register new files; resolves to how many rows the catalog added. */
  async scan(): Promise<number> {
    const listing = await listArchivedWal({ repo: this.repo, systemIdentifier: this.systemIdentifier });
    await this.syncPresence(listing);
    await this.recheckDamaged(listing);
    const fresh = listing.filter(
      (w) => !this.known.has(`${w.fileName}-${w.sha256}`) && !this.bad.has(w.storedPath),
    );
    let added = 0;
    for (let i = 0; i < fresh.length; i += BATCH) {
      const batch = fresh.slice(i, i + BATCH);
      const rows: WalRegistration[] = [];
      for (const w of batch) {
        try {
          rows.push(await toRegistration(w, this.segSize));
        } catch (e) {
          // Damaged in the repository: the catalog must not count on it.
          this.bad.add(w.storedPath);
          this.log('error', `archived WAL ${w.storedPath} is unusable, not registered: ${errorText(e)}`);
        }
      }
      if (rows.length > 0) added += await this.sql.registerWal(this.systemIdentifier, rows);
      for (const w of batch) this.known.add(`${w.fileName}-${w.sha256}`);
    }
    return added;
  }

  /**
   * Files the catalog knows damaged are few: each scan reads them again, and
   * one that reads intact (repaired, re-archived) is reported so the gap goes.
   */
  private async recheckDamaged(listing: readonly ArchivedWal[]): Promise<void> {
    const damaged = await this.sql.corruptWal(this.systemIdentifier);
    for (const d of damaged) {
      const versions = listing.filter((w) => w.fileName === d.fileName);
      if (versions.length !== 1) continue;
      const w = versions[0]!;
      try {
        for await (const chunk of readStoredVerified(w.storedPath, w.sha256)) void chunk;
      } catch {
        continue;
      }
      if (w.sha256 !== d.sha256) continue;
      if (await this.sql.reportWalIntegrity(this.systemIdentifier, d.fileName, true, null)) {
        this.bad.delete(w.storedPath);
        this.log('info', `archived WAL ${d.fileName} reads intact again: no longer marked damaged`);
      }
    }
  }

  /**
   * The full list goes to the catalog at the first scan (files may have gone
   * while no agent ran) and whenever a name vanished or came back; otherwise
   * the catalog already knows.
   */
  private async syncPresence(listing: readonly ArchivedWal[]): Promise<void> {
    // No wal/ directory at all looks like an unmounted repository, not like deleted WAL.
    if (!existsSync(walRoot(this.repo, this.systemIdentifier))) return;
    const names = new Set(listing.map((w) => w.fileName));
    const previous = this.present;
    const vanished = previous ? [...previous].filter((n) => !names.has(n)) : [];
    const returned = [...this.gone].filter((n) => names.has(n));
    if (previous && vanished.length === 0 && returned.length === 0) {
      this.present = names;
      return;
    }
    const purged = await this.sql.syncWalPresence(this.systemIdentifier, [...names]);
    // A streamed segment's .partial leaves when the complete segment arrives: expected, not a loss.
    const replacedPartials = vanished.length > 0 && vanished.every((n) => n.endsWith('.partial') && names.has(n.slice(0, 24)));
    if (purged > 0) {
      this.log(replacedPartials ? 'info' : 'warn', `${purged} registered WAL file(s) are no longer in the repository${vanished.length ? ` (${vanished.slice(0, 5).join(', ')}${vanished.length > 5 ? ', …' : ''})` : ''}: marked purged`);
    }
    for (const n of vanished) this.gone.add(n);
    for (const n of returned) this.gone.delete(n);
    this.present = names;
  }
}
