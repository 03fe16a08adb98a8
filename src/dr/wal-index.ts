// The repository's WAL as the offline planner sees it: which segments are
// present per timeline, and the last commit time of a segment (read with
// pg_waldump on demand, the same way the agent registers it, and cached).
import { segmentCommitTimes, type CommitTimes } from '../agent/wal-commit-times.js';
import { listArchivedWal, type ArchivedWal } from '../storage/wal-list.js';
import { parseWalSegmentName } from '../storage/wal-names.js';

export interface WalSegmentEntry {
  name: string;
  timeline: number;
  segno: bigint;
}

/** What the planner needs to know about archived WAL; the repository and the tests provide it. */
export interface WalIndex {
  /** Present segments of a timeline, in segment order. */
  segments(timeline: number): WalSegmentEntry[];
  /** Microseconds since the epoch of the segment's last commit, null when it has none. */
  lastCommit(name: string): Promise<bigint | null>;
}

/** "2026-11-22 01:02:03.123456+00" → microseconds since the epoch. */
export function commitMicros(t: string | null): bigint | null {
  if (t === null) return null;
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/.exec(t);
  if (!m) throw new Error(`unexpected commit time ${JSON.stringify(t)}`);
  const ms = Date.parse(`${m[1]}T${m[2]}Z`);
  return BigInt(ms) * 1000n + BigInt((m[3] ?? '').padEnd(6, '0') || '0');
}

export class RepositoryWalIndex implements WalIndex {
  private readonly byTimeline = new Map<number, WalSegmentEntry[]>();
  private readonly files = new Map<string, ArchivedWal>();
  private readonly commits = new Map<string, Promise<bigint | null>>();

  private constructor(
    readonly all: ArchivedWal[],
    segSize: number,
    /** Commit times of a stored file: pg_waldump on a verified copy, wherever the file is. */
    private readonly commitTimes: (w: ArchivedWal) => Promise<CommitTimes> = (w) => segmentCommitTimes(w.storedPath, w.sha256, w.fileName),
  ) {
    for (const w of all) {
      if (w.kind !== 'segment') continue;
      // Two stored versions of one name are the same bytes (the name carries the SHA-256); the first will do.
      if (this.files.has(w.fileName)) continue;
      this.files.set(w.fileName, w);
      const list = this.byTimeline.get(w.timeline) ?? [];
      list.push({ name: w.fileName, timeline: w.timeline, segno: parseWalSegmentName(w.fileName, segSize).segNo });
      this.byTimeline.set(w.timeline, list);
    }
  }

  static async open(repo: string, sysid: string, segSize: number): Promise<RepositoryWalIndex> {
    return new RepositoryWalIndex(await listArchivedWal({ repo, systemIdentifier: sysid }), segSize);
  }

  /** Over a listing from elsewhere (an off-host repository), with its own way to read commit times. */
  static of(all: ArchivedWal[], segSize: number, commitTimes: (w: ArchivedWal) => Promise<CommitTimes>): RepositoryWalIndex {
    return new RepositoryWalIndex(all, segSize, commitTimes);
  }

  timelines(): number[] {
    return [...this.byTimeline.keys()].sort((a, b) => a - b);
  }

  segments(timeline: number): WalSegmentEntry[] {
    return this.byTimeline.get(timeline) ?? [];
  }

  lastCommit(name: string): Promise<bigint | null> {
    let p = this.commits.get(name);
    if (!p) {
      const w = this.files.get(name);
      p = w ? this.commitTimes(w).then((t) => commitMicros(t.last)) : Promise.resolve(null);
      this.commits.set(name, p);
    }
    return p;
  }
}
