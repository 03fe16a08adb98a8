// LSN and WAL segment-name arithmetic (PostgreSQL's xlog_internal.h macros).
export const DEFAULT_WAL_SEGMENT_SIZE = 16 * 1024 * 1024;

const LSN_RE = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const SEGMENT_RE = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;

/** '0/3000028' → 0x3000028n. */
export function parseLsn(lsn: string): bigint {
  const m = LSN_RE.exec(lsn.trim());
  if (!m) throw new Error(`invalid LSN ${JSON.stringify(lsn)}: expected hex "X/X"`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** 0x3000028n → '0/3000028' (PostgreSQL's %X/%X). */
export function formatLsn(lsn: bigint): string {
  if (lsn < 0n || lsn > 0xffffffffffffffffn) throw new Error(`LSN out of range: ${lsn}`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

function checkSegSize(segSize: number): bigint {
  // initdb --wal-segsize allows powers of two from 1 MiB to 1 GiB.
  if (!Number.isInteger(segSize) || segSize < 1 << 20 || segSize > 1 << 30 || (segSize & (segSize - 1)) !== 0) {
    throw new Error(`invalid WAL segment size ${segSize}`);
  }
  return BigInt(segSize);
}

export function segmentsPerXLogId(segSize = DEFAULT_WAL_SEGMENT_SIZE): bigint {
  return 0x100000000n / checkSegSize(segSize);
}

function hex8(n: number | bigint): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

export function walFileNameForSegNo(timeline: number, segNo: bigint, segSize = DEFAULT_WAL_SEGMENT_SIZE): string {
  if (!Number.isInteger(timeline) || timeline < 1 || timeline > 0xffffffff) throw new Error(`invalid timeline ${timeline}`);
  const per = segmentsPerXLogId(segSize);
  return `${hex8(timeline)}${hex8(segNo / per)}${hex8(segNo % per)}`;
}

export interface ParsedSegmentName {
  timeline: number;
  segNo: bigint;
}

export function parseWalSegmentName(name: string, segSize = DEFAULT_WAL_SEGMENT_SIZE): ParsedSegmentName {
  const m = SEGMENT_RE.exec(name);
  if (!m) throw new Error(`not a WAL segment name: ${JSON.stringify(name)}`);
  const per = segmentsPerXLogId(segSize);
  const seg = BigInt(`0x${m[3]}`);
  if (seg >= per) throw new Error(`WAL segment name ${name} is impossible for ${segSize}-byte segments`);
  return { timeline: parseInt(m[1]!, 16), segNo: BigInt(`0x${m[2]}`) * per + seg };
}

/**
 * Name of the segment that contains the byte at `lsn` (XLByteToSeg). Note that
 * pg_walfile_name() uses XLByteToPrevSeg instead, so for an LSN exactly on a
 * segment boundary it names the previous segment.
 */
export function walFileNameForLsn(timeline: number, lsn: string | bigint, segSize = DEFAULT_WAL_SEGMENT_SIZE): string {
  const pos = typeof lsn === 'string' ? parseLsn(lsn) : lsn;
  return walFileNameForSegNo(timeline, pos / checkSegSize(segSize), segSize);
}

/** Start LSN of a segment, e.g. to compare with xlp_pageaddr. */
export function segmentStartLsn(segNo: bigint, segSize = DEFAULT_WAL_SEGMENT_SIZE): bigint {
  return segNo * checkSegSize(segSize);
}

/** Segment names from `first` to `last` inclusive, on `first`'s timeline. */
export function walSegmentRange(first: string, last: string, segSize = DEFAULT_WAL_SEGMENT_SIZE): string[] {
  const a = parseWalSegmentName(first, segSize);
  const b = parseWalSegmentName(last, segSize);
  if (a.timeline !== b.timeline) throw new Error(`segment range ${first}..${last} spans timelines`);
  if (b.segNo < a.segNo) throw new Error(`segment range ${first}..${last} is reversed`);
  const names: string[] = [];
  for (let s = a.segNo; s <= b.segNo; s++) names.push(walFileNameForSegNo(a.timeline, s, segSize));
  return names;
}
