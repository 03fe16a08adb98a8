// Stopping and deleting a restored copy that a recovery left running
// (`backup-mgmt recovery remove`). Runs on the host of the copy, as root or
// the server's OS user. Deletes only a directory whose restore marker names
// this very recovery: the catalog's path alone is not trusted with an rm -rf.
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { tmpdir } from 'node:os';
import type { RecoveryListRow } from '../client/index.js';
import { pgTool, runAsPostgres } from '../util/process.js';
import { CliError } from './errors.js';

// The agent's marker (src/agent/restore-directory.ts RESTORE_MARKER).
const MARKER = 'backup_mgmt_restore.json';

export interface RemovedCopy {
  directory: string;
  stopped: boolean;
}

export async function removeRestoredCopy(row: RecoveryListRow): Promise<RemovedCopy> {
  if (row.is_drill) throw new CliError(`${row.recovery_bk} is a restore drill: drills remove their copy themselves`, 2);
  const dir = row.restore_directory;
  if (!dir || !isAbsolute(dir) || dir.split('/').includes('..')) throw new CliError(`${row.recovery_bk} has no restore directory to remove`, 1);
  if (row.kept_running !== true && !existsSync(dir)) throw new CliError(`${row.recovery_bk}: nothing to remove (no copy is kept and ${dir} is gone)`, 1);
  if (existsSync(dir)) {
    let marker: { recovery_hk?: string } = {};
    try {
      marker = JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as { recovery_hk?: string };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES') throw new CliError(`cannot read ${join(dir, MARKER)}: run as root or as the server's OS user`, 2);
    }
    if (marker.recovery_hk !== row.recovery_hk.toString('hex')) {
      throw new CliError(`${dir} does not carry the restore marker of ${row.recovery_bk}: not removed (delete it by hand if it is yours)`, 1);
    }
  }
  let stopped = false;
  if (existsSync(join(dir, 'postmaster.pid'))) {
    // pg_ctl from PostgreSQL's bindir (Debian keeps it off PATH), as the server's OS user.
    await runAsPostgres(pgTool('pg_ctl'), ['-D', dir, '-m', 'fast', '-w', '-t', '60', 'stop'], { timeoutMs: 90_000 }).catch((e: Error) => {
      if (existsSync(join(dir, 'postmaster.pid'))) throw new CliError(`could not stop the server in ${dir}: ${e.message.split('\n')[0]}`, 1);
    });
    stopped = true;
  }
  await rm(dir, { recursive: true, force: true });
  // A socket directory the agent had to put in the temp directory (path too long for a socket).
  const sock = row.socket_directory;
  if (sock && dirname(sock) === tmpdir() && basename(sock).startsWith('bm-restore-')) await rm(sock, { recursive: true, force: true });
  return { directory: dir, stopped };
}
