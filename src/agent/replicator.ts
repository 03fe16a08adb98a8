// The agent's replicator (repository copies, sql/65-copies): every completed
// backup of the local repository is copied into the off-host one, encrypted
// (SealedStore), with its metadata; WAL the off-host repository lacks (archived
// before it was configured, or while it was down) is caught up; copies that
// the repositories' retention removes are deleted. State lives in the catalog:
// copy_claim hands out one backup at a time, a copy is COPIED only after every
// object is stored and its plaintext SHA-256 equals stored_files', and a
// failure is retried with backoff. One pass at a time; passes run on a timer
// and when a job ends.
import { createReadStream, type ReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isValidKey } from '../storage/backends/keys.js';
import { resolveInsideRoot } from '../storage/layout.js';
import type { SealedStore } from '../storage/offsite/sealed.js';
import type { RepositoryMetadataStore } from '../storage/repo-metadata.js';
import { listArchivedWal } from '../storage/wal-list.js';
import { listArchivedWalOffsite, type OffsiteArchivedWal } from '../storage/wal-list-offsite.js';
import { walKey } from '../storage/wal-offsite.js';
import type { CopyClaim, CopyExpiry, CopySql, StoredFileEntry } from './copy-sql.js';
import { errorText, type Logger } from './log.js';
import type { RepositoryMirror } from './repository-mirror.js';

export interface ReplicatorOptions {
  sql: CopySql;
  /** The off-host repository (encrypted). */
  store: SealedStore;
  /** Its metadata (plain JSON beside the objects). */
  metadata: RepositoryMetadataStore;
  mirror: RepositoryMirror;
  repositoryRoot: string;
  systemIdentifier: string;
  log: Logger;
  intervalMs: number;
}

const FILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** The WAL catch-up lists the whole off-host WAL prefix: every sixth pass, unless it is behind. */
const WAL_EVERY_PASSES = 6;
const SHA256_RE = /^[0-9a-f]{64}$/;

const oneLine = (e: unknown) => errorText(e).replace(/\s*\n\s*/g, ' ').slice(0, 1000);

interface FileToCopy {
  name: string;
  bytes: number | undefined;
  sha256: string;
}

/** stored_files as the replicator needs them: a safe name and a SHA-256 to prove the copy against. */
function filesOf(bk: string, entries: readonly StoredFileEntry[]): FileToCopy[] {
  return entries.map((f) => {
    if (typeof f.name !== 'string' || !FILE_NAME_RE.test(f.name)) throw new Error(`backup ${bk}: stored file name ${JSON.stringify(f.name)} is not a plain file name`);
    if (typeof f.sha256 !== 'string' || !SHA256_RE.test(f.sha256)) throw new Error(`backup ${bk}: the catalog has no SHA-256 for ${f.name}, so a copy cannot be proven`);
    return { name: f.name, bytes: typeof f.bytes === 'number' ? f.bytes : undefined, sha256: f.sha256 };
  });
}

export class Replicator {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** WAL keys the off-host repository held at the last listing, plus those put since. */
  private walKnown: Set<string> | undefined;
  /** The last problem of each step, so a long outage is logged once, not every pass. */
  private readonly problems = new Map<string, string>();
  private passes = 0;
  /** The WAL catch-up found something missing (or failed): look again next pass. */
  private walBehind = true;
  /** The file being copied, destroyed when the agent stops (the copy is then FAILED and retried later). */
  private reading: ReadStream | undefined;

  constructor(private readonly opts: ReplicatorOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.run(), this.opts.intervalMs);
    void this.run();
  }

  /** A job ended: look for work now rather than at the next tick. */
  wake(): void {
    void this.run();
  }

  /** The off-host repository's format file, naming the keys its objects are encrypted to. */
  private async ensureFormat(): Promise<void> {
    const fps = this.opts.store.encryption?.fingerprints ?? [];
    await this.opts.metadata.ensureFormat(fps.length ? { encryption: { format: 'age-v1', recipients: [...fps] } } : undefined);
  }

  /** A job changed backup `backupBk` (null: several): its off-host metadata follows, if it has any yet. */
  refreshMetadata(backupBk: string | null): void {
    void this.opts.mirror.mirrorTo(this.opts.metadata, backupBk, { onlyExisting: true });
    // Backups whose home is the off-host repository (storage type S3) are described there from the start.
    void this.opts.mirror.mirrorHome(this.opts.metadata, backupBk);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.reading?.destroy(new Error('the agent is stopping'));
    await this.running;
  }

  /** A local file to upload, destroyed on stop(). */
  private open(path: string): ReadStream {
    const r = createReadStream(path);
    this.reading = r;
    r.once('close', () => {
      if (this.reading === r) this.reading = undefined;
    });
    return r;
  }

  /** One pass at a time; a request during a pass gets one more pass after it. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const loop = async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.stopped);
    };
    this.running = loop().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Runs one step; `fn` resolves to whether it did any work (only work proves a problem gone). */
  private async step(name: string, fn: () => Promise<boolean>): Promise<void> {
    try {
      if ((await fn()) && this.problems.delete(name)) this.opts.log('info', `repository copies: ${name} works again`);
    } catch (e) {
      const text = oneLine(e);
      if (this.problems.get(name) !== text) this.opts.log('warn', `repository copies: ${name} failed: ${text}`);
      this.problems.set(name, text);
    }
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    await this.step('reporting repositories', () => this.reportRepositories());
    await this.step('copying backups', () => this.copyDue());
    await this.step('expiring copies', () => this.expireCopies());
    if (this.walBehind || this.passes++ % WAL_EVERY_PASSES === 0) {
      await this.step('catching up WAL', () => this.catchUpWal());
      // Restore points (the metadata of backups follows each copy).
      if (!this.stopped && !this.problems.has('catching up WAL')) {
        await this.opts.mirror.mirrorTo(this.opts.metadata, undefined);
        // Repairs what a job's refresh could not write (S3 down at the time).
        await this.opts.mirror.mirrorHome(this.opts.metadata, null);
      }
    }
  }

  /** s3://bucket/prefix, without the backend's trailing slash. */
  private get location(): string {
    return this.opts.store.location.replace(/\/+$/, '');
  }

  private async reportRepositories(): Promise<boolean> {
    const { store } = this.opts;
    await this.opts.sql.reportRepositories([
      { name: 'local', storage_type: 'LOCAL', location: this.opts.repositoryRoot, encryption: null },
      { name: 's3', storage_type: 'S3', location: this.location, encryption: store.encryption ? { format: 'age-v1', fingerprints: store.encryption.fingerprints } : null },
    ]);
    return true;
  }

  /** The backup's key prefix: its directory relative to the repository root, as the metadata's `path`. */
  private async prefixOf(bk: string, repositoryPath: string): Promise<string> {
    const dir = await resolveInsideRoot(this.opts.repositoryRoot, repositoryPath);
    const prefix = relative(this.opts.repositoryRoot, dir).split(sep).join('/');
    if (!isValidKey(prefix) || !prefix.endsWith(`/${bk}`)) throw new Error(`backup ${bk}: ${repositoryPath} is not a backup directory of ${this.opts.repositoryRoot}`);
    return prefix;
  }

  /** Copies due backups one by one; stops at the first failure (the repository is probably down). */
  private async copyDue(): Promise<boolean> {
    let copied = false;
    while (!this.stopped) {
      const claim = await this.opts.sql.claim('s3');
      if (!claim) break;
      try {
        await this.copyOne(claim);
        copied = true;
      } catch (e) {
        const reason = oneLine(e);
        await this.opts.sql.report('s3', claim.backup_bk, 'FAILED', { reason });
        throw new Error(`backup ${claim.backup_bk} (attempt ${claim.attempt}): ${reason}`);
      }
    }
    return copied;
  }

  private async copyOne(claim: CopyClaim): Promise<void> {
    const { store, log } = this.opts;
    const started = Date.now();
    const files = filesOf(claim.backup_bk, claim.stored_files);
    const prefix = await this.prefixOf(claim.backup_bk, claim.repository_path);
    let bytes = 0;
    for (const f of files) {
      const key = `${prefix}/${f.name}`;
      const local = await resolveInsideRoot(this.opts.repositoryRoot, join(claim.repository_path, f.name));
      const put = await store.put(key, this.open(local));
      if (put.sha256 !== f.sha256 || (f.bytes !== undefined && put.bytes !== f.bytes)) {
        await store.delete(key).catch(() => {});
        throw new Error(`${f.name}: read ${put.bytes} bytes with SHA-256 ${put.sha256}; the catalog stored ${f.bytes ?? '?'} bytes with ${f.sha256}`);
      }
      bytes += put.bytes;
    }
    // Every object there before the catalog says so.
    for (const f of files) {
      if (!(await store.exists(`${prefix}/${f.name}`))) throw new Error(`${prefix}/${f.name} is not in ${this.location} after it was stored`);
    }
    // Its metadata beside it (the objects are all there), then the catalog.
    await this.ensureFormat();
    await this.opts.mirror.mirrorTo(this.opts.metadata, claim.backup_bk);
    await this.opts.sql.report('s3', claim.backup_bk, 'COPIED', { bytes, objects: files.length, location: `${this.location}/${prefix}` });
    log('info', `copied backup ${claim.backup_bk} to ${this.location} (${files.length} object(s), ${bytes} bytes, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }

  private async expireCopies(): Promise<boolean> {
    let n = 0;
    for (const e of await this.opts.sql.expirePlan('s3')) {
      if (this.stopped) return n > 0;
      await this.expireOffsite(e);
      n++;
    }
    for (const e of await this.opts.sql.expirePlan('local')) {
      if (this.stopped) return n > 0;
      const prefix = await this.prefixOf(e.backup_bk, e.repository_path);
      await rm(join(this.opts.repositoryRoot, ...prefix.split('/')), { recursive: true, force: true });
      await this.opts.sql.report('local', e.backup_bk, 'EXPIRED', { reason: e.reason });
      this.opts.log('info', `removed the local copy of backup ${e.backup_bk}; it is kept in ${this.location} (${e.reason})`);
      n++;
    }
    return n > 0;
  }

  private async expireOffsite(e: CopyExpiry): Promise<void> {
    const prefix = await this.prefixOf(e.backup_bk, e.repository_path);
    for (const f of e.stored_files) {
      if (typeof f.name === 'string' && FILE_NAME_RE.test(f.name)) await this.opts.store.delete(`${prefix}/${f.name}`);
    }
    // The off-host metadata says EXPIRED (as the catalog does) before the copy is: a disaster recovery from there will not plan on it.
    await this.opts.mirror.mirrorTo(this.opts.metadata, e.backup_bk);
    await this.opts.sql.report('s3', e.backup_bk, 'EXPIRED', { reason: e.reason });
    this.opts.log('info', `deleted backup ${e.backup_bk} from ${this.location} (${e.reason})`);
  }

  /** Deletes off-host WAL that retention purged locally (the backup-wide rule: no kept backup needs it). */
  private async purgeWal(localKeys: ReadonlySet<string>, remote: readonly OffsiteArchivedWal[], known: Set<string>): Promise<void> {
    const byName = new Map<string, string[]>();
    for (const w of remote) if (!localKeys.has(w.key)) byName.set(w.fileName, [...(byName.get(w.fileName) ?? []), w.key]);
    if (byName.size === 0) return;
    const purged = await this.opts.sql.walPurged(this.opts.systemIdentifier, [...byName.keys()]);
    for (const name of purged) {
      for (const key of byName.get(name) ?? []) {
        await this.opts.store.delete(key);
        known.delete(key);
      }
    }
    if (purged.length > 0) this.opts.log('info', `deleted ${purged.length} WAL file(s) retention purged from ${this.location}`);
  }

  /** Puts the local WAL the off-host repository lacks; reports how much it lacks. */
  private async catchUpWal(): Promise<boolean> {
    const { store, systemIdentifier: sysid, sql } = this.opts;
    // .partial snapshots are the streaming receiver's: it keeps one version off-host and replaces it itself.
    const local = (await listArchivedWal({ repo: this.opts.repositoryRoot, systemIdentifier: sysid }))
      .filter((w) => w.kind !== 'partial')
      .map((w) => ({ key: walKey(sysid, w.fileName, w.sha256), path: w.storedPath }))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    let remote: Set<string>;
    try {
      const listed = await listArchivedWalOffsite(store, sysid);
      remote = new Set(listed.map((w) => w.key));
      this.walKnown = remote;
      await this.purgeWal(new Set(local.map((w) => w.key)), listed, remote);
    } catch (e) {
      this.walBehind = true;
      // Unreachable: what was not there at the last listing is behind.
      await sql.reportWalBehind('s3', local.filter((w) => !this.walKnown?.has(w.key)).length);
      throw e;
    }
    const missing = local.filter((w) => !remote.has(w.key));
    await sql.reportWalBehind('s3', missing.length);
    this.walBehind = missing.length > 0;
    if (missing.length === 0) return true;
    let done = 0;
    try {
      for (const w of missing) {
        if (this.stopped) break;
        await store.put(w.key, this.open(w.path));
        remote.add(w.key);
        done++;
      }
    } finally {
      this.walBehind = done < missing.length;
      await sql.reportWalBehind('s3', missing.length - done);
    }
    if (done > 0) this.opts.log('info', `copied ${done} WAL file(s) the off-host repository lacked to ${this.location}`);
    return true;
  }
}
