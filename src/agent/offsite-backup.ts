// BACKUP job, kind "full", whose home is the off-host repository (storage
// type S3). pg_basebackup writes its base archive into a named pipe; the
// agent reads it and streams it, encrypted, into a multipart upload, so the
// archive never lands on local disk. backup_label is read from the stream's
// head as it passes (label-tap.ts). The small files pg_basebackup leaves as
// regular files (tablespace archives, backup_manifest) follow once it ended,
// backup_manifest last: a backup without its manifest is incomplete to every
// reader, and the catalog records it COMPLETED only after all of it is
// stored. A failed attempt's objects are deleted (now, or by the next backup
// to the off-host repository if the store is unreachable now).
//
// Peak memory, whatever the backup's size: the multipart upload's
// (queueSize + 1) × partSize (48 MiB by default, S3Backend.maxBufferedBytes),
// plus about 6 MiB of stream buffers (1 MiB pipe reads, ≤ 4 MiB of archive
// head for the label, 64 KiB encryption chunks).
import { createReadStream, linkSync, type ReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../storage/backends/types.js';
import { backupDir, MANIFEST_NAME, stagingDir, stagingRoot } from '../storage/layout.js';
import type { SealedPutResult, SealedStore } from '../storage/offsite/sealed.js';
import { runCommand } from '../util/process.js';
import { describeBackup, prepareStaging, removeEarlierAttempts, runBaseBackup, withWalSlot } from './backup-job.js';
import type { BaseBackupOutcome, BaseBackupRun } from './basebackup.js';
import { JobFailure, type JobContext, type JobOutcome } from './job-context.js';
import { labelTap } from './label-tap.js';
import { errorText } from './log.js';
import { offsiteStoreFor } from './offsite.js';
import type { FullBackupPlan, FullBackupResult, JobRow, StoredFile, Verification } from './protocol.js';
import type { ServerFacts } from './sql.js';
import { verifyOffsiteBackup } from './verification.js';

/** Backups whose failed attempt left objects the store could not delete then: removed by the next backup there. */
const pendingCleanup = new Set<string>();

/** Delete every object under `<prefix>/` (raw keys: also anything not ours). */
async function removeObjects(store: SealedStore, prefix: string): Promise<number> {
  let n = 0;
  for await (const o of store.backend.list(`${prefix}/`)) {
    await store.backend.delete(o.key);
    n++;
  }
  return n;
}

/** Earlier attempts' objects of this backup, and failed backups' objects left over. */
async function cleanUpEarlier(ctx: JobContext, store: SealedStore, prefix: string): Promise<void> {
  for (const p of [...pendingCleanup, prefix]) {
    try {
      const n = await removeObjects(store, p);
      if (n > 0) ctx.log('info', `job ${ctx.jobId}: removed ${n} object(s) of a failed attempt under ${store.location}${p}/`);
      pendingCleanup.delete(p);
    } catch (e) {
      throw new JobFailure(`off-host repository ${store.location}: could not remove a failed attempt's objects under ${p}/: ${errorText(e)}`, true);
    }
  }
}

/** After a failure: the attempt's objects go, or are remembered for later. */
async function discard(ctx: JobContext, store: SealedStore, prefix: string): Promise<void> {
  try {
    await removeObjects(store, prefix);
    pendingCleanup.delete(prefix);
  } catch (e) {
    pendingCleanup.add(prefix);
    ctx.log('warn', `job ${ctx.jobId}: objects of this attempt under ${store.location}${prefix}/ not removed yet (${errorText(e)}); the next backup to the off-host repository removes them`);
  }
}

/** A promise with its resolve/reject outside. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

interface Streamed {
  bb: BaseBackupOutcome;
  base: SealedPutResult;
  label: Awaited<ReturnType<typeof labelTap>['label']>;
}

/**
 * pg_basebackup refuses a directory that is not empty, so the pipe is made
 * beside it and linked in once pg_basebackup announced the backup: it
 * opens its archive only after the server's checkpoint. link() fails on an
 * existing name, so a pg_basebackup that was quicker is caught, never
 * silently written past.
 */
async function streamBase(ctx: JobContext, plan: FullBackupPlan, staging: string, store: SealedStore, key: string, baseName: string): Promise<Streamed> {
  // "<bk>.<random>-pipe": the janitor reads the backup key before the last dot, as for the staging directory.
  const pipeDir = `${staging}-pipe`;
  await mkdir(staging, { mode: 0o700 });
  await mkdir(pipeDir, { mode: 0o700 });
  const spare = join(pipeDir, baseName);
  const fifo = join(staging, baseName);
  await runCommand('mkfifo', ['-m', '0600', '--', spare]);

  const placed = deferred();
  let run: BaseBackupRun | undefined;
  let placeError: Error | undefined;
  const bbDone = runBaseBackup(ctx, plan, staging, {
    noSync: true,
    started: (r) => (run = r),
    onInitiating: () => {
      try {
        linkSync(spare, fifo);
        placed.resolve();
      } catch (e) {
        placeError = new JobFailure(`pg_basebackup created ${baseName} before the agent's pipe was in place (${(e as NodeJS.ErrnoException).code}); the backup is retried`, true);
        placed.reject(placeError);
        run?.kill();
      }
    },
  });
  bbDone.catch(() => {});

  let reader: ReadStream | undefined;
  let readerOpen = false;
  // A pg_basebackup that ends without opening the pipe would leave our open() waiting for a writer.
  const unblockReader = async () => {
    placed.reject(new Error('pg_basebackup ended before it began the backup'));
    if (!reader || readerOpen) return;
    await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
      .then((fh) => fh.close())
      .catch(() => {});
  };
  void bbDone.then(unblockReader, unblockReader);

  const tap = labelTap(baseName.endsWith('.zst'), `${store.location}${key}`);
  async function* body(): AsyncGenerator<Buffer> {
    await placed.promise;
    // One pipe's worth per read: a read returns what the pipe holds (64 KiB at
    // most), and a larger buffer would be allocated and copied down on every
    // short read (measured: ~8 × the agent's CPU for the whole backup).
    reader = createReadStream(fifo, { highWaterMark: 64 * 1024 });
    reader.once('open', () => (readerOpen = true));
    try {
      for await (const chunk of reader as AsyncIterable<Buffer>) {
        tap.push(chunk);
        yield chunk;
      }
    } finally {
      tap.end();
    }
    // Only a pg_basebackup that succeeded makes a complete archive: otherwise the upload is aborted.
    await bbDone;
  }

  const put = store.put(key, body());
  put.catch(() => {});
  const [p, b] = await Promise.allSettled([
    put.catch((e: unknown) => {
      // The store failed: pg_basebackup would wait on the pipe for ever.
      run?.kill();
      throw e;
    }),
    bbDone.catch((e: unknown) => {
      reader?.destroy();
      throw e;
    }),
  ]);
  if (p.status === 'fulfilled' && b.status === 'fulfilled') {
    return { base: p.value, bb: b.value, label: await tap.label };
  }
  // Name the cause, not its consequence: a dead store kills pg_basebackup, a failed pg_basebackup aborts the upload.
  if (placeError) throw placeError;
  const putError = p.status === 'rejected' ? (p.reason as Error) : undefined;
  const bbError = b.status === 'rejected' ? (b.reason as Error) : undefined;
  if (putError instanceof StorageError) {
    throw new JobFailure(`upload to the off-host repository failed: ${putError.message}`, putError.code === 'unreachable');
  }
  throw bbError ?? putError!;
}

/** Tablespace archives, then backup_manifest last: the manifest's presence means the backup's objects are all there. */
async function storeSmallFiles(store: SealedStore, staging: string, prefix: string, baseName: string): Promise<StoredFile[]> {
  const names = (await readdir(staging)).filter((n) => n !== baseName).sort();
  if (!names.includes(MANIFEST_NAME)) throw new JobFailure(`pg_basebackup left no ${MANIFEST_NAME} in ${staging}`);
  const out: StoredFile[] = [];
  for (const name of [...names.filter((n) => n !== MANIFEST_NAME), MANIFEST_NAME]) {
    if (!(await lstat(join(staging, name))).isFile()) throw new JobFailure(`${join(staging, name)}: unexpected non-file in a tar-format backup`);
    try {
      const r = await store.put(`${prefix}/${name}`, createReadStream(join(staging, name)));
      out.push({ name, bytes: r.bytes, sha256: r.sha256 });
    } catch (e) {
      if (e instanceof StorageError) throw new JobFailure(`upload to the off-host repository failed: ${e.message}`, e.code === 'unreachable');
      throw e;
    }
  }
  return out;
}

export async function runFullBackupToOffsite(ctx: JobContext, job: JobRow, plan: FullBackupPlan, facts: ServerFacts): Promise<JobOutcome> {
  const startedAt = new Date();
  const { store, cfg } = await offsiteStoreFor(plan.repository_root);
  if (plan.repository_root !== cfg.location) {
    throw new JobFailure(`a full backup goes to the root of the off-host repository ${cfg.location}, not to ${plan.repository_root}`);
  }
  const sysid = facts.systemIdentifier;
  const prefix = backupDir('', sysid, plan.backup_bk);
  const location = `${cfg.location}/${prefix}`;
  // The local repository still hosts pg_basebackup's directory (the pipe, the manifest, tablespace archives).
  const local = ctx.config.repo;
  await prepareStaging(local, sysid);
  await removeEarlierAttempts(ctx, local, sysid, plan.backup_bk);
  await cleanUpEarlier(ctx, store, prefix);
  const staging = stagingDir(local, sysid, plan.backup_bk);
  const baseName = plan.compression.enabled ? 'base.tar.zst' : 'base.tar';

  let succeeded = false;
  try {
    if (!(await ctx.progress.flush(0, null, 'checkpoint'))) return { status: 'lost' };
    const t0 = performance.now();
    const taken = await withWalSlot(ctx, job, () => streamBase(ctx, plan, staging, store, `${prefix}/${baseName}`, baseName));
    if ('outcome' in taken) return taken.outcome;
    const streamed = taken.value;
    const t1 = performance.now();
    const rest = await storeSmallFiles(store, staging, prefix, baseName);
    const storedFiles = [{ name: baseName, bytes: streamed.base.bytes, sha256: streamed.base.sha256 }, ...rest].sort((a, b) => (a.name < b.name ? -1 : 1));
    const [nextXid, manifestBytes] = await Promise.all([ctx.sql.nextXid(), readFile(join(staging, MANIFEST_NAME))]);
    const described = describeBackup(facts, { ...streamed.bb, nextXid }, startedAt, { repositoryPath: location, manifestBytes, label: streamed.label, storedFiles });
    const endedAt = new Date();
    ctx.log('info', `job ${ctx.jobId}: stored ${location} (${streamed.base.storedBytes} bytes encrypted; pg_basebackup + upload ${((t1 - t0) / 1000).toFixed(3)} s)`);

    let verification: Verification;
    if (plan.verify) {
      await ctx.progress.flush(0, described.backup_size_bytes, 'verify');
      verification = await verifyOffsiteBackup(store, prefix, location, {
        pgBinDir: ctx.config.pgBindir,
        tmpDir: stagingRoot(local, sysid),
        onProgress: (bytes) => ctx.progress.report(bytes, described.backup_size_bytes, 'verify'),
      });
    } else {
      verification = { status: 'SKIPPED', detail: 'verification not requested', verified_at: new Date().toISOString() };
    }
    if (ctx.lost.aborted) return { status: 'lost' };
    const result: FullBackupResult = {
      ...described,
      encryption_fingerprints: [...cfg.encryption.fingerprints],
      ended_at: endedAt.toISOString(),
      verification,
    };
    succeeded = true;
    return { status: 'succeeded', result };
  } finally {
    // Nothing of a failed, lost or released attempt stays; the catalog never recorded it.
    if (!succeeded) await discard(ctx, store, prefix);
    await rm(staging, { recursive: true, force: true }).catch(() => {});
    await rm(`${staging}-pipe`, { recursive: true, force: true }).catch(() => {});
  }
}
