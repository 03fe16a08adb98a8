// Just enough of PostgreSQL's on-disk formats to learn which cluster a data
// directory or a WAL segment belongs to.
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** ControlFileData starts with `uint64 system_identifier` (native = little-endian here). */
export function parseSystemIdentifierFromControl(buf: Uint8Array): string {
  if (buf.length < 8) throw new Error(`pg_control is too short (${buf.length} bytes)`);
  return Buffer.from(buf.buffer, buf.byteOffset, 8).readBigUInt64LE(0).toString();
}

export async function readSystemIdentifierFromControl(dataDir: string): Promise<string> {
  const path = join(dataDir, 'global', 'pg_control');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(8);
    const { bytesRead } = await fh.read(buf, 0, 8, 0);
    if (bytesRead !== 8) throw new Error(`${path}: short read (${bytesRead} of 8 bytes)`);
    return parseSystemIdentifierFromControl(buf);
  } finally {
    await fh.close();
  }
}

/** XLogLongPageHeaderData is 40 bytes: the short header (24, padded) plus sysid, seg size, block size. */
export const WAL_LONG_HEADER_SIZE = 40;
const XLP_LONG_HEADER = 0x0002;

/** XLOG_PAGE_MAGIC by major version; changes whenever the WAL format does. */
export const WAL_PAGE_MAGIC: Readonly<Record<number, number>> = {
  13: 0xd106,
  14: 0xd10d,
  15: 0xd110,
  16: 0xd113,
  17: 0xd116,
  18: 0xd118,
};

export interface WalSegmentHeader {
  magic: number;
  info: number;
  timeline: number;
  /** LSN of this page, i.e. of the segment start for a segment's first page. */
  pageAddr: bigint;
  remLen: number;
  systemIdentifier: string;
  segSize: number;
  blockSize: number;
}

/**
 * Parse the long page header at the start of a WAL segment. Throws when the
 * first page does not carry a long header (not a segment start, or zeroes).
 */
export function readWalSegmentHeader(buf: Uint8Array): WalSegmentHeader {
  if (buf.length < WAL_LONG_HEADER_SIZE) {
    throw new Error(`WAL header needs ${WAL_LONG_HEADER_SIZE} bytes, got ${buf.length}`);
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, WAL_LONG_HEADER_SIZE);
  const info = b.readUInt16LE(2);
  if ((info & XLP_LONG_HEADER) === 0) {
    throw new Error(`not the first page of a WAL segment (xlp_info 0x${info.toString(16)} lacks XLP_LONG_HEADER)`);
  }
  return {
    magic: b.readUInt16LE(0),
    info,
    timeline: b.readUInt32LE(4),
    pageAddr: b.readBigUInt64LE(8),
    remLen: b.readUInt32LE(16),
    // bytes 20..23 are alignment padding
    systemIdentifier: b.readBigUInt64LE(24).toString(),
    segSize: b.readUInt32LE(32),
    blockSize: b.readUInt32LE(36),
  };
}

/** True for magics of the versions we know; guards against reading junk as a header. */
export function isKnownWalMagic(magic: number): boolean {
  return Object.values(WAL_PAGE_MAGIC).includes(magic);
}
