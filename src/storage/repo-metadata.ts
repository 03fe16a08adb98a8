// The repository's description of itself (disaster recovery): a format file
// at its root, a metadata file per backup beside the backup's directory,
// restore points and the records of disaster recoveries. Everything needed
// to plan and run a recovery with no catalog lives here, next to the data.
//
//   <repo>/backup_mgmt_repository.json                 {format, created_at, written_by}
//   <repo>/<sysid>/backups/<backupBk>.json             one backup (BackupMetadata)
//   <repo>/<sysid>/restore_points/<name>.json          one restore point
//   <repo>/<sysid>/recoveries/<recoveryBk>.json        one restore made from the repository
//
// Access goes through RepositoryMetadataStore, one class over a small file
// layer (MetadataFiles): a local directory, or any StorageBackend (an
// s3://bucket/prefix repository). The JSON is the same on every backend and
// stored in plain text: it holds no data, and a disaster recovery must read
// it before it has a key. The format file names the encryption's key
// fingerprints (never keys), so a missing key can be named.
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { openBackend } from './backends/index.js';
import { StorageError, type StorageBackend } from './backends/types.js';
import { mkdirDurable, writeFileAtomic } from './fsync.js';
import { assertBackupBk, backupsDir, systemDir } from './layout.js';
import { readdirOrEmpty } from './wal-store.js';

/** The repository format this code reads and writes; a newer one is refused. */
export const REPOSITORY_FORMAT = 1;
export const FORMAT_FILE = 'backup_mgmt_repository.json';
const META_SUFFIX = '.json';
const RESTORE_POINTS_DIR = 'restore_points';
const RECOVERIES_DIR = 'recoveries';
const RESTORE_POINT_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;
const RECOVERY_BK_RE = /^RECOVERY_DISASTER_[0-9]{8}_[0-9]{6}(_[0-9]{6})?$/;

const lsn = z.string().regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/);
const iso = z.string().min(1);

/** How the repository's data files are encrypted: the age format, to these key fingerprints. */
export const RepositoryEncryption = z.object({ format: z.literal('age-v1'), recipients: z.array(z.string().regex(/^[a-z0-9-]+:[0-9a-f]{16,64}$/)).min(1) });
export type RepositoryEncryption = z.infer<typeof RepositoryEncryption>;

export const FormatFile = z.object({ format: z.number().int().positive(), encryption: RepositoryEncryption.optional() }).passthrough();
export type FormatFile = z.infer<typeof FormatFile>;

export const StoredFile = z.object({ name: z.string(), bytes: z.number().nullish(), sha256: z.string().nullish() }).passthrough();

export const BackupMetadata = z
  .object({
    format: z.number().int().positive(),
    backup_hk: z.string().regex(/^[0-9a-f]{64}$/),
    backup_bk: z.string(),
    type: z.enum(['FULL', 'INCREMENTAL', 'DIFFERENTIAL']),
    status: z.string(),
    parent_bk: z.string().nullable(),
    system_identifier: z.string().regex(/^[0-9]{1,20}$/),
    pg_version: z.string().nullable(),
    pg_version_num: z.number().nullable(),
    timeline: z.number().int().nullable(),
    start_lsn: lsn.nullable(),
    stop_lsn: lsn.nullable(),
    start_time: iso.nullable(),
    end_time: iso.nullable(),
    stop_time: iso.nullable(),
    next_xid: z.union([z.number(), z.string()]).nullable(),
    files: z.array(StoredFile).nullable(),
    files_present: z.boolean().nullable(),
    compression: z.string().nullable(),
    verification: z.object({ status: z.string().nullable(), time: iso.nullable(), detail: z.string().nullable() }),
    /** Relative to the repository root: the repository may be mounted elsewhere after a disaster. */
    path: z.string().nullable(),
    catalog_version: iso.nullable(),
    wal_segment_size: z.number().int().positive(),
    tool_versions: z.record(z.string(), z.string().nullable()),
    written_at: iso,
    satellites: z.object({ execution: z.record(z.string(), z.unknown()), lsn: z.record(z.string(), z.unknown()), storage: z.record(z.string(), z.unknown()) }),
  })
  .passthrough();
export type BackupMetadata = z.infer<typeof BackupMetadata>;

export const RestorePointMetadata = z.object({
  name: z.string().regex(RESTORE_POINT_RE),
  lsn,
  timeline: z.number().int().positive(),
  system_identifier: z.string().regex(/^[0-9]{1,20}$/),
  time: iso,
  created_by: z.string().nullable().optional(),
});
export type RestorePointMetadata = z.infer<typeof RestorePointMetadata>;

export const RecoveryRecord = z
  .object({
    recovery_bk: z.string().regex(RECOVERY_BK_RE),
    system_identifier: z.string().regex(/^[0-9]{1,20}$/),
    target_kind: z.string(),
    target_value: z.string().nullable(),
    plan: z.record(z.string(), z.unknown()),
    started_at: iso,
    finished_at: iso.nullable(),
    duration_seconds: z.number().nullable(),
    data_directory: z.string(),
  })
  .passthrough();
export type RecoveryRecord = z.infer<typeof RecoveryRecord>;

export class RepositoryFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepositoryFormatError';
  }
}

/** What disaster recovery needs to read and write in a repository, whatever holds it. */
export interface RepositoryMetadataStore {
  readonly location: string;
  /** The format file's version; undefined when the repository has none yet. */
  readFormat(): Promise<number | undefined>;
  /** The whole format file (with its encryption), undefined when there is none. */
  readFormatFile(): Promise<FormatFile | undefined>;
  /**
   * Writes the format file if missing; refuses a repository of a newer format.
   * With `encryption`, its fingerprints are added to the file's (a repository
   * written over a key rotation names every key it holds data for).
   */
  ensureFormat(opts?: { encryption?: RepositoryEncryption }): Promise<void>;
  /** Throws RepositoryFormatError for a repository this code cannot read. */
  assertReadable(): Promise<void>;
  listBackups(sysid: string): Promise<BackupMetadata[]>;
  readBackup(sysid: string, backupBk: string): Promise<BackupMetadata | undefined>;
  writeBackup(meta: BackupMetadata): Promise<void>;
  listRestorePoints(sysid: string): Promise<RestorePointMetadata[]>;
  writeRestorePoint(point: RestorePointMetadata): Promise<void>;
  listRecoveries(sysid: string): Promise<RecoveryRecord[]>;
  writeRecovery(record: RecoveryRecord): Promise<void>;
  /** Absolute location of a relative path (a backup's `path`): a directory, or s3://bucket/prefix/…. */
  resolve(relativePath: string): string;
}

/**
 * The file operations the metadata needs, relative to the repository root
 * ('/'-separated). A write replaces the whole file atomically.
 */
export interface MetadataFiles {
  readonly location: string;
  /** The text, or undefined when absent. */
  read(rel: string): Promise<string | undefined>;
  write(rel: string, text: string): Promise<void>;
  /** Names directly inside the directory `rel` (none when it does not exist). */
  list(rel: string): Promise<string[]>;
  remove(rel: string): Promise<void>;
  resolve(rel: string): string;
}

/** A local (or mounted) directory: atomic, durable writes. */
export class LocalMetadataFiles implements MetadataFiles {
  constructor(readonly location: string) {}

  resolve(rel: string): string {
    return join(this.location, rel);
  }

  async read(rel: string): Promise<string | undefined> {
    try {
      return await readFile(this.resolve(rel), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async write(rel: string, text: string): Promise<void> {
    const path = this.resolve(rel);
    await mkdirDurable(dirname(path));
    await writeFileAtomic(path, text);
  }

  list(rel: string): Promise<string[]> {
    return readdirOrEmpty(this.resolve(rel));
  }

  async remove(rel: string): Promise<void> {
    await rm(this.resolve(rel), { force: true });
  }
}

/** Metadata files are small: more than this is not ours. */
const MAX_METADATA_BYTES = 16 << 20;

/** Any storage backend (s3://bucket/prefix); opened on first use, the SDK loads lazily. */
export class BackendMetadataFiles implements MetadataFiles {
  private opened?: Promise<StorageBackend>;

  constructor(
    readonly location: string,
    backend?: StorageBackend,
  ) {
    if (backend) this.opened = Promise.resolve(backend);
  }

  private backend(): Promise<StorageBackend> {
    return (this.opened ??= openBackend(this.location));
  }

  resolve(rel: string): string {
    return `${this.location.replace(/\/+$/, '')}/${rel}`;
  }

  async read(rel: string): Promise<string | undefined> {
    const b = await this.backend();
    let stream: Readable;
    try {
      stream = await b.get(rel);
    } catch (e) {
      if (e instanceof StorageError && e.code === 'not_found') return undefined;
      throw e;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const c of stream) {
      bytes += (c as Buffer).length;
      if (bytes > MAX_METADATA_BYTES) {
        stream.destroy();
        throw new RepositoryFormatError(`${this.resolve(rel)} is larger than ${MAX_METADATA_BYTES} bytes: not a metadata file`);
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async write(rel: string, text: string): Promise<void> {
    await (await this.backend()).put(rel, Readable.from([Buffer.from(text, 'utf8')]));
  }

  async list(rel: string): Promise<string[]> {
    const prefix = `${rel}/`;
    const out: string[] = [];
    for await (const o of (await this.backend()).list(prefix)) {
      const name = o.key.slice(prefix.length);
      if (name !== '' && !name.includes('/')) out.push(name);
    }
    return out;
  }

  async remove(rel: string): Promise<void> {
    await (await this.backend()).delete(rel);
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RepositoryFormatError(`${where} is not valid JSON: ${(e as Error).message}`);
  }
}

function parsed<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new RepositoryFormatError(`${path} is not a valid metadata file: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
  return r.data;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
const rel = (...parts: string[]) => parts.join('/');

/** The repository's metadata, on whatever MetadataFiles holds it. */
export class MetadataStore implements RepositoryMetadataStore {
  constructor(readonly files: MetadataFiles) {}

  get location(): string {
    return this.files.location;
  }

  resolve(relativePath: string): string {
    return this.files.resolve(relativePath);
  }

  private async readParsed<T>(schema: z.ZodType<T>, path: string): Promise<T | undefined> {
    const text = await this.files.read(path);
    return text === undefined ? undefined : parsed(schema, parseJson(text, this.resolve(path)), this.resolve(path));
  }

  private async listParsed<T>(schema: z.ZodType<T>, dir: string): Promise<T[]> {
    const out: T[] = [];
    for (const name of (await this.files.list(dir)).sort()) {
      if (!name.endsWith(META_SUFFIX) || name.startsWith('.')) continue;
      const v = await this.readParsed(schema, rel(dir, name));
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  readFormatFile(): Promise<FormatFile | undefined> {
    return this.readParsed(FormatFile, FORMAT_FILE);
  }

  async readFormat(): Promise<number | undefined> {
    return (await this.readFormatFile())?.format;
  }

  async assertReadable(): Promise<void> {
    const format = await this.readFormat();
    if (format !== undefined && format > REPOSITORY_FORMAT) {
      throw new RepositoryFormatError(
        `repository ${this.location} has format ${format}, newer than this backup-mgmt reads (${REPOSITORY_FORMAT}): upgrade backup-mgmt`,
      );
    }
  }

  async ensureFormat(opts: { encryption?: RepositoryEncryption } = {}): Promise<void> {
    await this.assertReadable();
    const current = await this.readFormatFile();
    const want = opts.encryption;
    if (current !== undefined) {
      if (!want) return;
      const have = current.encryption?.recipients ?? [];
      const added = want.recipients.filter((r) => !have.includes(r));
      if (added.length === 0) return;
      await this.files.write(FORMAT_FILE, json({ ...current, encryption: { format: want.format, recipients: [...have, ...added] } }));
      return;
    }
    await this.files.write(
      FORMAT_FILE,
      json({ format: REPOSITORY_FORMAT, created_at: new Date().toISOString(), written_by: 'backup-mgmt', ...(want ? { encryption: want } : {}) }),
    );
  }

  private backupPath(sysid: string, backupBk: string): string {
    assertBackupBk(backupBk);
    return rel(backupsDir('', sysid), `${backupBk}${META_SUFFIX}`);
  }

  listBackups(sysid: string): Promise<BackupMetadata[]> {
    return this.listParsed(BackupMetadata, backupsDir('', sysid));
  }

  readBackup(sysid: string, backupBk: string): Promise<BackupMetadata | undefined> {
    return this.readParsed(BackupMetadata, this.backupPath(sysid, backupBk));
  }

  async writeBackup(meta: BackupMetadata): Promise<void> {
    await this.files.write(this.backupPath(meta.system_identifier, meta.backup_bk), json(meta));
  }

  listRestorePoints(sysid: string): Promise<RestorePointMetadata[]> {
    return this.listParsed(RestorePointMetadata, rel(systemDir('', sysid), RESTORE_POINTS_DIR));
  }

  async writeRestorePoint(point: RestorePointMetadata): Promise<void> {
    if (!RESTORE_POINT_RE.test(point.name)) throw new Error(`invalid restore point name ${JSON.stringify(point.name)}`);
    await this.files.write(rel(systemDir('', point.system_identifier), RESTORE_POINTS_DIR, `${point.name}${META_SUFFIX}`), json(point));
  }

  listRecoveries(sysid: string): Promise<RecoveryRecord[]> {
    return this.listParsed(RecoveryRecord, rel(systemDir('', sysid), RECOVERIES_DIR));
  }

  async writeRecovery(record: RecoveryRecord): Promise<void> {
    if (!RECOVERY_BK_RE.test(record.recovery_bk)) throw new Error(`invalid recovery key ${JSON.stringify(record.recovery_bk)}`);
    await this.files.write(rel(systemDir('', record.system_identifier), RECOVERIES_DIR, `${record.recovery_bk}${META_SUFFIX}`), json(record));
  }

  /** For tests and repair: removes one backup's metadata file. */
  async removeBackup(sysid: string, backupBk: string): Promise<void> {
    await this.files.remove(this.backupPath(sysid, backupBk));
  }
}

/** A repository in a local (or mounted) directory. */
export class LocalMetadataStore extends MetadataStore {
  constructor(location: string) {
    super(new LocalMetadataFiles(location));
  }
}

/** Whether a repository location is object storage rather than a directory. */
export function isObjectStoreLocation(location: string): boolean {
  return location.startsWith('s3://');
}

/**
 * The metadata of the repository at `location`: an absolute directory or
 * s3://bucket/prefix (whose backend, and the AWS SDK, open on first use).
 */
export function openRepository(location: string): MetadataStore {
  if (isObjectStoreLocation(location)) return new MetadataStore(new BackendMetadataFiles(location.replace(/\/+$/, '')));
  return new LocalMetadataStore(location);
}
