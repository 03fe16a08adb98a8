// zstd through its CLI: Node 20's zlib has no zstd, and the CLI runs on its
// own core while we hash in ours.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { minimalEnv } from '../util/process.js';

export interface ZstdProcess {
  stdin: Writable;
  stdout: Readable;
  /** Resolves when zstd exited 0; rejects with its stderr otherwise. */
  done: Promise<void>;
  kill(): void;
}

const STDERR_LIMIT = 4096;

function exitPromise(child: ChildProcess, what: string, stderrOf: () => string): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`could not run zstd: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
        const err = stderrOf().trim();
        reject(new Error(`zstd ${what} ${why}${err ? `: ${err}` : ''}`));
      }
    });
  });
  done.catch(() => {});
  return done;
}

export function spawnZstd(args: readonly string[]): ZstdProcess {
  const child = spawn('zstd', [...args], { env: minimalEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += s;
  });
  // If zstd dies early, writes fail with EPIPE; `done` reports the real cause.
  child.stdin.on('error', () => {});
  // Callers may await something else first; exitPromise never leaves it unhandled.
  const done = exitPromise(child, args.join(' '), () => stderr);
  return { stdin: child.stdin, stdout: child.stdout, done, kill: () => child.kill('SIGKILL') };
}

/**
 * `zstd -q -<level> -c <src>` with stdout going straight into `outFd`: no
 * bytes pass through this process, which leaves our core free for hashing.
 */
export function zstdCompressFileToFd(src: string, outFd: number, level = 3): { done: Promise<void>; kill(): void } {
  const args = ['-q', `-${level}`, '-c', '--', src];
  const child = spawn('zstd', args, { env: minimalEnv(), stdio: ['ignore', outFd, 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += s;
  });
  return { done: exitPromise(child, args.join(' '), () => stderr), kill: () => child.kill('SIGKILL') };
}

/** `zstd -dc <file>`: a stream of the decompressed bytes. */
export function zstdDecompressFile(path: string): ZstdProcess {
  const z = spawnZstd(['-q', '-d', '-c', '--', path]);
  z.stdin.end();
  return z;
}
