// Reading the stored form of archived WAL: find the versions of a name,
// and stream one back while proving it matches the checksum in its name.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../util/process.js';
import { parseStoredWalName } from './layout.js';
import { zstdDecompressFile } from './zstd.js';

export interface StoredVersion {
  storedName: string;
  storedPath: string;
  sha256: string;
}

/** Names in a directory, or none when it does not exist yet. */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Stored versions of `fileName` among `names` (a listing of its directory). */
export function versionsIn(dir: string, names: readonly string[], fileName: string): StoredVersion[] {
  const out: StoredVersion[] = [];
  for (const storedName of names) {
    const p = parseStoredWalName(storedName);
    if (p && p.fileName === fileName) out.push({ storedName, storedPath: join(dir, storedName), sha256: p.sha256 });
  }
  return out;
}

export async function storedVersions(dir: string, fileName: string): Promise<StoredVersion[]> {
  return versionsIn(dir, await readdirOrEmpty(dir), fileName);
}

/** Pass chunks through unchanged while feeding them to a hash. */
export async function* hashing(source: AsyncIterable<Buffer>, hash: Hash, count: { bytes: number }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    count.bytes += chunk.length;
    yield chunk;
  }
}

export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  const count = { bytes: 0 };
  for await (const _ of hashing(createReadStream(path, { highWaterMark: 1 << 20 }), hash, count));
  return { sha256: hash.digest('hex'), bytes: count.bytes };
}

export class CorruptWalError extends Error {
  constructor(
    readonly storedPath: string,
    detail: string,
  ) {
    super(`archived WAL file ${storedPath} is corrupt: ${detail}`);
    this.name = 'CorruptWalError';
  }
}

/**
 * Decompress a stored WAL file. Yields the original bytes; after the last one
 * it has checked that zstd succeeded and the SHA-256 equals `expectedSha256`,
 * and throws CorruptWalError otherwise. Consumers must not trust the bytes
 * until the iteration has finished without error.
 */
export async function* readStoredVerified(storedPath: string, expectedSha256: string): AsyncGenerator<Buffer> {
  const z = zstdDecompressFile(storedPath);
  const hash = createHash('sha256');
  const count = { bytes: 0 };
  let finished = false;
  try {
    yield* hashing(z.stdout, hash, count);
    try {
      await z.done;
    } catch (e) {
      throw new CorruptWalError(storedPath, (e as Error).message);
    }
    const actual = hash.digest('hex');
    if (actual !== expectedSha256) {
      throw new CorruptWalError(storedPath, `content has sha256 ${actual}, its name says ${expectedSha256}`);
    }
    finished = true;
  } finally {
    // An abandoned or failed read must not leave zstd running.
    if (!finished) z.kill();
  }
}

/**
 * Decompress a stored WAL file into `destPath`, then prove the copy against
 * `expectedSha256` (CorruptWalError otherwise; the copy is then left for the
 * caller to remove). zstd writes the file itself, so no byte passes through
 * this process; `priority` is zstd's niceness (bookkeeping beside a backup).
 */
export async function decompressStoredVerified(storedPath: string, expectedSha256: string, destPath: string, priority = 0): Promise<void> {
  try {
    await runCommand('zstd', ['-q', '-d', '-f', '-o', destPath, '--', storedPath], { timeoutMs: 120_000, priority });
  } catch (e) {
    throw new CorruptWalError(storedPath, (e as Error).message);
  }
  const copy = await sha256File(destPath);
  if (copy.sha256 !== expectedSha256) throw new CorruptWalError(storedPath, `content has sha256 ${copy.sha256}, its name says ${expectedSha256}`);
}
