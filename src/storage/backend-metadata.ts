// The repository's metadata (repo-metadata.ts) on any storage backend, for
// the off-host copy: the same keys as the local directory, stored as plain
// JSON (metadata holds no data, and a repository must describe itself without
// a key). The format file records how the data objects are encrypted, by
// fingerprint.
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { z } from 'zod';
import { StorageError, type StorageBackend } from './backends/types.js';
import { assertBackupBk, backupsDir, systemDir } from './layout.js';
import {
  BackupMetadata,
  FORMAT_FILE,
  FormatFile,
  RecoveryRecord,
  REPOSITORY_FORMAT,
  RepositoryFormatError,
  RestorePointMetadata,
  type RepositoryMetadataStore,
} from './repo-metadata.js';

const META_SUFFIX = '.json';

export interface MetadataEncryption {
  format: 'age-v1';
  recipients: readonly string[];
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export class BackendMetadataStore implements RepositoryMetadataStore {
  constructor(
    private readonly backend: StorageBackend,
    /** Recorded in the format file when this store creates it. */
    private readonly encryption?: MetadataEncryption,
  ) {}

  get location(): string {
    return this.backend.location;
  }

  resolve(relativePath: string): string {
    return `${this.location.replace(/\/+$/, '')}/${relativePath}`;
  }

  private async read<T>(schema: z.ZodType<T>, key: string): Promise<T | undefined> {
    let body: string;
    try {
      body = await text(await this.backend.get(key));
    } catch (e) {
      if (e instanceof StorageError && e.code === 'not_found') return undefined;
      throw e;
    }
    let v: unknown;
    try {
      v = JSON.parse(body);
    } catch (e) {
      throw new RepositoryFormatError(`${this.resolve(key)} is not valid JSON: ${(e as Error).message}`);
    }
    const r = schema.safeParse(v);
    if (!r.success) throw new RepositoryFormatError(`${this.resolve(key)} is not a valid metadata file: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
    return r.data;
  }

  private async write(key: string, value: unknown): Promise<void> {
    await this.backend.put(key, Readable.from([Buffer.from(json(value))]));
  }

  /** Every `<dir>/<name>.json` directly inside `dir`, parsed, in name order. */
  private async readAll<T>(schema: z.ZodType<T>, dir: string): Promise<T[]> {
    const keys: string[] = [];
    for await (const o of this.backend.list(`${dir}/`)) {
      const rest = o.key.slice(dir.length + 1);
      if (rest.endsWith(META_SUFFIX) && !rest.includes('/')) keys.push(o.key);
    }
    const out: T[] = [];
    for (const key of keys.sort()) {
      const v = await this.read(schema, key);
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  async readFormat(): Promise<number | undefined> {
    return (await this.read(FormatFile, FORMAT_FILE))?.format;
  }

  async assertReadable(): Promise<void> {
    const format = await this.readFormat();
    if (format !== undefined && format > REPOSITORY_FORMAT) {
      throw new RepositoryFormatError(`repository ${this.location} has format ${format}, newer than this backup-mgmt reads (${REPOSITORY_FORMAT}): upgrade backup-mgmt`);
    }
  }

  async ensureFormat(): Promise<void> {
    await this.assertReadable();
    if ((await this.readFormat()) !== undefined) return;
    await this.write(FORMAT_FILE, {
      format: REPOSITORY_FORMAT,
      created_at: new Date().toISOString(),
      written_by: 'backup-mgmt',
      ...(this.encryption ? { encryption: { format: this.encryption.format, recipients: [...this.encryption.recipients] } } : {}),
    });
  }

  listBackups(sysid: string): Promise<BackupMetadata[]> {
    return this.readAll(BackupMetadata, backupsDir('', sysid));
  }

  readBackup(sysid: string, backupBk: string): Promise<BackupMetadata | undefined> {
    assertBackupBk(backupBk);
    return this.read(BackupMetadata, `${backupsDir('', sysid)}/${backupBk}${META_SUFFIX}`);
  }

  async writeBackup(meta: BackupMetadata): Promise<void> {
    assertBackupBk(meta.backup_bk);
    await this.write(`${backupsDir('', meta.system_identifier)}/${meta.backup_bk}${META_SUFFIX}`, meta);
  }

  listRestorePoints(sysid: string): Promise<RestorePointMetadata[]> {
    return this.readAll(RestorePointMetadata, `${systemDir('', sysid)}/restore_points`);
  }

  async writeRestorePoint(point: RestorePointMetadata): Promise<void> {
    const p = RestorePointMetadata.parse(point);
    await this.write(`${systemDir('', p.system_identifier)}/restore_points/${p.name}${META_SUFFIX}`, p);
  }

  listRecoveries(sysid: string): Promise<RecoveryRecord[]> {
    return this.readAll(RecoveryRecord, `${systemDir('', sysid)}/recoveries`);
  }

  async writeRecovery(record: RecoveryRecord): Promise<void> {
    const r = RecoveryRecord.parse(record);
    await this.write(`${systemDir('', r.system_identifier)}/recoveries/${r.recovery_bk}${META_SUFFIX}`, r);
  }
}
