// Shared by the security tests (test/security): one throwaway cluster per test
// file, a database with the pack installed per test, login roles made on the
// fly (the harness's clusters trust local connections, so a test connects as
// any role it created), a catalog history written the way the agent writes it
// (RecoveryDb of the recovery tests), tenant rows, and a fingerprint of every
// table of the schema to prove that a call changed nothing.
import pg from 'pg';
import { RecoveryDb, REPO, RESTORE_ROOT, segName } from '../recovery-sql/helpers.js';
import { useClusterDbs } from '../harness/pack-db.js';
export { sqlError, sqlState } from '../harness/sql-errors.js';

export { REPO, RESTORE_ROOT, segName };

/** The five roles of the pack. */
export const PACK_ROLES = ['backup_viewer', 'backup_operator', 'recovery_approver', 'backup_agent', 'backup_mgmt_admin'] as const;

export interface Row {
  [column: string]: any;
}

/** A database of its own with the pack installed and a catalog history. */
export class SecurityDb extends RecoveryDb {
  /**
   * Creates login role `name` (cluster-wide, so only once) as a member of
   * `memberOf`, optionally with a search_path of its own.
   */
  async loginRole(name: string, memberOf: string[], searchPath?: string): Promise<void> {
    await this.role(name, 'LOGIN', memberOf);
    if (searchPath) await this.q(`ALTER ROLE ${ident(name)} SET search_path = ${searchPath}`);
  }

  /** A group role (NOLOGIN), member of `memberOf`. */
  async groupRole(name: string, memberOf: string[]): Promise<void> {
    await this.role(name, 'NOLOGIN', memberOf);
  }

  private async role(name: string, login: 'LOGIN' | 'NOLOGIN', memberOf: string[]): Promise<void> {
    await this.q(`
      DO $$
      BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${lit(name)}) THEN
              EXECUTE pg_catalog.format('CREATE ROLE %I ${login}', ${lit(name)});
          END IF;
      END $$`);
    for (const group of memberOf) await this.q(`GRANT ${ident(group)} TO ${ident(name)}`);
  }

  /** hash_key(p_label): a tenant's hash key. */
  async tenant(label: string): Promise<Buffer> {
    return (await this.one<{ hk: Buffer }>('SELECT backup_mgmt.hash_key($1) AS hk', [label])).hk;
  }

  /**
   * A COMPLETED logical backup of a tenant (the API cannot take one yet, so
   * it is written as the catalog would hold it): hub with tenant_hk, and a
   * version of each backup satellite through the loaders.
   */
  async tenantBackup(tenant: Buffer, bk: string): Promise<Buffer> {
    const hk = (await this.one<{ hk: Buffer }>(
      `INSERT INTO backup_mgmt.backup_execution_h (backup_hk, backup_bk, tenant_hk, record_source)
       VALUES (backup_mgmt.hash_key($1), $1, $2, 'test') RETURNING backup_hk AS hk`, [bk, tenant])).hk;
    await this.q(`SELECT backup_mgmt.backup_execution_s_load($1, $2, 'test')`, [hk, {
      backup_type: 'FULL', backup_scope: 'TENANT', backup_method: 'PG_DUMP', backup_status: 'COMPLETED',
      requested_at: this.at(0), backup_start_time: this.at(0), backup_end_time: this.at(20), backup_location: REPO,
      storage_type: 'LOCAL', verification_status: 'VERIFIED', integrity_verified: true, initiated_by: 'test', changed_by: 'test',
    }]);
    await this.q(`SELECT backup_mgmt.backup_lsn_s_load($1, $2, 'test')`, [hk, {
      start_lsn: '0/1000028', stop_lsn: '0/1000138', timeline_id: 1, system_identifier: this.sysid,
    }]);
    await this.q(`SELECT backup_mgmt.backup_storage_s_load($1, $2, 'test')`, [hk, {
      repository_root: REPO, repository_path: `${REPO}/tenants/${bk}`, manifest_sha256: 'a'.repeat(64),
      stored_files: [{ name: 'dump.zst', bytes: 10, sha256: 'b'.repeat(64) }], stored_bytes: 10, files_present: true,
    }]);
    return hk;
  }

  /** A PENDING recovery of a tenant from its backup, requested by `by`. */
  async tenantRecovery(tenant: Buffer, bk: string, backup: Buffer, by: string): Promise<Buffer> {
    const hk = (await this.one<{ hk: Buffer }>(
      `INSERT INTO backup_mgmt.recovery_operation_h (recovery_hk, recovery_bk, tenant_hk, record_source)
       VALUES (backup_mgmt.hash_key($1), $1, $2, 'test') RETURNING recovery_hk AS hk`, [bk, tenant])).hk;
    const backupBk = (await this.one<{ bk: string }>('SELECT backup_bk AS bk FROM backup_mgmt.backup_execution_h WHERE backup_hk = $1', [backup])).bk;
    await this.q(`SELECT backup_mgmt.recovery_operation_s_load($1, $2, 'test')`, [hk, {
      recovery_type: 'PARTIAL_RESTORE', source_backup_hk: `\\x${backup.toString('hex')}`, recovery_target: 'TENANT',
      target_kind: 'immediate', recovery_start_time: this.at(100), recovery_status: 'PENDING', restore_directory: `${RESTORE_ROOT}/${bk}`,
      is_drill: false, initiated_by: by, changed_by: by, approval_required: true,
      plan: {
        base: { backup_hk: backup.toString('hex'), backup_bk: backupBk, system_identifier: this.sysid, stop_lsn: '0/1000138' },
        chain: [backup.toString('hex')],
        wal: { timeline_id: 1, from_segment: segName(1), to_segment: segName(1) },
        target: { kind: 'immediate' },
      },
    }]);
    await this.q(`INSERT INTO backup_mgmt.recovery_backup_l (link_recovery_backup_hk, recovery_hk, backup_hk, tenant_hk, record_source)
                  VALUES (backup_mgmt.hash_key($1, $2), $3, $4, $5, 'test')`, [bk, backupBk, hk, backup, tenant]);
    return hk;
  }

  /**
   * Count and md5 of the rows of every table of the schema, read as the
   * superuser (row security does not apply): equal fingerprints, no change.
   */
  async fingerprint(client?: pg.Client): Promise<Record<string, string>> {
    const run = async (sql: string) => (client ? (await client.query(sql)).rows : await this.q(sql));
    const tables = (await run(`
      SELECT c.relname FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
       WHERE n.nspname = 'backup_mgmt' AND c.relkind IN ('r', 'p') ORDER BY c.relname`)).map((r: Row) => r.relname as string);
    const sql = tables
      .map((t) => `SELECT ${lit(t)} AS t, pg_catalog.count(*) AS n,
                          pg_catalog.md5(coalesce(pg_catalog.string_agg(x::text, E'\\n' ORDER BY x::text COLLATE "C"), '')) AS h
                     FROM backup_mgmt.${ident(t)} AS x`)
      .join('\nUNION ALL\n');
    const rows = await run(sql);
    return Object.fromEntries(rows.map((r: Row) => [r.t as string, `${r.n}:${r.h}`]));
  }
}

/** Byte position of an LSN text. */
export function lsnValue(l: string): bigint {
  const [hi, lo] = l.split('/');
  return BigInt(`0x${hi}`) * 0x100000000n + BigInt(`0x${lo}`);
}

/** A full backup's result as the agent reports it (PROTOCOL.md), for segment `seg` of this cluster. */
export function fullBackupResult(plan: Row, sysid: string, seg: number, at: string): Row {
  const off = (n: number) => `0/${(seg * 0x1000000 + n).toString(16).toUpperCase()}`;
  return {
    repository_path: `${plan.repository_root}/${sysid}/backups/${plan.backup_bk}`,
    system_identifier: sysid,
    backup_size_bytes: 50_000_000,
    compressed_size_bytes: 9_000_000,
    start_lsn: off(0x28),
    stop_lsn: off(0x138),
    timeline_id: 1,
    start_wal_file: segName(seg),
    stop_wal_file: segName(seg),
    start_time: at,
    stop_time: at,
    next_xid: '1500',
    pg_version: 'PostgreSQL 15',
    pg_version_num: 150000,
    manifest_sha256: 'a'.repeat(64),
    stored_files: [{ name: 'base.tar.zst', bytes: 9_000_000, sha256: 'b'.repeat(64) }],
    started_at: at,
    ended_at: at,
    verification: { status: 'VERIFIED', detail: 'all files match', verified_at: at },
  };
}

/** An incremental backup's result: the WAL was switched at `stop`, in segment `stopSeg`. */
export function incrementalResult(plan: Row, stop: string, stopSeg: number): Row {
  const now = new Date().toISOString();
  return {
    stop_lsn: stop,
    stop_wal_file: segName(stopSeg),
    stop_time: now,
    next_xid: '5000',
    changes_captured: Number(lsnValue(stop) - lsnValue(plan.range_start_lsn)),
    wal_files_checked: 100,
    started_at: now,
    ended_at: now,
    pg_version: 'PostgreSQL 15',
    pg_version_num: 150000,
    verification: { status: 'VERIFIED', detail: 'segments present and intact', verified_at: now },
  };
}

/** A restore's result: restored where the plan said, validated, left running. */
export function restoreResult(plan: Row): Row {
  return {
    restore_directory: plan.restore_directory,
    restore_port: 54399,
    recovery_duration_seconds: 12.5,
    reached: { lsn: plan.base.stop_lsn, time: new Date().toISOString() },
    validation: { status: 'PASSED', records_recovered: 10, data_size_recovered: 1000, detail: 'tables counted' },
    kept_running: !plan.drill,
  };
}

/** Tables whose fingerprints differ. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((t) => before[t] !== after[t]).sort();
}

export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function lit(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * One cluster for the test file (without pg_cron: the schedule tests cover
 * it); freshDb() hands each test a database of its own with the pack installed.
 */
export function useSecurityPack(name: string) {
  return useClusterDbs({ name, pgCron: false }, 's', (c, db) => new SecurityDb(c, db).init());
}
