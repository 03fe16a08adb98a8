// The agent's calls into backup_mgmt (PROTOCOL.md), one method per function.
// The agent never touches catalog tables itself.
import pg from 'pg';
import type { JobType } from '../generated/job-types.js';
import { JobRow, type WalRegistration } from './protocol.js';

export type { JobType };

export interface ServerFacts {
  systemIdentifier: string;
  /** "PostgreSQL 15.18 (Debian …)": short enough for backup_lsn_s.pg_version. */
  pgVersion: string;
  pgVersionNum: number;
  walSegmentSize: number;
}

/** What pg_switch_wal() and the same statement's snapshot say (PROTOCOL.md "BACKUP job (incremental)" step 1). */
export interface WalSwitch {
  lsn: string;
  /** clock_timestamp() as ISO 8601 with offset and microseconds. */
  time: string;
  nextXid: string;
  systemIdentifier: string;
  /** The timeline WAL is written on now. */
  timeline: number;
}

export interface ArchiverStatus {
  archiveMode: string;
  archivedCount: number;
  lastArchivedWal: string | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedTime: string | null;
}

export class AgentSql {
  constructor(private readonly pool: pg.Pool) {}

  async register(a: {
    agentId: string;
    hostname: string;
    pid: number;
    repositoryRoot: string;
    restoreRoot: string;
    info: Record<string, unknown>;
  }): Promise<void> {
    await this.pool.query('SELECT backup_mgmt.agent_register($1, $2, $3, $4, $5, $6::jsonb)', [
      a.agentId,
      a.hostname,
      a.pid,
      a.repositoryRoot,
      a.restoreRoot,
      JSON.stringify(a.info),
    ]);
  }

  /** Frees the id of a predecessor recorded as `pid` on `host` that is no longer running. */
  async takeOver(agentId: string, host: string, pid: number): Promise<boolean> {
    const r = await this.pool.query<{ ok: boolean }>('SELECT backup_mgmt.agent_take_over($1, $2, $3) AS ok', [agentId, host, pid]);
    return r.rows[0]?.ok === true;
  }

  async heartbeat(agentId: string): Promise<number> {
    const r = await this.pool.query<{ n: number }>('SELECT backup_mgmt.agent_heartbeat($1) AS n', [agentId]);
    return Number(r.rows[0]?.n ?? 0);
  }

  async stopped(agentId: string): Promise<void> {
    await this.pool.query('SELECT backup_mgmt.agent_stopped($1)', [agentId]);
  }

  async claim(agentId: string, types: readonly JobType[]): Promise<JobRow | undefined> {
    const r = await this.pool.query('SELECT * FROM backup_mgmt.claim_job($1, $2::text[])', [agentId, types]);
    const row = r.rows[0];
    return row ? JobRow.parse(row) : undefined;
  }

  async progress(jobId: number, agentId: string, done: number, total: number | null, phase: string): Promise<boolean> {
    const r = await this.pool.query<{ ok: boolean }>('SELECT backup_mgmt.job_progress($1, $2, $3, $4, $5) AS ok', [
      jobId,
      agentId,
      Math.round(done),
      total === null ? null : Math.round(total),
      phase,
    ]);
    return r.rows[0]?.ok === true;
  }

  async complete(jobId: number, agentId: string, result: object): Promise<void> {
    await this.pool.query('SELECT backup_mgmt.complete_job($1, $2, $3::jsonb)', [jobId, agentId, JSON.stringify(result)]);
  }

  async fail(jobId: number, agentId: string, error: string, retryable: boolean): Promise<void> {
    await this.pool.query('SELECT backup_mgmt.fail_job($1, $2, $3, $4)', [jobId, agentId, error, retryable]);
  }

  async release(jobId: number, agentId: string): Promise<void> {
    await this.pool.query('SELECT backup_mgmt.release_job($1, $2)', [jobId, agentId]);
  }

  async registerWal(systemIdentifier: string, files: readonly WalRegistration[]): Promise<number> {
    const r = await this.pool.query<{ n: number }>('SELECT backup_mgmt.register_wal($1, $2::jsonb) AS n', [
      systemIdentifier,
      JSON.stringify(files),
    ]);
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * pg_basebackup -X fetch copies the WAL at the end of the backup; a
   * checkpoint in between (another backup's, or write load) may recycle it
   * ("requested WAL segment … has already been removed"). A temporary
   * physical slot created with immediately_reserve holds that WAL for as long
   * as this session lives. Resolves to the release function.
   */
  async reserveWal(slotName: string, log?: (message: string) => void): Promise<() => Promise<void>> {
    const client = await this.pool.connect();
    // pg-pool takes its idle 'error' listener off a checked-out client: without
    // our own, a server that dies during pg_basebackup would be an unhandled
    // 'error' event and end the agent. The session (and its temporary slot) is
    // gone then; releasing with an error below discards the dead client.
    let lost: Error | undefined;
    const onError = (e: Error) => {
      lost = e;
      log?.(`slot ${slotName}: connection lost (${e.message}); the temporary slot went with it`);
    };
    client.on('error', onError);
    try {
      await client.query('SELECT pg_catalog.pg_create_physical_replication_slot($1, true, true)', [slotName]);
    } catch (e) {
      client.removeListener('error', onError);
      client.release(e instanceof Error ? e : true);
      throw e;
    }
    return async () => {
      try {
        if (lost) throw lost;
        await client.query('SELECT pg_catalog.pg_drop_replication_slot($1)', [slotName]);
        client.removeListener('error', onError);
        client.release();
      } catch {
        // Ending the session drops a temporary slot anyway. The listener stays:
        // a dead socket may still emit while pg-pool ends the client.
        client.release(true);
      }
    };
  }

  /** The next transaction id the server will assign (xid8, as text). */
  async nextXid(): Promise<string> {
    const r = await this.pool.query<{ x: string }>('SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text AS x');
    return r.rows[0]!.x;
  }

  async switchWal(): Promise<WalSwitch> {
    const r = await this.pool.query<{ lsn: string; t: string; next_xid: string; sysid: string; cur: string }>(
      `SELECT s.lsn::text AS lsn, to_json(clock_timestamp()) #>> '{}' AS t,
              pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text AS next_xid,
              (SELECT c.system_identifier::text FROM pg_catalog.pg_control_system() AS c) AS sysid,
              pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()) AS cur
         FROM (SELECT pg_catalog.pg_switch_wal() AS lsn) AS s`,
    );
    const row = r.rows[0]!;
    return { lsn: row.lsn, time: row.t, nextXid: row.next_xid, systemIdentifier: row.sysid, timeline: parseInt(row.cur.slice(0, 8), 16) };
  }

  async archiverStatus(): Promise<ArchiverStatus> {
    const r = await this.pool.query<{
      mode: string;
      archived_count: string;
      last_archived_wal: string | null;
      failed_count: string;
      last_failed_wal: string | null;
      last_failed_time: string | null;
    }>(
      `SELECT current_setting('archive_mode') AS mode, archived_count, last_archived_wal, failed_count, last_failed_wal,
              to_json(last_failed_time) #>> '{}' AS last_failed_time
         FROM pg_catalog.pg_stat_archiver`,
    );
    const row = r.rows[0]!;
    return {
      archiveMode: row.mode,
      archivedCount: Number(row.archived_count),
      lastArchivedWal: row.last_archived_wal,
      failedCount: Number(row.failed_count),
      lastFailedWal: row.last_failed_wal,
      lastFailedTime: row.last_failed_time,
    };
  }

  /** Marks registered WAL files that left the repository as purged (and back). */
  async syncWalPresence(systemIdentifier: string, present: readonly string[]): Promise<number> {
    const r = await this.pool.query<{ n: number }>('SELECT backup_mgmt.sync_wal_presence($1, $2::text[]) AS n', [systemIdentifier, present]);
    return Number(r.rows[0]?.n ?? 0);
  }

  /** A stored WAL file read damaged (ok false, detail says why) or intact again (ok true). */
  async reportWalIntegrity(systemIdentifier: string, fileName: string, ok: boolean, detail: string | null): Promise<boolean> {
    const r = await this.pool.query<{ changed: boolean }>('SELECT backup_mgmt.report_wal_integrity($1, $2, $3, $4) AS changed', [
      systemIdentifier,
      fileName,
      ok,
      detail,
    ]);
    return r.rows[0]?.changed === true;
  }

  /** Registered WAL files of the cluster marked damaged. */
  async corruptWal(systemIdentifier: string): Promise<{ fileName: string; sha256: string }[]> {
    const r = await this.pool.query<{ file_name: string; sha256: string }>('SELECT file_name, sha256 FROM backup_mgmt.corrupt_wal_files($1)', [systemIdentifier]);
    return r.rows.map((x) => ({ fileName: x.file_name, sha256: x.sha256 }));
  }

  /** COMPLETED full backups under the root, for the presence check. */
  async storedBackups(
    repositoryRoot: string,
  ): Promise<{ backupHk: Buffer; backupBk: string; repositoryPath: string; storedFiles: { name?: unknown; bytes?: unknown }[]; filesPresent: boolean | null }[]> {
    const r = await this.pool.query<{ backup_hk: Buffer; backup_bk: string; repository_path: string; stored_files: { name?: unknown; bytes?: unknown }[]; files_present: boolean | null }>(
      'SELECT * FROM backup_mgmt.stored_backups($1)',
      [repositoryRoot],
    );
    return r.rows.map((x) => ({ backupHk: x.backup_hk, backupBk: x.backup_bk, repositoryPath: x.repository_path, storedFiles: x.stored_files, filesPresent: x.files_present }));
  }

  /** Presence check result: files gone (missing), files whose size changed (changed); both null = all there. */
  async reportBackupPresence(backupHk: Buffer, missing: string | null, changed: string | null): Promise<boolean> {
    const r = await this.pool.query<{ changed: boolean }>('SELECT backup_mgmt.report_backup_presence($1, $2, $3) AS changed', [backupHk, missing, changed]);
    return r.rows[0]?.changed === true;
  }

  /** Of the keys found on disk, those live work still owns (janitor_owners). */
  async janitorOwners(backupBks: string[], recoveryBks: string[]): Promise<{ kind: string; key: string }[]> {
    const r = await this.pool.query<{ kind: string; business_key: string }>('SELECT * FROM backup_mgmt.janitor_owners($1::text[], $2::text[])', [
      backupBks,
      recoveryBks,
    ]);
    return r.rows.map((x) => ({ kind: x.kind, key: x.business_key }));
  }

  async reportLeftovers(agentId: string, items: { path: string; kind: string; reason: string }[]): Promise<void> {
    await this.pool.query('SELECT backup_mgmt.agent_report_leftovers($1, $2::jsonb)', [agentId, JSON.stringify(items)]);
  }

  /** The WAL receiver's slot, created if missing (55000 while wal.streaming is off). */
  async streamSlotEnsure(): Promise<{ slotName: string; created: boolean; restartLsn: string | null; synchronous: boolean; serverWaits: boolean }> {
    const r = await this.pool.query<{ slot_name: string; created: boolean; restart_lsn: string | null; synchronous: boolean; waits: boolean }>(
      `SELECT s.slot_name, s.created, s.restart_lsn::text, s.synchronous,
              pg_catalog.current_setting('synchronous_standby_names') ~ ('(^|[^A-Za-z0-9_])' || s.slot_name || '($|[^A-Za-z0-9_])') AS waits
         FROM backup_mgmt.stream_slot_ensure() AS s`,
    );
    const row = r.rows[0]!;
    return { slotName: row.slot_name, created: row.created, restartLsn: row.restart_lsn, synchronous: row.synchronous, serverWaits: row.waits };
  }

  /** Drop the receiver's slot once streaming is off; whether one was dropped. */
  async streamSlotDrop(): Promise<boolean> {
    const r = await this.pool.query<{ d: boolean }>('SELECT backup_mgmt.stream_slot_drop() AS d');
    return r.rows[0]?.d === true;
  }

  /** A catalog setting (backup_mgmt.setting), null when unset. */
  async setting(name: string): Promise<string | null> {
    const r = await this.pool.query<{ v: string | null }>('SELECT backup_mgmt.setting($1) AS v', [name]);
    return r.rows[0]?.v ?? null;
  }

  /** Where the running cluster keeps its files; data_directory needs pg_read_all_settings, so it may be null. */
  async serverDirectories(): Promise<{ dataDirectory: string | null; tablespaces: string[] }> {
    let dataDirectory: string | null = null;
    try {
      const r = await this.pool.query<{ d: string }>(`SELECT current_setting('data_directory') AS d`);
      dataDirectory = r.rows[0]?.d ?? null;
    } catch {
      // Not allowed to see it: the file-system checks still apply.
    }
    const t = await this.pool.query<{ loc: string }>(
      `SELECT pg_catalog.pg_tablespace_location(oid) AS loc FROM pg_catalog.pg_tablespace WHERE pg_catalog.pg_tablespace_location(oid) LIKE '/%'`,
    );
    return { dataDirectory, tablespaces: t.rows.map((x) => x.loc) };
  }

  async serverFacts(): Promise<ServerFacts> {
    const r = await this.pool.query<{ sysid: string; version: string; version_num: string; seg: string }>(
      `SELECT (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) AS sysid,
              'PostgreSQL ' || current_setting('server_version') AS version,
              current_setting('server_version_num') AS version_num,
              (SELECT setting FROM pg_catalog.pg_settings WHERE name = 'wal_segment_size') AS seg`,
    );
    const row = r.rows[0]!;
    return {
      systemIdentifier: row.sysid,
      pgVersion: row.version.slice(0, 100),
      pgVersionNum: Number(row.version_num),
      walSegmentSize: Number(row.seg),
    };
  }
}
