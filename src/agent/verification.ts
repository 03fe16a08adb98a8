// Verify a stored backup with storage's streaming check and phrase the
// outcome for the catalog: VERIFIED with what was checked, or FAILED naming
// every file that is wrong.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stagingRoot } from '../storage/layout.js';
import { systemIdentifierFromBackupPath } from '../storage/verify-common.js';
import type { SealedStore } from '../storage/offsite/sealed.js';
import type { VerifyResult } from '../storage/verify-common.js';
import { verifySealedBackup } from '../storage/verify-sealed.js';
import { verifyStoredBackup } from '../storage/verify-tar.js';
import type { Verification } from './protocol.js';

const MAX_DETAIL = 4000;

export interface VerifyOptions {
  pgBinDir?: string;
  onProgress?: (bytes: number) => void;
}

/** Where pg_waldump's temporary copy of the WAL goes: the repository's staging area, same filesystem. */
async function walTmpParent(backupPath: string): Promise<string | undefined> {
  const sysid = systemIdentifierFromBackupPath(backupPath);
  if (!sysid) return undefined;
  const dir = stagingRoot(dirname(dirname(dirname(backupPath))), sysid);
  try {
    await mkdir(dir, { recursive: true });
    return dir;
  } catch {
    // A read-only repository can still be verified; the OS temp dir will do.
    return undefined;
  }
}

export async function verifyBackupDir(backupPath: string, opts: VerifyOptions = {}): Promise<Verification> {
  return phrased(async () =>
    verifyStoredBackup(backupPath, {
      onProgress: opts.onProgress,
      pgBinDir: opts.pgBinDir,
      tmpDir: await walTmpParent(backupPath),
    }),
  );
}

/**
 * A backup in the off-host repository (`<sysid>/backups/<bk>` under `store`),
 * streamed back, decrypted and authenticated; pg_waldump's WAL copy goes to
 * `tmpDir` (the local repository's staging area).
 */
export async function verifyOffsiteBackup(store: SealedStore, prefix: string, location: string, opts: VerifyOptions & { tmpDir?: string }): Promise<Verification> {
  return phrased(() => verifySealedBackup(store, prefix, location, { onProgress: opts.onProgress, pgBinDir: opts.pgBinDir, tmpDir: opts.tmpDir }));
}

/** The outcome for the catalog: VERIFIED with what was checked, or FAILED naming every problem. */
async function phrased(run: () => Promise<VerifyResult>): Promise<Verification> {
  const started = Date.now();
  let r;
  try {
    r = await run();
  } catch (e) {
    // Unproven is not verified.
    return { status: 'FAILED', detail: `verification could not run: ${(e as Error).message}`, verified_at: new Date().toISOString() };
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  let detail = r.ok
    ? `${r.filesChecked} files (${r.bytesChecked} bytes) match backup_manifest; manifest checksum and WAL OK (${seconds} s)`
    : `${r.problems.length} problem(s): ${r.problems.join('; ')}`;
  if (detail.length > MAX_DETAIL) detail = `${detail.slice(0, MAX_DETAIL - 1)}…`;
  return { status: r.ok ? 'VERIFIED' : 'FAILED', detail, verified_at: new Date().toISOString() };
}
