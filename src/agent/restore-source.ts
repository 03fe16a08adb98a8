// Which repository a restore reads its base backup from: the nearest that
// holds it. A backup whose home is the off-host repository
// (repository_path s3://…) is read from there; a local backup whose
// directory is gone is read from the configured off-host repository, and
// the restore says so. Off-host archives stream, decrypted and
// authenticated, straight into extraction; only the small backup_manifest is
// copied to a scratch file when pg_verifybackup needs it.
import { existsSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BackupArchives } from '../storage/extract.js';
import { backupDir, MANIFEST_NAME } from '../storage/layout.js';
import { offsiteConfig } from '../storage/offsite/config.js';
import { assertCanDecrypt, backupKey, openOffsiteReader, sealedBackupArchives, splitBackupLocation, type OffsiteReader } from '../storage/offsite/repository.js';
import { findArchives } from '../storage/verify-common.js';
import { JobFailure } from './job-context.js';
import { errorText } from './log.js';
import type { RestorePlan } from './protocol.js';

export interface BackupSource {
  /** The repository that serves the backup: 'local' or 's3' (the catalog's names). */
  repository: 'local' | 's3';
  /** The backup's directory or object prefix. */
  location: string;
  /** For the log and the recovery's result: where from, and why there. */
  detail: string;
  /** What extractBackup reads. */
  archives: string | BackupArchives;
  /** backup_manifest as a local file (a scratch copy for an off-host backup). */
  manifestPath(): Promise<string>;
  /** Removes the scratch copy, if any. */
  dispose(): Promise<void>;
}

/** The directory holds a base archive without layout problems. */
async function localUsable(dir: string): Promise<boolean> {
  if (!existsSync(dir)) return false;
  try {
    const { archives, problems } = await findArchives(dir);
    return problems.length === 0 && archives.some((a) => a.role === 'base');
  } catch {
    return false;
  }
}

function localSource(dir: string): BackupSource {
  return {
    repository: 'local',
    location: dir,
    detail: `local ${dir}`,
    archives: dir,
    manifestPath: async () => join(dir, MANIFEST_NAME),
    dispose: async () => {},
  };
}

async function offsiteSource(reader: OffsiteReader, key: string, detail: string): Promise<BackupSource | undefined> {
  const archives = await sealedBackupArchives(reader.store, key);
  if (!archives.archives.some((a) => a.role === 'base')) return undefined;
  if (archives.problems.length) throw new JobFailure(`backup in ${archives.location}: ${archives.problems.join('; ')}`);
  // The key now, with one line naming the fingerprint, rather than mid-extraction.
  assertCanDecrypt(reader);
  let scratch: string | undefined;
  return {
    repository: 's3',
    location: archives.location,
    detail,
    archives,
    async manifestPath() {
      scratch ??= await mkdtemp(join(tmpdir(), 'bm-restore-manifest-'));
      const path = join(scratch, MANIFEST_NAME);
      if (!existsSync(path)) await pipeline(await reader.store.get(`${key}/${MANIFEST_NAME}`), createWriteStream(path, { mode: 0o600 }));
      return path;
    },
    async dispose() {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** Storage and key errors are the restore's final answer, in one line. */
async function oneLine<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof JobFailure) throw e;
    throw new JobFailure(`${what}: ${errorText(e).split('\n')[0]}`);
  }
}

/**
 * `localRepo`: the agent's repository, nearer than S3 for a backup whose home
 * is S3 when a copy of it is there (repository copies).
 */
export async function locateBackup(base: RestorePlan['base'], env: NodeJS.ProcessEnv = process.env, localRepo?: string): Promise<BackupSource> {
  const path = base.repository_path;
  if (path.startsWith('s3://')) {
    const at = splitBackupLocation(path);
    if (!at || at.sysid !== base.system_identifier || at.backupBk !== base.backup_bk) {
      throw new JobFailure(`backup ${base.backup_bk}: ${path} is not <repository>/${base.system_identifier}/backups/${base.backup_bk}`);
    }
    const copy = localRepo && backupDir(localRepo, at.sysid, at.backupBk);
    if (copy && (await localUsable(copy))) return { ...localSource(copy), detail: `local copy of ${path}: ${copy}` };
    const found = await oneLine(`reading backup ${base.backup_bk} from ${path}`, async () =>
      offsiteSource(await openOffsiteReader(at.root, env), backupKey(at.sysid, at.backupBk), `s3 ${path}`),
    );
    if (!found) throw new JobFailure(`the files of backup ${base.backup_bk} are missing from ${path}`);
    return found;
  }
  if (await localUsable(path)) return localSource(path);
  const cfg = await oneLine('off-host repository', async () => offsiteConfig(env));
  if (!cfg) throw new JobFailure(`the files of backup ${base.backup_bk} are missing from ${path}, and no off-host repository is configured (BACKUP_MGMT_REPO_S3)`);
  const key = backupKey(base.system_identifier, base.backup_bk);
  const found = await oneLine(`reading backup ${base.backup_bk} from ${cfg.location}`, async () =>
    offsiteSource(await openOffsiteReader(cfg.location, env), key, `local copy missing, fell back to ${cfg.location}/${key}`),
  );
  if (!found) throw new JobFailure(`the files of backup ${base.backup_bk} are missing from ${path} and from ${cfg.location}/${key}`);
  return found;
}
