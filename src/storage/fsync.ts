// Crash-safe file placement for the repository: a file or directory appears
// under its final name complete and durable, or not at all.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

export type FileData = Buffer | Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

/** A fully written and fsynced file under a temporary name, not yet visible. */
export interface TempFile {
  readonly path: string;
  readonly bytes: number;
  /** Rename to `finalPath` (same directory) and fsync the directory. */
  commit(finalPath: string): Promise<void>;
  /** Remove the temporary file; safe to call twice. */
  discard(): Promise<void>;
}

const WRITE_CHUNK = 1 << 20;

/** Name for a temporary sibling; the dot prefix keeps it out of listings. */
export function tempName(prefix = '.tmp-'): string {
  return `${prefix}${randomBytes(8).toString('hex')}`;
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * mkdir -p that also fsyncs the parent of every directory it created, so a
 * new directory entry survives a crash together with the file put in it.
 */
export async function mkdirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  const parents: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    parents.push(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
  for (const p of parents) await fsyncDir(p);
}

function isAsyncIterable(x: unknown): x is AsyncIterable<Uint8Array> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}

/** A new, empty temporary file that something else (a child process) may fill through `handle.fd`. */
export interface OpenTemp {
  readonly path: string;
  readonly handle: FileHandle;
  /** fsync and close; the content is then ready to be committed. */
  finish(): Promise<TempFile>;
  discard(): Promise<void>;
}

function tempFile(path: string, bytes: number): TempFile {
  let done = false;
  return {
    path,
    bytes,
    async commit(finalPath: string) {
      if (dirname(finalPath) !== dirname(path)) {
        // rename(2) is only atomic within one filesystem; keep it in one dir.
        throw new Error(`commit target ${finalPath} must be in ${dirname(path)}`);
      }
      await rename(path, finalPath);
      done = true;
      await fsyncDir(dirname(finalPath));
    },
    async discard() {
      if (done) return;
      done = true;
      await rm(path, { force: true });
    },
  };
}

export async function openTemp(dir: string): Promise<OpenTemp> {
  const path = join(dir, tempName());
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o640);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return {
    path,
    handle,
    async finish() {
      await handle.sync();
      const { size } = await handle.stat();
      await close();
      return tempFile(path, size);
    },
    async discard() {
      await close().catch(() => {});
      await rm(path, { force: true });
    },
  };
}

/**
 * A file another process wrote under a temporary name (tempName()) in the
 * directory where it belongs: fsync it and hand it back ready to commit.
 * Opened by name, so it is the file that is there now, whatever the writer
 * did with the name meanwhile (zstd -o replaces an existing file).
 */
export async function adoptTemp(path: string): Promise<TempFile> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
    const { size } = await fh.stat();
    return tempFile(path, size);
  } finally {
    await fh.close();
  }
}

/**
 * Write `data` to a new temporary file in `dir` and fsync it. The caller
 * decides the final name afterwards (useful when the name contains a checksum
 * of the content).
 */
export async function writeTemp(dir: string, data: FileData): Promise<TempFile> {
  const path = join(dir, tempName());
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o640);
  let bytes = 0;
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let off = 0; off < buf.length; off += WRITE_CHUNK) {
        const { bytesWritten } = await fh.write(buf, off, Math.min(WRITE_CHUNK, buf.length - off));
        bytes += bytesWritten;
      }
    } else if (isAsyncIterable(data)) {
      for await (const chunk of data) {
        // fh.write may write less than asked on some filesystems; loop.
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
          off += bytesWritten;
        }
        bytes += chunk.length;
      }
    } else {
      throw new TypeError('writeTemp: unsupported data type');
    }
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(path, { force: true });
    throw e;
  }
  await fh.close();
  return tempFile(path, bytes);
}

/** Write a file so that readers see either the old content or all the new. */
export async function writeFileAtomic(path: string, data: FileData): Promise<{ bytes: number }> {
  const tmp = await writeTemp(dirname(path), data);
  try {
    await tmp.commit(path);
  } catch (e) {
    await tmp.discard();
    throw e;
  }
  return { bytes: tmp.bytes };
}

/** Whether anything (a link included, not followed) is at p. */
export async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Publish a fully written staging directory under its final name. Refuses to
 * replace anything. Node has no RENAME_NOREPLACE, so the existence check and
 * the rename are two steps; rename(2) itself still refuses a non-empty target.
 */
export async function renameDirAtomic(staging: string, final: string): Promise<void> {
  if (await exists(final)) throw new Error(`refusing to publish ${basename(staging)}: ${final} already exists`);
  await fsyncDir(staging);
  await mkdirDurable(dirname(final));
  await rename(staging, final);
  await fsyncDir(dirname(final));
  if (dirname(staging) !== dirname(final)) await fsyncDir(dirname(staging));
}
