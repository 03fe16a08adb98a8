// The other way to verify a tar-format backup: unpack it into a scratch
// directory and let pg_verifybackup judge the plain copy. Slower on disk,
// but it is PostgreSQL's own verdict.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, runCommand } from '../util/process.js';
import { MANIFEST_NAME } from './layout.js';
import { parseManifest } from './manifest.js';
import { extractArchive } from './extract.js';
import { findArchives, shouldIgnore, type VerifyResult } from './verify-common.js';
import { pgToolPath } from './wal-parse.js';

export interface VerifyExtractOptions {
  parseWal?: boolean;
  pgBinDir?: string;
  tmpDir?: string;
  /** Keep the extracted copy (for inspection); the caller removes it. */
  keepExtracted?: boolean;
  onExtracted?: (dir: string) => void;
}

/** Extract the backup into a temporary directory and run pg_verifybackup on it. */
export async function verifyByExtract(backupDir: string, opts: VerifyExtractOptions = {}): Promise<VerifyResult> {
  const problems: string[] = [];
  const manifestPath = join(backupDir, MANIFEST_NAME);
  const { archives, problems: layoutProblems } = await findArchives(backupDir);
  problems.push(...layoutProblems);
  const scratch = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'bm-verify-extract-'));
  try {
    // Base first: tablespace archives go where base.tar has a symlink to the original location.
    const ordered = [...archives].sort((x, y) => Number(y.role === 'base') - Number(x.role === 'base'));
    for (const a of ordered) {
      let target = scratch;
      if (a.role === 'tablespace') {
        target = join(scratch, 'pg_tblspc', String(a.tablespaceOid));
        await rm(target, { force: true, recursive: true });
      } else if (a.role === 'wal') {
        target = join(scratch, 'pg_wal');
      }
      await mkdir(target, { recursive: true });
      try {
        await extractArchive(a, target);
      } catch (e) {
        problems.push(`archive "${a.name}" could not be extracted: ${(e as Error).message}`);
      }
    }
    opts.onExtracted?.(scratch);

    const args = ['--quiet', `--manifest-path=${manifestPath}`];
    if (opts.parseWal === false) args.push('--no-parse-wal');
    args.push(scratch);
    try {
      await runCommand(pgToolPath('pg_verifybackup', opts.pgBinDir), args, { timeoutMs: 60 * 60_000 });
    } catch (e) {
      if (!(e instanceof CommandError) || e.exitCode === null) throw e;
      const lines = e.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
      problems.push(...(lines.length ? lines : [e.message]));
    }

    // Counts in the same terms as verifyTarBackup: manifest files it had to check.
    let filesChecked = 0;
    let bytesChecked = 0;
    try {
      for (const f of parseManifest(await readFile(manifestPath)).files) {
        if (shouldIgnore(f.path)) continue;
        filesChecked++;
        bytesChecked += f.size;
      }
    } catch {
      // A broken manifest has already been reported by pg_verifybackup.
    }
    return { ok: problems.length === 0, problems, filesChecked, bytesChecked };
  } finally {
    if (!opts.keepExtracted) await rm(scratch, { recursive: true, force: true });
  }
}
