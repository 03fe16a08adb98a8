// PostgreSQL's backup_manifest (format versions 1 and 2): parsing and the
// manifest's own checksum, following src/common/parse_manifest.c.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseLsn } from './wal-names.js';

export interface ManifestFile {
  path: string;
  size: number;
  lastModified?: string;
  /** As written in the manifest (e.g. 'SHA256', 'CRC32C'); 'NONE' when absent. */
  checksumAlgorithm: string;
  /** Lower-case hex; undefined when the manifest has no checksum for the file. */
  checksum?: string;
}

export interface ManifestWalRange {
  timeline: number;
  startLsn: string;
  endLsn: string;
  start: bigint;
  end: bigint;
}

export interface BackupManifest {
  version: number;
  /** Version 2 only (PostgreSQL 17+). */
  systemIdentifier?: string;
  files: ManifestFile[];
  walRanges: ManifestWalRange[];
  manifestChecksum: string;
}

export interface ManifestChecksumResult {
  ok: boolean;
  expected?: string;
  actual?: string;
  reason?: string;
}

function toBytes(text: string | Uint8Array): Buffer {
  return typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
}

function fail(msg: string): never {
  throw new Error(`could not parse backup manifest: ${msg}`);
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function asString(v: unknown, what: string): string {
  if (typeof v !== 'string') fail(`${what} is not a string`);
  return v;
}

function decodeHexPath(hex: string): string {
  if (hex.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(hex)) fail(`could not decode file name ${JSON.stringify(hex)}`);
  return Buffer.from(hex, 'hex').toString('utf8');
}

function parseFile(v: unknown, i: number): ManifestFile {
  const o = asObject(v, `Files[${i}]`);
  if (('Path' in o) === ('Encoded-Path' in o)) fail(`Files[${i}] needs exactly one of Path and Encoded-Path`);
  const path = 'Path' in o ? asString(o.Path, `Files[${i}].Path`) : decodeHexPath(asString(o['Encoded-Path'], `Files[${i}].Encoded-Path`));
  const size = o.Size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) fail(`file size of ${path} is not an integer`);
  const algorithm = o['Checksum-Algorithm'];
  const checksum = o.Checksum;
  if (algorithm === undefined && checksum !== undefined) fail(`checksum without algorithm for ${path}`);
  if (checksum !== undefined) {
    const c = asString(checksum, `checksum of ${path}`);
    if (c.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(c)) fail(`invalid checksum for file ${JSON.stringify(path)}: ${JSON.stringify(c)}`);
  }
  return {
    path,
    size,
    lastModified: typeof o['Last-Modified'] === 'string' ? o['Last-Modified'] : undefined,
    checksumAlgorithm: algorithm === undefined ? 'NONE' : asString(algorithm, `algorithm of ${path}`).toUpperCase(),
    checksum: checksum === undefined || checksum === '' ? undefined : (checksum as string).toLowerCase(),
  };
}

function parseWalRange(v: unknown, i: number): ManifestWalRange {
  const o = asObject(v, `WAL-Ranges[${i}]`);
  const timeline = o.Timeline;
  if (typeof timeline !== 'number' || !Number.isInteger(timeline) || timeline < 1) fail(`WAL-Ranges[${i}] timeline is not an integer`);
  const startLsn = asString(o['Start-LSN'], `WAL-Ranges[${i}].Start-LSN`);
  const endLsn = asString(o['End-LSN'], `WAL-Ranges[${i}].End-LSN`);
  return { timeline, startLsn, endLsn, start: parseLsn(startLsn), end: parseLsn(endLsn) };
}

export function parseManifest(text: string | Uint8Array): BackupManifest {
  const raw = toBytes(text).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    fail((e as Error).message);
  }
  const top = asObject(json, 'the manifest');
  const version = top['PostgreSQL-Backup-Manifest-Version'];
  if (version !== 1 && version !== 2) fail(`unexpected manifest version ${JSON.stringify(version)}`);
  if (!Array.isArray(top.Files)) fail('Files is missing or not an array');
  const walRanges = top['WAL-Ranges'];
  if (!Array.isArray(walRanges)) fail('WAL-Ranges is missing or not an array');
  const manifestChecksum = asString(top['Manifest-Checksum'], 'Manifest-Checksum');

  // A uint64 loses precision in a JS number: take the digits from the text.
  let systemIdentifier: string | undefined;
  if (version === 2) {
    const m = /"System-Identifier"\s*:\s*([0-9]+)/.exec(raw);
    if (!m) fail('manifest version 2 without System-Identifier');
    systemIdentifier = m[1];
  }
  const files = top.Files.map(parseFile);
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) fail(`duplicate path name in backup manifest: ${JSON.stringify(f.path)}`);
    seen.add(f.path);
  }
  return { version, systemIdentifier, files, walRanges: walRanges.map(parseWalRange), manifestChecksum: manifestChecksum.toLowerCase() };
}

/**
 * The manifest checksum is the SHA-256 of every byte up to and including the
 * second-to-last newline; the last line (which carries the checksum) must end
 * in a newline and there must be at least two lines.
 */
export function verifyManifestChecksum(text: string | Uint8Array): ManifestChecksumResult {
  const bytes = toBytes(text);
  const last = bytes.lastIndexOf(0x0a);
  // (lastIndexOf with a negative offset counts from the end, hence last > 0.)
  if (last <= 0 || bytes.lastIndexOf(0x0a, last - 1) === -1) return { ok: false, reason: 'expected at least 2 lines' };
  if (last !== bytes.length - 1) return { ok: false, reason: 'last line not newline-terminated' };
  const penultimate = bytes.lastIndexOf(0x0a, last - 1);
  const actual = createHash('sha256').update(bytes.subarray(0, penultimate + 1)).digest('hex');
  let expected: string;
  try {
    expected = parseManifest(bytes).manifestChecksum;
  } catch (e) {
    return { ok: false, actual, reason: (e as Error).message };
  }
  if (!/^[0-9a-f]{64}$/.test(expected)) return { ok: false, actual, expected, reason: `invalid manifest checksum: ${JSON.stringify(expected)}` };
  if (expected !== actual) return { ok: false, actual, expected, reason: 'manifest checksum mismatch' };
  return { ok: true, actual, expected };
}

export async function readManifestFile(path: string): Promise<{ bytes: Buffer; manifest: BackupManifest }> {
  const bytes = await readFile(path);
  return { bytes, manifest: parseManifest(bytes) };
}
