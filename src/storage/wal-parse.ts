// "Is the WAL a backup needs there and readable?" answered the way
// pg_verifybackup answers it: pg_waldump over each manifest WAL range.
import { join } from 'node:path';
import { CommandError, pgTool, runCommand } from '../util/process.js';
import type { ManifestWalRange } from './manifest.js';

export function pgToolPath(name: string, pgBinDir?: string): string {
  return pgBinDir ? join(pgBinDir, name) : pgTool(name);
}

/** One problem line per range that pg_waldump could not read completely. */
export async function parseWalRanges(walDir: string, ranges: readonly ManifestWalRange[], pgBinDir?: string): Promise<string[]> {
  const problems: string[] = [];
  const waldump = pgToolPath('pg_waldump', pgBinDir);
  for (const r of ranges) {
    const args = ['--quiet', `--path=${walDir}`, `--timeline=${r.timeline}`, `--start=${r.startLsn}`, `--end=${r.endLsn}`];
    try {
      await runCommand(waldump, args, { timeoutMs: 10 * 60_000 });
    } catch (e) {
      const detail = e instanceof CommandError ? (e.stderr.trim() || e.message).split('\n').join('; ') : (e as Error).message;
      problems.push(`WAL parsing failed for timeline ${r.timeline} (${r.startLsn}..${r.endLsn}): ${detail}`);
    }
  }
  return problems;
}
