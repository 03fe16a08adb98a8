// `backup-mgmt catalog sync --repo DIR` and the agent's start: bring into the
// catalog what the repository knows and the catalog does not — after a
// disaster recovery to time T the catalog is the one of time T. Imports
// backups (newer states too: verified or expired after T), restore points,
// WAL registrations (with timeline history files), the disaster recoveries
// made from the repository; marks backups whose files are gone.
import { existsSync } from 'node:fs';
import type pg from 'pg';
import { AgentSql } from '../agent/sql.js';
import { WalRegistry } from '../agent/wal-registry.js';
import type { Logger } from '../agent/log.js';
import { backupDir, listSystemIdentifiers } from '../storage/layout.js';
import { openRepository } from '../storage/repo-metadata.js';

export interface SyncSummary {
  system_identifier: string;
  backups_imported: number;
  backups_updated: number;
  restore_points_imported: number;
  wal_registered: number;
  backups_missing: number;
  recoveries_recorded: number;
}

export class SyncRefused extends Error {}

export async function catalogSync(
  pool: pg.Pool,
  repo: string,
  opts: { registerWal: boolean; log?: Logger },
): Promise<SyncSummary> {
  const store = openRepository(repo);
  await store.assertReadable();
  const r = await pool.query<{ sysid: string; seg: string }>(
    `SELECT (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) AS sysid,
            (SELECT setting FROM pg_catalog.pg_settings WHERE name = 'wal_segment_size') AS seg`,
  );
  const sysid = r.rows[0]!.sysid;
  const held = await listSystemIdentifiers(repo);
  if (held.length > 0 && !held.includes(sysid)) {
    throw new SyncRefused(`repository ${repo} holds system ${held.join(', ')}, not this cluster (${sysid}): refusing to sync`);
  }
  const summary: SyncSummary = {
    system_identifier: sysid,
    backups_imported: 0,
    backups_updated: 0,
    restore_points_imported: 0,
    wal_registered: 0,
    backups_missing: 0,
    recoveries_recorded: 0,
  };

  // Parents before the incrementals that link to them.
  const backups = (await store.listBackups(sysid)).sort((a, b) => (a.start_time ?? '').localeCompare(b.start_time ?? '') || a.backup_bk.localeCompare(b.backup_bk));
  for (const b of backups) {
    if (b.path === null) continue;
    const q = await pool.query<{ r: string }>('SELECT backup_mgmt.import_repository_backup($1, $2, $3) AS r', [b, repo, store.resolve(b.path)]);
    if (q.rows[0]!.r === 'imported') summary.backups_imported++;
    else if (q.rows[0]!.r === 'updated') summary.backups_updated++;
  }

  for (const p of await store.listRestorePoints(sysid)) {
    const q = await pool.query<{ r: boolean }>('SELECT backup_mgmt.import_restore_point($1, $2, $3, $4, $5, $6) AS r', [
      p.name,
      p.lsn,
      p.timeline,
      p.system_identifier,
      p.time,
      p.created_by ?? null,
    ]);
    if (q.rows[0]!.r) summary.restore_points_imported++;
  }

  if (opts.registerWal) {
    const log: Logger = opts.log ?? (() => {});
    summary.wal_registered = await new WalRegistry(new AgentSql(pool), repo, sysid, Number(r.rows[0]!.seg), log).scan();
  }

  // Full backups the catalog believes stored here whose directory is gone.
  const m = await pool.query<{ m: { backups: { backup_hk: string; backup_bk: string; type: string; files_present: boolean | null }[] } }>(
    'SELECT backup_mgmt.repository_metadata($1, $2) AS m',
    [repo, sysid],
  );
  for (const b of m.rows[0]!.m.backups) {
    if (b.type !== 'FULL' || b.files_present === false) continue;
    if (existsSync(backupDir(repo, sysid, b.backup_bk))) continue;
    const q = await pool.query<{ r: boolean }>('SELECT backup_mgmt.mark_backup_files_missing($1) AS r', [Buffer.from(b.backup_hk, 'hex')]);
    if (q.rows[0]!.r) summary.backups_missing++;
  }

  for (const rec of await store.listRecoveries(sysid)) {
    const q = await pool.query<{ r: string }>('SELECT backup_mgmt.record_disaster_recovery($1) AS r', [rec]);
    if (q.rows[0]!.r === 'imported') summary.recoveries_recorded++;
  }
  return summary;
}
