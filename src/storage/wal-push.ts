// archive_command: `backup-mgmt wal-push %p`. Any doubt is an exception, so
// the CLI exits non-zero and PostgreSQL keeps the segment and retries.
import { open, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { mkdirDurable, openTemp } from './fsync.js';
import { assertSystemIdentifier, assertWalFileName, storedWalName, walDirFor, type WalFileKind } from './layout.js';
import { readSystemIdentifierFromControl, readWalSegmentHeader, WAL_LONG_HEADER_SIZE, isKnownWalMagic } from './pg-control.js';
import { parseWalSegmentName, segmentStartLsn } from './wal-names.js';
import { claimWalName } from './wal-claim.js';
import { readStoredVerified, sha256File, storedVersions } from './wal-store.js';
import { zstdCompressFileToFd } from './zstd.js';
import type { SealedStore } from './offsite/sealed.js';
import { pushWalOffsite, type WalOffsitePush } from './wal-offsite.js';

export interface WalPushOptions {
  repo: string;
  /** %p: relative to `cwd`, which for archive_command is the data directory. */
  walPath: string;
  cwd?: string;
  /** Needed only when neither the file nor `cwd` reveals it (history/backup files outside a data dir). */
  systemIdentifier?: string;
  compressionLevel?: number;
  /**
   * Decompress the new stored file and check it against the hash before
   * publishing it (default false: it costs about as much as the compression,
   * and a mismatch would still be caught by wal-fetch and checkWalRange).
   */
  verifyStored?: boolean;
  /**
   * The off-host repository (openWalOffsite()): the stored file goes there
   * too, after the local store. Its failure fails the push; a retry finds
   * the local copy and only puts the off-host one.
   */
  offsite?: SealedStore;
}

export interface WalPushResult {
  fileName: string;
  sha256: string;
  bytes: number;
  storedBytes: number;
  storedPath: string;
  alreadyPresent: boolean;
  systemIdentifier: string;
  /** Set when an off-host repository was given. */
  offsite?: WalOffsitePush;
}

async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** A segment names its cluster in its first page; check that page agrees with the file's name and size. */
async function sysidFromSegment(path: string, fileName: string, size: number): Promise<string> {
  const head = await readHead(path, WAL_LONG_HEADER_SIZE);
  let h;
  try {
    h = readWalSegmentHeader(head);
  } catch (e) {
    throw new Error(`${fileName}: ${(e as Error).message}; refusing to archive it`);
  }
  if (!isKnownWalMagic(h.magic)) throw new Error(`${fileName}: unknown WAL page magic 0x${h.magic.toString(16)}`);
  if (size !== h.segSize) throw new Error(`${fileName}: file is ${size} bytes but its header says segments are ${h.segSize}`);
  const { segNo } = parseWalSegmentName(fileName.slice(0, 24), h.segSize);
  if (h.pageAddr !== segmentStartLsn(segNo, h.segSize)) {
    throw new Error(`${fileName}: first page is for LSN offset 0x${h.pageAddr.toString(16)}, not this segment`);
  }
  return h.systemIdentifier;
}

async function controlSysidOrUndefined(dataDir: string): Promise<string | undefined> {
  try {
    return await readSystemIdentifierFromControl(dataDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function resolveSysid(kind: WalFileKind, path: string, fileName: string, size: number, cwd: string, given?: string): Promise<string> {
  if (given !== undefined) assertSystemIdentifier(given);
  const found =
    kind === 'segment' || kind === 'partial' ? await sysidFromSegment(path, fileName, size) : await controlSysidOrUndefined(cwd);
  if (found !== undefined && given !== undefined && found !== given) {
    throw new Error(`${fileName} belongs to system ${found}, but system ${given} was given`);
  }
  const sysid = found ?? given;
  if (sysid === undefined) {
    throw new Error(`cannot tell which cluster ${fileName} belongs to: no global/pg_control in ${cwd}; pass the system identifier`);
  }
  return sysid;
}

export async function walPush(opts: WalPushOptions): Promise<WalPushResult> {
  const local = await walPushLocal(opts);
  if (!opts.offsite) return local;
  try {
    return { ...local, offsite: await pushWalOffsite(opts.offsite, local) };
  } catch (e) {
    throw new Error(`${local.fileName} is stored locally but not in ${opts.offsite.location}: ${(e as Error).message}`, { cause: e });
  }
}

async function walPushLocal(opts: WalPushOptions): Promise<WalPushResult> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const path = resolve(cwd, opts.walPath);
  const fileName = basename(path);
  const kind = assertWalFileName(fileName);
  const st = await stat(path);
  if (!st.isFile()) throw new Error(`${path} is not a regular file`);
  const systemIdentifier = await resolveSysid(kind, path, fileName, st.size, cwd, opts.systemIdentifier);

  const dir = walDirFor(opts.repo, systemIdentifier, fileName);
  await mkdirDurable(dir);
  const base = { fileName, systemIdentifier };

  // A re-push (archiver crashed after storing, before noting it) is decided
  // by hashing only; compressing first would be wasted work.
  const existing = await storedVersions(dir, fileName);
  if (existing.length > 0) {
    const { sha256, bytes } = await sha256File(path);
    const same = existing.find((v) => v.sha256 === sha256);
    if (!same) {
      throw new Error(
        `${fileName} is already archived with different content (stored sha256 ${existing.map((v) => v.sha256).join(', ')}, ` +
          `this file ${sha256}); refusing to overwrite`,
      );
    }
    const storedBytes = (await stat(same.storedPath)).size;
    return { ...base, sha256, bytes, storedBytes, storedPath: same.storedPath, alreadyPresent: true };
  }

  // zstd reads the segment itself and writes straight into the temp file
  // while we hash the same bytes on our own core: no data crosses a pipe.
  const tmp = await openTemp(dir);
  const z = zstdCompressFileToFd(path, tmp.handle.fd, opts.compressionLevel ?? 3);
  try {
    const [{ sha256, bytes }] = await Promise.all([sha256File(path), z.done]);
    if (bytes !== st.size) throw new Error(`${fileName} changed size while being archived (${st.size} → ${bytes})`);
    // Read back what zstd wrote: proves the stored file decodes to exactly the
    // bytes we hashed, even if the source had changed between the two reads.
    if (opts.verifyStored ?? false) for await (const _ of readStoredVerified(tmp.path, sha256));
    const done = await tmp.finish();
    const storedPath = join(dir, storedWalName(fileName, sha256));
    // Checking for a conflicting version and publishing ours happen under the
    // name's claim: of two pushers with different content only one stores.
    const release = await claimWalName(dir, fileName, sha256);
    try {
      const raced = (await storedVersions(dir, fileName)).filter((v) => v.sha256 !== sha256);
      if (raced.length > 0) throw new Error(`${fileName} was archived concurrently with different content (${raced[0]!.sha256})`);
      await done.commit(storedPath);
    } finally {
      await release();
    }
    return { ...base, sha256, bytes, storedBytes: done.bytes, storedPath, alreadyPresent: false };
  } catch (e) {
    z.kill();
    await tmp.discard();
    throw e;
  }
}
