// `npm run bench:storage [-- --size MiB --runs N]`: the storage groundwork's
// speed. age encryption and decryption against a plain copy through the same
// local backend, and the S3 backend (a real s3rver on loopback) against the
// local one. Every step runs in a fresh child process so that its peak RSS is
// its own; the S3 server runs in another process. Speed is reported, never
// asserted.
import { spawnSync } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { LocalBackend, type StorageBackend } from '../../src/storage/backends/index.js';
import { S3Backend } from '../../src/storage/backends/s3.js';
import { decryptStream, encryptStream, generateIdentity, parseIdentity } from '../../src/storage/crypto/index.js';
import { startS3Server, useS3Environment } from './s3-server.js';

const MiB = 1024 * 1024;

interface StepResult {
  seconds: number;
  /** CPU time (user + system) of the step's process: tells our cost from the server's. */
  cpuSeconds: number;
  bytes: number;
  maxRssMiB: number;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

const STEPS = {
  read: 'file → discard (plain copy)',
  encrypt: 'file → age encrypt → discard',
  'local put': 'file → local backend',
  'local put, encrypted': 'file → age encrypt → local backend',
  'local get': 'local backend → discard',
  'local get, decrypted': 'local backend → age decrypt → discard',
  'S3 put': 'file → S3 backend (multipart 16 MiB × 2)',
  'S3 put, encrypted': 'file → age encrypt → S3 backend',
  'S3 get': 'S3 backend → discard',
  'S3 get, decrypted': 'S3 backend → age decrypt → discard',
} as const;
type StepName = keyof typeof STEPS;

/**
 * This process's peak resident memory. Not getrusage's maxRSS: Linux carries
 * that over exec from the parent, so a child would report its parent's peak.
 */
function peakRssMiB(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function devNull(): Writable {
  return new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });
}

/** One measured step, in this (child) process. */
async function runStep(step: StepName, file: string, repo: string, secret: string): Promise<StepResult> {
  const identity = parseIdentity(secret);
  const cpu0 = process.cpuUsage();
  if (step === 'read' || step === 'encrypt') {
    const started = performance.now();
    let bytes = 0;
    const src = createReadStream(file, { highWaterMark: MiB });
    src.on('data', (c: Buffer | string) => (bytes += c.length));
    if (step === 'encrypt') await pipeline(src, encryptStream([identity.recipient]), devNull());
    else await pipeline(src, devNull());
    return { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSeconds(cpu0), bytes, maxRssMiB: peakRssMiB() };
  }
  const backend: StorageBackend = step.startsWith('S3') ? new S3Backend('s3://bench/repo') : new LocalBackend(repo);
  const encrypted = step.endsWith('encrypted') || step.endsWith('decrypted');
  const key = encrypted ? 'data.age' : 'data';
  const started = performance.now();
  let bytes = 0;
  if (step.includes('put')) {
    const src: Readable = createReadStream(file, { highWaterMark: MiB });
    const body = encrypted ? src.pipe(encryptStream([identity.recipient])) : src;
    src.on('error', (e) => body.destroy(e));
    bytes = (await backend.put(key, body)).bytes;
  } else {
    const src = await backend.get(key);
    const counter = devNull();
    src.on('data', (c: Buffer) => (bytes += c.length));
    if (encrypted) await pipeline(src, decryptStream({ identities: [identity] }), counter);
    else await pipeline(src, counter);
  }
  const seconds = (performance.now() - started) / 1000;
  if (backend instanceof S3Backend) backend.destroy();
  return { seconds, cpuSeconds: cpuSeconds(cpu0), bytes, maxRssMiB: peakRssMiB() };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function child(step: StepName, file: string, repo: string, secret: string, env: NodeJS.ProcessEnv): StepResult {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--step', step, file, repo], {
    env,
    input: secret, // the secret key never appears on a command line
    encoding: 'utf8',
    maxBuffer: MiB,
  });
  if (r.status !== 0) throw new Error(`step ${step} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as StepResult;
}

function timeAge(args: string[]): number {
  const t = performance.now();
  const r = spawnSync('age', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error || r.status !== 0) return Number.NaN;
  return (performance.now() - t) / 1000;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--step') {
    let secret = '';
    for await (const c of process.stdin) secret += String(c);
    const r = await runStep(args[1] as StepName, args[2]!, args[3]!, secret.trim());
    process.stdout.write(JSON.stringify(r));
    return;
  }
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    const v = i >= 0 ? Number(args[i + 1]) : dflt;
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} needs a positive integer`);
    return v;
  };
  const sizeMiB = opt('--size', 256);
  const runs = opt('--runs', 3);

  const work = await mkdtemp(join(tmpdir(), 'bm-bench-storage-'));
  const server = await startS3Server(['bench']);
  try {
    useS3Environment(server);
    const env = { ...process.env };
    const file = join(work, 'data.bin');
    // Random bytes: what compressed backup data looks like to a cipher.
    const block = randomBytes(MiB);
    await writeFile(file, Buffer.concat(Array.from({ length: sizeMiB }, () => block)));
    spawnSync('cat', [file], { stdio: ['ignore', 'ignore', 'ignore'] }); // into the page cache
    const repo = join(work, 'repo');
    const { identity, secret } = generateIdentity();
    const keyFile = join(work, 'key.txt');
    await writeFile(keyFile, `${secret}\n`, { mode: 0o600 });

    const results = new Map<StepName, StepResult[]>();
    const ageEnc: number[] = [];
    const ageDec: number[] = [];
    for (let run = 0; run < runs; run++) {
      // Interleaved, so a slow moment of the shared machine hits every step alike.
      for (const step of Object.keys(STEPS) as StepName[]) {
        const r = child(step, file, repo, secret, env);
        results.set(step, [...(results.get(step) ?? []), r]);
        process.stderr.write(`bench:storage run ${run + 1}/${runs} ${step}: ${r.seconds.toFixed(2)} s\n`);
      }
      ageEnc.push(timeAge(['-r', identity.recipient.text, '-o', join(work, 'cli.age'), file]));
      ageDec.push(timeAge(['-d', '-i', keyFile, '-o', '/dev/null', join(work, 'cli.age')]));
    }

    const sec = (s: StepName) => median(results.get(s)!.map((r) => r.seconds));
    const cpu = (s: StepName) => median(results.get(s)!.map((r) => r.cpuSeconds));
    const rss = (s: StepName) => Math.max(...results.get(s)!.map((r) => r.maxRssMiB));
    const mbps = (s: number) => `${((sizeMiB * MiB) / 1e6 / s).toFixed(0)} MB/s`;
    const ref: Partial<Record<StepName, StepName>> = {
      encrypt: 'read',
      'local put, encrypted': 'local put',
      'local get, decrypted': 'local get',
      'S3 put': 'local put',
      'S3 put, encrypted': 'local put, encrypted',
      'S3 get': 'local get',
      'S3 get, decrypted': 'local get, decrypted',
    };
    const lines = [
      `## Object storage and encryption (${sizeMiB} MiB of random bytes, median of ${runs})`,
      '',
      '| step | what | time | throughput | vs | ratio | agent CPU | peak RSS |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ];
    for (const step of Object.keys(STEPS) as StepName[]) {
      const r = ref[step];
      lines.push(
        `| ${step} | ${STEPS[step]} | ${sec(step).toFixed(2)} s | ${mbps(sec(step))} | ${r ?? '–'} | ${r ? `${(sec(r) / sec(step)).toFixed(2)} ×` : '–'} | ${cpu(step).toFixed(2)} s | ${rss(step).toFixed(0)} MiB |`,
      );
    }
    lines.push(
      `| age CLI encrypt | \`age -r\` file → file (reference) | ${median(ageEnc).toFixed(2)} s | ${mbps(median(ageEnc))} | | | | |`,
      `| age CLI decrypt | \`age -d\` file → /dev/null (reference) | ${median(ageDec).toFixed(2)} s | ${mbps(median(ageDec))} | | | | |`,
      '',
      'ratio = reference time / this step\'s time (1 × = as fast; 0.5 × = takes twice as long). Agent CPU and peak RSS are the step\'s own Node process (RSS baseline ≈ 50–90 MiB); the S3 server (s3rver, JavaScript) runs in another process on the same cores.',
      '',
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
