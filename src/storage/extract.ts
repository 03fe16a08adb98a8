// Unpacking a stored tar-format backup into a data directory: base.tar first,
// then tablespace archives into pg_tblspc/<oid> as plain directories and
// pg_wal.tar into pg_wal. zstd and tar do the byte work as one OS pipe; this
// process only feeds the compressed file in, which is where progress is counted.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { minimalEnv } from '../util/process.js';
import { findArchives, type BackupArchive } from './verify-common.js';

const STDERR_LIMIT = 4096;

export interface ExtractOptions {
  /** Compressed (stored) bytes consumed so far, of all archives together. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

export interface ExtractResult {
  archives: string[];
  storedBytes: number;
  /** SHA-256 of each stored archive as it was read (name → hex): proof of what was restored. */
  sha256: Record<string, string>;
}

function exited(child: ChildProcess, what: string, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`could not run ${what}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
      reject(new Error(`${what} ${why}${stderr().trim() ? `: ${stderr().trim()}` : ''}`));
    });
  });
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    if (text.length < STDERR_LIMIT) text += s;
  });
  return () => text;
}

/** The stored bytes: the local file, or the archive's own stream (an object, decrypted as it arrives). */
function source(a: BackupArchive): Promise<Readable> | Readable {
  return a.open ? a.open() : createReadStream(a.path, { highWaterMark: 1 << 20 });
}

/**
 * `[zstd -dc |] tar -x -C dir` for one archive. zstd's stdout is tar's stdin
 * directly; this process reads the stored file and counts what it feeds in.
 */
export async function extractArchive(a: BackupArchive, dir: string, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<string> {
  // --no-same-owner: a root agent chowns afterwards; never trust uids from the archive.
  const tarArgs = ['-x', '-f', '-', '-C', dir, '--no-same-owner'];
  const children: ChildProcess[] = [];
  const kill = () => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'));
  signal?.addEventListener('abort', kill);
  try {
    const hash = createHash('sha256');
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        onBytes?.(chunk.length);
        hash.update(chunk);
        done(null, chunk);
      },
    });
    let feeder;
    let waits: Promise<void>[];
    if (a.compressed) {
      const zstd = spawn('zstd', ['-q', '-d', '-c'], { env: minimalEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(zstd);
      const tar = spawn('tar', tarArgs, { env: minimalEnv(), stdio: [zstd.stdout, 'ignore', 'pipe'] });
      children.push(tar);
      // tar holds its own copy of the pipe; ours would only keep it open.
      zstd.stdout.destroy();
      // EPIPE when zstd dies early; its exit status tells why.
      zstd.stdin.on('error', () => {});
      feeder = pipeline(await source(a), counter, zstd.stdin);
      waits = [exited(zstd, `zstd -d of ${a.name}`, collect(zstd)), exited(tar, `tar -x of ${a.name}`, collect(tar))];
    } else {
      const tar = spawn('tar', tarArgs, { env: minimalEnv(), stdio: ['pipe', 'ignore', 'pipe'] });
      children.push(tar);
      tar.stdin.on('error', () => {});
      feeder = pipeline(await source(a), counter, tar.stdin);
      waits = [exited(tar, `tar -x of ${a.name}`, collect(tar))];
    }
    if (signal?.aborted) kill();
    // The tools' verdict explains a broken pipe better than the pipe does.
    const [feed, ...tools] = await Promise.allSettled([feeder, ...waits]);
    const failed = tools.find((t): t is PromiseRejectedResult => t.status === 'rejected');
    if (signal?.aborted) throw new Error(`extraction of ${a.name} stopped`);
    if (failed) throw failed.reason;
    if (feed!.status === 'rejected') throw feed.reason;
    return hash.digest('hex');
  } finally {
    signal?.removeEventListener('abort', kill);
    kill();
  }
}

/** pg_tblspc entries that are still symlinks: they would point at the source's live tablespaces. */
export async function tablespaceLinks(dataDir: string): Promise<string[]> {
  const dir = join(dataDir, 'pg_tblspc');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const links: string[] = [];
  for (const n of names) if ((await lstat(join(dir, n))).isSymbolicLink()) links.push(n);
  return links;
}

// Tablespaces become directories pg_tblspc/<oid> inside the copy, so nothing
// is written where the source's tablespaces live.
/** A backup's archives wherever they are stored, with their stored sizes (for progress). */
export interface BackupArchives {
  location: string;
  archives: BackupArchive[];
  sizes: number[];
}

async function localArchives(backupDir: string): Promise<BackupArchives> {
  const { archives, problems } = await findArchives(backupDir);
  if (problems.length > 0) throw new Error(`cannot restore ${backupDir}: ${problems.join('; ')}`);
  return { location: backupDir, archives, sizes: await Promise.all(archives.map(async (a) => (await lstat(a.path)).size)) };
}

/**
 * Every archive of the backup in `backup` (a local directory, or archives
 * that stream from elsewhere: nothing is staged on disk) extracted into
 * `dataDir` (which exists). A streamed archive that fails its authentication
 * at its end fails the extraction: the caller removes what was written.
 */
export async function extractBackup(backup: string | BackupArchives, dataDir: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const { archives, sizes } = typeof backup === 'string' ? await localArchives(backup) : backup;
  const total = sizes.reduce((n, s) => n + s, 0);
  let done = 0;
  const onBytes = (n: number) => {
    done += n;
    opts.onProgress?.(done, total);
  };
  const ordered = [...archives].sort((x, y) => Number(y.role === 'base') - Number(x.role === 'base'));
  const sha256: Record<string, string> = {};
  for (const a of ordered) {
    let target = dataDir;
    if (a.role === 'tablespace') {
      target = join(dataDir, 'pg_tblspc', String(a.tablespaceOid));
      // base.tar may have put a symlink to the original location here; never follow it.
      await rm(target, { force: true, recursive: true });
    } else if (a.role === 'wal') {
      target = join(dataDir, 'pg_wal');
    }
    await mkdir(target, { recursive: true, mode: 0o700 });
    sha256[a.name] = await extractArchive(a, target, onBytes, opts.signal);
  }
  return { archives: ordered.map((a) => a.name), storedBytes: total, sha256 };
}
