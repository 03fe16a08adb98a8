// The agent's calls into backup_mgmt (PROTOCOL.md), one method per function.
// The agent never touches catalog tables itself.
import pg from 'pg';
import { JobRow, type WalRegistration } from './protocol.js';

export type JobType = 'BACKUP' | 'VERIFY' | 'RESTORE' | 'DELETE';

export interface ServerFacts {
  systemIdentifier: string;
  /** "PostgreSQL 15.18 (Debian …)": short enough for backup_lsn_s.pg_version. */
  pgVersion: string;
  pgVersionNum: number;
  walSegmentSize: number;
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

  /** The next transaction id the server will assign (xid8, as text). */
  async nextXid(): Promise<string> {
    const r = await this.pool.query<{ x: string }>('SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text AS x');
    return r.rows[0]!.x;
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
