// Versions of the tools that move the bytes, recorded at registration so the
// catalog can tell which pg_basebackup made a backup (and refuse a mismatch later).
import { pgTool, runCommand } from '../util/process.js';

async function firstLine(cmd: () => string, args: string[]): Promise<string | null> {
  try {
    const { stdout, stderr } = await runCommand(cmd(), args, { timeoutMs: 10_000 });
    return (stdout.trim() || stderr.trim()).split('\n')[0]!.trim();
  } catch {
    return null;
  }
}

export async function toolVersions(): Promise<Record<string, string | null>> {
  const [pgBasebackup, pgVerifybackup, pgWaldump, zstd] = await Promise.all([
    firstLine(() => pgTool('pg_basebackup'), ['--version']),
    firstLine(() => pgTool('pg_verifybackup'), ['--version']),
    firstLine(() => pgTool('pg_waldump'), ['--version']),
    firstLine(() => 'zstd', ['--version']),
  ]);
  return { pg_basebackup: pgBasebackup, pg_verifybackup: pgVerifybackup, pg_waldump: pgWaldump, zstd };
}
