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
// Access goes through RepositoryMetadataStore; LocalMetadataStore is the
// local-directory implementation (an object-store one can replace it).
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
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

export const FormatFile = z.object({ format: z.number().int().positive() }).passthrough();

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
  /** Writes the format file if missing; refuses a repository of a newer format. */
  ensureFormat(): Promise<void>;
  /** Throws RepositoryFormatError for a repository this code cannot read. */
  assertReadable(): Promise<void>;
  listBackups(sysid: string): Promise<BackupMetadata[]>;
  readBackup(sysid: string, backupBk: string): Promise<BackupMetadata | undefined>;
  writeBackup(meta: BackupMetadata): Promise<void>;
  listRestorePoints(sysid: string): Promise<RestorePointMetadata[]>;
  writeRestorePoint(point: RestorePointMetadata): Promise<void>;
  listRecoveries(sysid: string): Promise<RecoveryRecord[]>;
  writeRecovery(record: RecoveryRecord): Promise<void>;
  /** Absolute location of a relative path (a backup's `path`). */
  resolve(relativePath: string): string;
}

async function readJson(path: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RepositoryFormatError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function parsed<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new RepositoryFormatError(`${path} is not a valid metadata file: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
  return r.data;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** A repository in a local (or mounted) directory. */
export class LocalMetadataStore implements RepositoryMetadataStore {
  constructor(readonly location: string) {}

  resolve(relativePath: string): string {
    return join(this.location, relativePath);
  }

  async readFormat(): Promise<number | undefined> {
    const path = join(this.location, FORMAT_FILE);
    const v = await readJson(path);
    return v === undefined ? undefined : parsed(FormatFile, v, path).format;
  }

  async assertReadable(): Promise<void> {
    const format = await this.readFormat();
    if (format !== undefined && format > REPOSITORY_FORMAT) {
      throw new RepositoryFormatError(
        `repository ${this.location} has format ${format}, newer than this backup-mgmt reads (${REPOSITORY_FORMAT}): upgrade backup-mgmt`,
      );
    }
  }

  async ensureFormat(): Promise<void> {
    await this.assertReadable();
    if ((await this.readFormat()) !== undefined) return;
    await writeFileAtomic(join(this.location, FORMAT_FILE), json({ format: REPOSITORY_FORMAT, created_at: new Date().toISOString(), written_by: 'backup-mgmt' }));
  }

  private backupPath(sysid: string, backupBk: string): string {
    assertBackupBk(backupBk);
    return join(backupsDir(this.location, sysid), `${backupBk}${META_SUFFIX}`);
  }

  async listBackups(sysid: string): Promise<BackupMetadata[]> {
    const dir = backupsDir(this.location, sysid);
    const out: BackupMetadata[] = [];
    for (const name of (await readdirOrEmpty(dir)).sort()) {
      if (!name.endsWith(META_SUFFIX) || name.startsWith('.')) continue;
      const path = join(dir, name);
      const v = await readJson(path);
      if (v !== undefined) out.push(parsed(BackupMetadata, v, path));
    }
    return out;
  }

  async readBackup(sysid: string, backupBk: string): Promise<BackupMetadata | undefined> {
    const path = this.backupPath(sysid, backupBk);
    const v = await readJson(path);
    return v === undefined ? undefined : parsed(BackupMetadata, v, path);
  }

  async writeBackup(meta: BackupMetadata): Promise<void> {
    const path = this.backupPath(meta.system_identifier, meta.backup_bk);
    await mkdirDurable(backupsDir(this.location, meta.system_identifier));
    await writeFileAtomic(path, json(meta));
  }

  async listRestorePoints(sysid: string): Promise<RestorePointMetadata[]> {
    const dir = join(systemDir(this.location, sysid), RESTORE_POINTS_DIR);
    const out: RestorePointMetadata[] = [];
    for (const name of (await readdirOrEmpty(dir)).sort()) {
      if (!name.endsWith(META_SUFFIX) || name.startsWith('.')) continue;
      const path = join(dir, name);
      const v = await readJson(path);
      if (v !== undefined) out.push(parsed(RestorePointMetadata, v, path));
    }
    return out;
  }

  async writeRestorePoint(point: RestorePointMetadata): Promise<void> {
    if (!RESTORE_POINT_RE.test(point.name)) throw new Error(`invalid restore point name ${JSON.stringify(point.name)}`);
    const dir = join(systemDir(this.location, point.system_identifier), RESTORE_POINTS_DIR);
    await mkdirDurable(dir);
    await writeFileAtomic(join(dir, `${point.name}${META_SUFFIX}`), json(point));
  }

  async listRecoveries(sysid: string): Promise<RecoveryRecord[]> {
    const dir = join(systemDir(this.location, sysid), RECOVERIES_DIR);
    const out: RecoveryRecord[] = [];
    for (const name of (await readdirOrEmpty(dir)).sort()) {
      if (!name.endsWith(META_SUFFIX) || name.startsWith('.')) continue;
      const path = join(dir, name);
      const v = await readJson(path);
      if (v !== undefined) out.push(parsed(RecoveryRecord, v, path));
    }
    return out;
  }

  async writeRecovery(record: RecoveryRecord): Promise<void> {
    if (!RECOVERY_BK_RE.test(record.recovery_bk)) throw new Error(`invalid recovery key ${JSON.stringify(record.recovery_bk)}`);
    const dir = join(systemDir(this.location, record.system_identifier), RECOVERIES_DIR);
    await mkdirDurable(dir);
    await writeFileAtomic(join(dir, `${record.recovery_bk}${META_SUFFIX}`), json(record));
  }

  /** For tests and repair: removes one backup's metadata file. */
  async removeBackup(sysid: string, backupBk: string): Promise<void> {
    await rm(this.backupPath(sysid, backupBk), { force: true });
  }
}

export function openRepository(location: string): RepositoryMetadataStore {
  return new LocalMetadataStore(location);
}
