// Removes what finished work left behind: staging directories of backups no
// live job owns (an agent killed mid-backup, a repository that turned
// read-only), and restore directories of recoveries that failed or were
// cancelled while their server kept running (an agent killed mid-restore
// until the job ran out of attempts). Whatever it cannot remove is reported,
// so health_check() shows it instead of it staying forever unnoticed.
import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stagingRoot } from '../storage/layout.js';
import { errorText, type Logger } from './log.js';
import { RESTORE_MARKER, type RestoreMarker } from './restore-directory.js';
import { RestoredServer } from './restored-server.js';
import type { AgentSql } from './sql.js';

export interface JanitorOptions {
  sql: AgentSql;
  agentId: string;
  repositoryRoot: string;
  systemIdentifier: string;
  restoreRoots: string[];
  log: Logger;
}

interface Leftover {
  path: string;
  kind: 'staging' | 'restore';
  key: string;
}

const listDir = (d: string) => readdir(d).catch(() => [] as string[]);

/** Staging entries are "<backup key>.<random>". */
async function stagingLeftovers(root: string, sysid: string): Promise<Leftover[]> {
  const dir = stagingRoot(root, sysid);
  return (await listDir(dir))
    .filter((n) => n.lastIndexOf('.') > 0)
    .map((n) => ({ path: join(dir, n), kind: 'staging' as const, key: n.slice(0, n.lastIndexOf('.')) }));
}

/** Restore directories carry the marker of the recovery that made them; anything else is not ours. */
async function restoreLeftovers(roots: string[]): Promise<Leftover[]> {
  const out: Leftover[] = [];
  for (const root of new Set(roots)) {
    for (const n of await listDir(root)) {
      const path = join(root, n);
      try {
        const marker = JSON.parse(await readFile(join(path, RESTORE_MARKER), 'utf8')) as RestoreMarker;
        if (typeof marker.recovery_bk === 'string') out.push({ path, kind: 'restore', key: marker.recovery_bk });
      } catch {
        // No marker: an operator's directory, a kept log file, another tool's.
      }
    }
  }
  return out;
}

/** Stops a restored server still running there (its log kept beside it as <dir>.log), then removes the directory. */
async function removeRestore(path: string): Promise<void> {
  if (existsSync(join(path, 'postmaster.pid'))) {
    await new RestoredServer({ dataDir: path, socketDir: path, logFile: '/dev/null', port: 0 }).stop('immediate');
  }
  const log = join(path, 'log', 'backup_mgmt_restore.log');
  if (existsSync(log) && !existsSync(`${path}.log`)) await copyFile(log, `${path}.log`).catch(() => {});
  await rm(path, { recursive: true, force: true });
}

/** One janitor run; resolves to how many leftovers it removed. */
export async function sweep(o: JanitorOptions): Promise<number> {
  const found = [...(await stagingLeftovers(o.repositoryRoot, o.systemIdentifier)), ...(await restoreLeftovers(o.restoreRoots))];
  const owned = new Set<string>();
  if (found.length > 0) {
    const rows = await o.sql.janitorOwners(
      found.filter((f) => f.kind === 'staging').map((f) => f.key),
      found.filter((f) => f.kind === 'restore').map((f) => f.key),
    );
    for (const r of rows) owned.add(`${r.kind}:${r.key}`);
  }
  let removed = 0;
  const failed: { path: string; kind: string; reason: string }[] = [];
  for (const f of found) {
    if (owned.has(`${f.kind}:${f.key}`)) continue;
    try {
      if (f.kind === 'staging') await rm(f.path, { recursive: true, force: true });
      else await removeRestore(f.path);
      removed++;
      o.log('warn', `janitor: removed ${f.kind} leftover ${f.path} (no live job owns ${f.key})`);
    } catch (e) {
      failed.push({ path: f.path, kind: f.kind, reason: errorText(e).split('\n')[0]!.slice(0, 500) });
    }
  }
  await o.sql.reportLeftovers(o.agentId, failed);
  return removed;
}
