// Not a test: measures the two ways of verifying a tar-format backup (our
// streaming verifier vs extract + pg_verifybackup) on a pgbench data set,
// and wal-push latency on the WAL that pgbench -i produced.
//
//   npx tsx test/storage/measure-verify.ts [scale=40] [runs=3]
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { parseManifest } from '../../src/storage/manifest.js';
import { verifyByExtract } from '../../src/storage/verify-extract.js';
import { verifyStoredBackup } from '../../src/storage/verify-tar.js';
import { walPush } from '../../src/storage/wal-push.js';
import { pgTool } from '../../src/util/process.js';
import { createCluster } from '../harness/cluster.js';
import { run, takeBackup } from './helpers.js';

const scale = Number(process.argv[2] ?? 40);
const runs = Number(process.argv[3] ?? 3);
const MB = 1e6;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function timed<T>(fn: () => Promise<T>): Promise<{ s: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { s: (performance.now() - t) / 1000, value };
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bm-measure-'));
  const c = await createCluster({
    name: 'measure',
    pgCron: false,
    settings: { max_wal_size: '8GB', checkpoint_timeout: '1h', wal_keep_size: '8GB' },
  });
  try {
    console.log(`pgbench -i -s ${scale} …`);
    await run(pgTool('pgbench'), ['-i', '-s', String(scale), '-q', '-U', 'postgres', '-h', c.socketDir, '-p', String(c.port), 'postgres']);
    const backup = join(work, 'backup');
    const b = await timed(() => takeBackup(c, backup));
    const manifest = parseManifest(await readFile(join(backup, 'backup_manifest')));
    const dataBytes = manifest.files.reduce((n, f) => n + f.size, 0);
    const tarBytes = (await stat(join(backup, 'base.tar.zst'))).size;
    console.log(
      `backup: ${(dataBytes / MB).toFixed(0)} MB in ${manifest.files.length} files → base.tar.zst ${(tarBytes / MB).toFixed(1)} MB ` +
        `(pg_basebackup ${b.s.toFixed(1)} s)`,
    );

    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const a = await timed(() => verifyStoredBackup(backup));
      if (!a.value.ok) throw new Error(`streaming verifier failed: ${a.value.problems.join('; ')}`);
      ours.push(a.s);
      const e = await timed(() => verifyByExtract(backup, { tmpDir: work }));
      if (!e.value.ok) throw new Error(`extract + pg_verifybackup failed: ${e.value.problems.join('; ')}`);
      theirs.push(e.s);
    }
    for (const [name, xs] of [
      ['streaming (zstd -dc | our tar parser + hashes + pg_waldump)', ours],
      ['extract (zstd -dc | tar -x) + pg_verifybackup', theirs],
    ] as const) {
      const s = median(xs);
      console.log(
        `${name}: median ${s.toFixed(2)} s of [${xs.map((x) => x.toFixed(2)).join(', ')}] = ${(dataBytes / MB / s).toFixed(0)} MB/s of data`,
      );
    }

    // Where the time goes, one run each.
    const tarZst = join(backup, 'base.tar.zst');
    const dec = await timed(() => run('zstd', ['-q', '-d', '-f', tarZst, '-o', '/dev/null']));
    const noWal = await timed(() => verifyStoredBackup(backup, { parseWal: false }));
    const x = join(work, 'x');
    await mkdir(x);
    const ext = await timed(() => run('bash', ['-c', `zstd -q -dc '${tarZst}' | tar -x -C '${x}'`]));
    const pvb = await timed(() => run(pgTool('pg_verifybackup'), ['--quiet', `--manifest-path=${join(backup, 'backup_manifest')}`, x]));
    await rm(x, { recursive: true, force: true });
    console.log(
      `breakdown: zstd -d to /dev/null ${dec.s.toFixed(2)} s; streaming without pg_waldump ${noWal.s.toFixed(2)} s; ` +
        `zstd -dc | tar -x ${ext.s.toFixed(2)} s; pg_verifybackup on the extracted copy ${pvb.s.toFixed(2)} s`,
    );

    // wal-push on real WAL: copy full segments out of pg_wal before they are recycled.
    const walDir = join(c.dataDir, 'pg_wal');
    const segs = (await readdir(walDir)).filter((n) => /^[0-9A-F]{24}$/.test(n)).sort().slice(1, 11);
    const src = join(work, 'pg_wal');
    await mkdir(src);
    for (const s of segs) await copyFile(join(walDir, s), join(src, s));
    const repo = join(work, 'repo');
    const push: number[] = [];
    const pushReadback: number[] = [];
    const zstdOnly: number[] = [];
    const shaOnly: number[] = [];
    let raw = 0;
    let stored = 0;
    for (const s of segs) {
      const p = await timed(() => walPush({ repo, walPath: join(src, s) }));
      push.push(p.s * 1000);
      raw += p.value.bytes;
      stored += p.value.storedBytes;
      const q = await timed(() => walPush({ repo: `${repo}-readback`, walPath: join(src, s), verifyStored: true }));
      pushReadback.push(q.s * 1000);
      zstdOnly.push((await timed(() => run('zstd', ['-q', '-3', '-f', join(src, s), '-o', '/dev/null']))).s * 1000);
      const buf = await readFile(join(src, s));
      shaOnly.push((await timed(async () => createHash('sha256').update(buf).digest('hex'))).s * 1000);
    }
    console.log(
      `wal-push over ${segs.length} real 16 MiB segments (${(raw / stored).toFixed(1)}:1): median ${median(push).toFixed(1)} ms ` +
        `(with verifyStored ${median(pushReadback).toFixed(1)} ms) ` +
        `(zstd -3 CLI alone ${median(zstdOnly).toFixed(1)} ms, sha256 alone ${median(shaOnly).toFixed(1)} ms)`,
    );
  } finally {
    await c.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
