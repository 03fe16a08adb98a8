// Reading an off-host repository (s3://bucket/prefix): its metadata (plain
// JSON), its encrypted objects, and the key to open them. The key's
// fingerprints come from the repository's own format file, so a restore on a
// new host needs no more than the location and the private key; a missing
// or wrong key is refused with one line naming the key expected, before
// anything is read or written.
import { openBackend } from '../backends/index.js';
import { backupDir } from '../layout.js';
import { BackendMetadataFiles, MetadataStore } from '../repo-metadata.js';
import { classifyArchives } from '../verify-common.js';
import type { BackupArchives } from '../extract.js';
import { decryptionOnly, IDENTITY_FILE_ENV, offsiteConfig, OffsiteConfigError, type Encryption } from './config.js';
import { SealedStore } from './sealed.js';

export interface OffsiteReader {
  location: string;
  metadata: MetadataStore;
  store: SealedStore;
  /** The key fingerprints the repository is encrypted to. */
  fingerprints: readonly string[];
}

/**
 * The repository at `location` for reading. The fingerprints are the format
 * file's; when it has none (a repository whose metadata was not written yet),
 * the configured recipients' (BACKUP_MGMT_ENCRYPT_RECIPIENT) for the same location.
 */
export async function openOffsiteReader(location: string, env: NodeJS.ProcessEnv = process.env): Promise<OffsiteReader> {
  const root = location.replace(/\/+$/, '');
  const backend = await openBackend(root);
  const metadata = new MetadataStore(new BackendMetadataFiles(root, backend));
  await metadata.assertReadable();
  const format = await metadata.readFormatFile();
  let fingerprints: readonly string[] | undefined = format?.encryption?.recipients;
  let encryption: Encryption | undefined;
  // Reading needs no recipient: a half-configured host may still restore from a repository that names its key.
  const configured = fingerprints ? undefined : offsiteConfig(env);
  if (configured && configured.location === root) {
    fingerprints = configured.encryption.fingerprints;
    encryption = configured.encryption;
  } else if (fingerprints) {
    encryption = decryptionOnly(fingerprints, env);
  }
  if (!encryption || !fingerprints) {
    throw new OffsiteConfigError(`${root} names no encryption key in its format file, and it is not the configured BACKUP_MGMT_REPO_S3: cannot tell which key opens it`);
  }
  return { location: root, metadata, store: new SealedStore(backend, encryption), fingerprints };
}

/**
 * Loads the private key now and checks it is one the repository is encrypted
 * to: a one-line OffsiteConfigError naming the expected fingerprint otherwise.
 */
export function assertCanDecrypt(reader: Pick<OffsiteReader, 'store' | 'fingerprints' | 'location'>, env: NodeJS.ProcessEnv = process.env): void {
  const ids = reader.store.encryption?.identities() ?? [];
  if (ids.some((id) => reader.fingerprints.includes(id.fingerprint))) return;
  throw new OffsiteConfigError(
    `wrong key: ${reader.location} is encrypted to ${reader.fingerprints.join(', ')}, the identity in ${env[IDENTITY_FILE_ENV] ?? '(none)'} is ${ids.map((i) => i.fingerprint).join(', ') || 'none'}`,
  );
}

/** The key prefix of a backup's objects. */
export function backupKey(sysid: string, backupBk: string): string {
  return backupDir('', sysid, backupBk);
}

/** `s3://bucket/prefix/<sysid>/backups/<bk>` → the repository root and the backup's key prefix. */
export function splitBackupLocation(path: string): { root: string; sysid: string; backupBk: string } | undefined {
  const m = /^(s3:\/\/.+?)\/([0-9]{1,20})\/backups\/([A-Za-z0-9][A-Za-z0-9._-]{0,199})\/?$/.exec(path);
  return m ? { root: m[1]!, sysid: m[2]!, backupBk: m[3]! } : undefined;
}

/**
 * The archives of a backup in the off-host repository, each streamed and
 * decrypted on demand (for extractBackup): nothing is staged on disk. The
 * sizes are the stored (encrypted) ones, for progress only.
 */
export async function sealedBackupArchives(store: SealedStore, key: string): Promise<BackupArchives & { problems: string[]; names: string[] }> {
  const prefix = `${key}/`;
  const sizes = new Map<string, number>();
  for await (const o of store.list(prefix)) {
    const name = o.key.slice(prefix.length);
    if (name && !name.includes('/')) sizes.set(name, o.size);
  }
  const location = `${store.location.replace(/\/+$/, '')}/${key}`;
  const { archives, problems } = classifyArchives([...sizes.keys()], location);
  for (const a of archives) a.open = () => store.get(`${key}/${a.name}`);
  return { location, archives, sizes: archives.map((a) => sizes.get(a.name) ?? 0), problems, names: [...sizes.keys()] };
}
