// What the fault tests share beyond test/e2e: the check run after every fault
// that nothing of the pack is left behind that the catalog does not account
// for — a restored postmaster, a staging directory, a replication slot.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { query } from '../e2e/support.js';

export interface Leftovers {
  postmasters: string[];
  staging: string[];
  slots: string[];
}

const list = (d: string) => (existsSync(d) ? readdirSync(d) : []);

/** Is the pid in a data directory's postmaster.pid a running process? */
function postmasterRunning(dataDir: string): boolean {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What is on disk or in the server that no live catalog row explains:
 * a running restored server whose recovery is not COMPLETED and kept running,
 * a staging entry while no BACKUP job runs, a backup_mgmt_* slot while no
 * BACKUP job runs.
 */
export async function leftovers(url: string, repo: string, sysid: string, restoreRoot?: string): Promise<Leftovers> {
  const running = await query<{ n: string }>(url, `SELECT count(*) AS n FROM backup_mgmt.job WHERE job_type = 'BACKUP' AND status = 'RUNNING'`);
  const backupRunning = Number(running[0]!.n) > 0;
  const kept = await query<{ dir: string }>(
    url,
    `SELECT restore_directory AS dir FROM backup_mgmt.recovery_operation_current WHERE recovery_status = 'COMPLETED' AND restore_port IS NOT NULL`,
  ).catch(() => [] as { dir: string }[]);
  const keptDirs = new Set(kept.map((k) => k.dir));
  const postmasters = restoreRoot
    ? list(restoreRoot)
        .map((d) => join(restoreRoot, d))
        .filter((d) => postmasterRunning(d) && !keptDirs.has(d))
    : [];
  const staging = backupRunning ? [] : list(join(repo, sysid, 'staging'));
  const slots = backupRunning
    ? []
    : (await query<{ s: string }>(url, `SELECT slot_name AS s FROM pg_replication_slots WHERE slot_name LIKE 'backup\\_mgmt\\_%'`)).map((r) => r.s);
  return { postmasters, staging, slots };
}

export const NOTHING_LEFT: Leftovers = { postmasters: [], staging: [], slots: [] };
