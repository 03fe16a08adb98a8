// What the WAL archive holds, and whether a range of segments is complete
// (the proof behind a WAL-range incremental backup and a PITR plan).
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseStoredWalName, walRoot, walSubdir, walTimeline, type WalFileKind } from './layout.js';
import { isKnownWalMagic, readWalSegmentHeader, WAL_LONG_HEADER_SIZE } from './pg-control.js';
import { DEFAULT_WAL_SEGMENT_SIZE, parseWalSegmentName, segmentStartLsn, walFileNameForSegNo, walSegmentRange } from './wal-names.js';
import { readdirOrEmpty, readStoredVerified, versionsIn } from './wal-store.js';

export interface ArchivedWal {
  fileName: string;
  kind: WalFileKind;
  timeline: number;
  sha256: string;
  storedBytes: number;
  mtime: Date;
  storedPath: string;
}

export async function listArchivedWal(opts: { repo: string; systemIdentifier: string }): Promise<ArchivedWal[]> {
  const root = walRoot(opts.repo, opts.systemIdentifier);
  const out: ArchivedWal[] = [];
  for (const sub of await readdirOrEmpty(root)) {
    const dir = join(root, sub);
    for (const storedName of await readdirOrEmpty(dir)) {
      const p = parseStoredWalName(storedName);
      if (!p || walSubdir(p.fileName) !== sub) continue; // temp files, strays
      const storedPath = join(dir, storedName);
      const st = await stat(storedPath);
      out.push({
        fileName: p.fileName,
        kind: p.kind,
        timeline: walTimeline(p.fileName),
        sha256: p.sha256,
        storedBytes: st.size,
        mtime: st.mtime,
        storedPath,
      });
    }
  }
  return out.sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
}

export interface CheckWalRangeOptions {
  repo: string;
  systemIdentifier: string;
  timeline: number;
  /** Segment names (24 hex); only their log/segment part is used, on `timeline`. */
  startSegment: string;
  endSegment: string;
  /** Decompress each segment and check its SHA-256 and first-page header too. */
  verifyContent?: boolean;
  segSize?: number;
  /** Called after each segment with how many of the range are done. */
  onSegment?: (done: number, total: number) => void;
  /** Stops the check between segments (it then throws). */
  signal?: AbortSignal;
}

export interface WalRangeCheck {
  complete: boolean;
  /** Segment names with no stored version. */
  missing: string[];
  /** Segment names whose stored version is unusable. */
  corrupt: string[];
  /** One line per corrupt segment, saying why. */
  details: string[];
  segments: number;
}

async function contentProblem(storedPath: string, sha256: string, sysid: string, segNo: bigint, segSize: number): Promise<string | undefined> {
  let head = Buffer.alloc(0);
  let bytes = 0;
  try {
    for await (const chunk of readStoredVerified(storedPath, sha256)) {
      if (head.length < WAL_LONG_HEADER_SIZE) head = Buffer.concat([head, chunk.subarray(0, WAL_LONG_HEADER_SIZE - head.length)]);
      bytes += chunk.length;
    }
  } catch (e) {
    return (e as Error).message;
  }
  if (bytes !== segSize) return `${storedPath}: ${bytes} bytes, expected ${segSize}`;
  try {
    const h = readWalSegmentHeader(head);
    if (!isKnownWalMagic(h.magic)) return `${storedPath}: unknown WAL page magic 0x${h.magic.toString(16)}`;
    if (h.systemIdentifier !== sysid) return `${storedPath}: belongs to system ${h.systemIdentifier}, not ${sysid}`;
    if (h.pageAddr !== segmentStartLsn(segNo, segSize)) return `${storedPath}: first page is not for this segment`;
  } catch (e) {
    return `${storedPath}: ${(e as Error).message}`;
  }
  return undefined;
}

export async function checkWalRange(opts: CheckWalRangeOptions): Promise<WalRangeCheck> {
  const segSize = opts.segSize ?? DEFAULT_WAL_SEGMENT_SIZE;
  const first = walFileNameForSegNo(opts.timeline, parseWalSegmentName(opts.startSegment, segSize).segNo, segSize);
  const last = walFileNameForSegNo(opts.timeline, parseWalSegmentName(opts.endSegment, segSize).segNo, segSize);
  const names = walSegmentRange(first, last, segSize);
  const root = walRoot(opts.repo, opts.systemIdentifier);
  const listings = new Map<string, string[]>();
  const missing: string[] = [];
  const corrupt: string[] = [];
  const details: string[] = [];
  for (const [i, name] of names.entries()) {
    if (opts.signal?.aborted) throw new Error('WAL range check stopped');
    if (i > 0) opts.onSegment?.(i, names.length);
    const sub = walSubdir(name);
    let listing = listings.get(sub);
    if (!listing) listings.set(sub, (listing = await readdirOrEmpty(join(root, sub))));
    const versions = versionsIn(join(root, sub), listing, name);
    if (versions.length === 0) {
      missing.push(name);
    } else if (versions.length > 1) {
      corrupt.push(name);
      details.push(`${name}: ${versions.length} stored versions`);
    } else if (opts.verifyContent) {
      const v = versions[0]!;
      const segNo = parseWalSegmentName(name, segSize).segNo;
      const problem = await contentProblem(v.storedPath, v.sha256, opts.systemIdentifier, segNo, segSize);
      if (problem) {
        corrupt.push(name);
        details.push(`${name}: ${problem}`);
      }
    }
  }
  return { complete: missing.length === 0 && corrupt.length === 0, missing, corrupt, details, segments: names.length };
}
