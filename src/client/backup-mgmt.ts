// The TypeScript client: the same requests a DBA makes at psql, typed and
// validated. It only calls backup_mgmt's SQL functions and reads its views.
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { BackupNotFoundError } from './errors.js';
import {
  AwaitOptions,
  BackupId,
  CreateFullBackupOptions,
  CreateIncrementalBackupOptions,
  ListOptions,
  parseOrThrow,
  type AwaitRecoveryOptions,
  type InitiateRecoveryOptions,
  type ListRecoveriesOptions,
  type PlanRecoveryOptions,
} from './inputs.js';
import { awaitFinal, BACKUP_WAIT } from './await-loop.js';
import { getOne } from './get-one.js';
import { RecoveryApi } from './recovery.js';
import type { BackupListRow, ClientDatabase, RecoverabilityRow, RecoveryListRow, RecoveryPlan, RestorePointRow } from './types.js';

export type BackupMgmtConfig = { connectionString: string; pool?: never } | { pool: pg.Pool; connectionString?: never };


export class BackupMgmt {
  readonly db: Kysely<ClientDatabase>;
  private readonly ownsPool: boolean;
  private readonly recovery: RecoveryApi;

  constructor(config: BackupMgmtConfig) {
    const ownsPool = 'connectionString' in config && typeof config.connectionString === 'string';
    if (!ownsPool && !(config as { pool?: unknown }).pool) throw new TypeError('BackupMgmt: pass { connectionString } or { pool }');
    const pool = ownsPool
      ? new pg.Pool({ connectionString: config.connectionString, max: 4, application_name: 'backup-mgmt client' })
      : config.pool!;
    this.ownsPool = ownsPool;
    this.db = new Kysely<ClientDatabase>({ dialect: new PostgresDialect({ pool }) });
    this.recovery = new RecoveryApi(this.db, async (id) => (await this.getBackup(id)).backup_hk);
  }

  /** Queue a full backup (create_full_backup); resolves to its row, PENDING or already further. */
  async createFullBackup(options?: CreateFullBackupOptions): Promise<BackupListRow> {
    const o = parseOrThrow(CreateFullBackupOptions, options, 'createFullBackup options');
    // Named arguments: what the caller leaves out keeps the SQL default.
    const args = [sql`p_tenant_hk => NULL::bytea`];
    if (o.location !== undefined) args.push(sql`p_backup_location => ${o.location}::text`);
    if (o.storageType !== undefined) args.push(sql`p_storage_type => ${o.storageType}::text`);
    if (o.compression !== undefined) args.push(sql`p_compression_enabled => ${o.compression}::boolean`);
    if (o.verify !== undefined) args.push(sql`p_verify_backup => ${o.verify}::boolean`);
    const r = await sql<{ backup_id: Buffer }>`SELECT backup_id FROM backup_mgmt.create_full_backup(${sql.join(args)})`.execute(this.db);
    const hk = r.rows[0]?.backup_id;
    if (!hk) throw new Error('create_full_backup returned no row');
    return this.getBackup(hk.toString('hex'));
  }

  /** Whether an agent is alive to run queued jobs (agent_status): live agents and the newest heartbeat of any. */
  async agentStatus(): Promise<{ liveAgents: number; newestHeartbeat: Date | null }> {
    const r = await sql<{ live_agents: number; newest_heartbeat: Date | null }>`SELECT live_agents, newest_heartbeat FROM backup_mgmt.agent_status()`.execute(this.db);
    const row = r.rows[0]!;
    return { liveAgents: row.live_agents, newestHeartbeat: row.newest_heartbeat };
  }

  /** The newest backups first. */
  async listBackups(options?: ListOptions): Promise<BackupListRow[]> {
    const o = parseOrThrow(ListOptions, options, 'listBackups options');
    return this.db
      .selectFrom('backup_mgmt.backup_list')
      .selectAll()
      .orderBy('backup_start_time', 'desc')
      .orderBy('backup_bk', 'desc')
      .limit(o.limit)
      .execute();
  }

  /** By hex hash key or business key; BackupNotFoundError if there is none. */
  async getBackup(id: string): Promise<BackupListRow> {
    const key = parseOrThrow(BackupId, id, 'backup id');
    return getOne(
      () => sql<BackupListRow>`SELECT * FROM backup_mgmt.get_backup(${key})`.execute(this.db),
      () => new BackupNotFoundError(id),
    );
  }

  /**
   * Wait until the backup is final and its verification (if any) is no longer pending.
   * With onProgress it polls backup_list to report progress; without, it
   * blocks in await_backup on the server.
   */
  async awaitBackup(id: string, options?: AwaitOptions): Promise<BackupListRow> {
    const o = parseOrThrow(AwaitOptions, options, 'awaitBackup options');
    return awaitFinal(this.db, BACKUP_WAIT, id, () => this.getBackup(id), o);
  }

  /** Queue a re-verification of what is in storage now (verify_backup_integrity). */
  async verifyBackup(id: string): Promise<BackupListRow> {
    const b = await this.getBackup(id);
    await sql`SELECT * FROM backup_mgmt.verify_backup_integrity(${b.backup_hk})`.execute(this.db);
    return this.getBackup(id);
  }

  /** Cancel the backup's queued or running job (cancel_backup). */
  async cancelBackup(id: string): Promise<BackupListRow> {
    const b = await this.getBackup(id);
    await sql`SELECT * FROM backup_mgmt.cancel_backup(${b.backup_hk})`.execute(this.db);
    return this.getBackup(id);
  }

  /**
   * Queue an incremental backup (create_incremental_backup): on PostgreSQL < 17
   * a proven WAL range on top of `base` (default: the latest valid chain).
   */
  async createIncrementalBackup(options?: CreateIncrementalBackupOptions): Promise<BackupListRow> {
    const o = parseOrThrow(CreateIncrementalBackupOptions, options, 'createIncrementalBackup options');
    const base = o.base === undefined ? null : (await this.getBackup(o.base)).backup_hk;
    const r = await sql<{ backup_id: Buffer }>`
      SELECT backup_id FROM backup_mgmt.create_incremental_backup(
        p_tenant_hk => NULL::bytea, p_base_backup_hk => ${base}::bytea, p_backup_location => ${o.location ?? null}::text)`.execute(this.db);
    return this.getBackup(r.rows[0]!.backup_id.toString('hex'));
  }

  /** pg_create_restore_point plus a catalog row; a later recovery can target it by name. */
  createRestorePoint(name: string): Promise<RestorePointRow> {
    return this.recovery.createRestorePoint(name);
  }

  /** Earliest/latest recoverable time and LSN, WAL gaps, RPO: one row per timeline. */
  recoverableWindow(): Promise<RecoverabilityRow[]> {
    return this.recovery.recoverableWindow();
  }

  /** What a recovery to `target` would restore and replay, without recording anything. */
  planRecovery(options: PlanRecoveryOptions): Promise<RecoveryPlan> {
    return this.recovery.planRecovery(options);
  }

  /** Request a recovery (initiate_recovery): PENDING until approved, or queued when approval is skipped. */
  initiateRecovery(options: InitiateRecoveryOptions): Promise<RecoveryListRow> {
    return this.recovery.initiateRecovery(options);
  }

  /** The seed's initiate_point_in_time_recovery: a time target into <restore root>/<recovery key>. */
  initiatePointInTimeRecovery(targetTime: Date | string, options?: { approvalRequired?: boolean }): Promise<RecoveryListRow> {
    return this.recovery.initiatePointInTimeRecovery(targetTime, options);
  }

  /** As a member of recovery_approver other than the requester. */
  approveRecovery(id: string, comment?: string): Promise<RecoveryListRow> {
    return this.recovery.approveRecovery(id, comment);
  }

  /** As a member of recovery_approver other than the requester; the reason is required. */
  rejectRecovery(id: string, comment: string): Promise<RecoveryListRow> {
    return this.recovery.rejectRecovery(id, comment);
  }

  cancelRecovery(id: string): Promise<RecoveryListRow> {
    return this.recovery.cancelRecovery(id);
  }

  /** After its restored copy was stopped and deleted (the CLI's `recovery remove`): no longer kept running. */
  restoredCopyRemoved(id: string): Promise<RecoveryListRow> {
    return this.recovery.restoredCopyRemoved(id);
  }

  getRecovery(id: string): Promise<RecoveryListRow> {
    return this.recovery.getRecovery(id);
  }

  listRecoveries(options?: ListRecoveriesOptions): Promise<RecoveryListRow[]> {
    return this.recovery.listRecoveries(options);
  }

  /** Until COMPLETED, FAILED, CANCELLED or REJECTED; RecoveryTimeoutError otherwise. */
  awaitRecovery(id: string, options?: AwaitRecoveryOptions): Promise<RecoveryListRow> {
    return this.recovery.awaitRecovery(id, options);
  }

  /** Queue a restore drill of a backup (default: the newest completed full backup). */
  createRestoreDrill(backupId?: string): Promise<RecoveryListRow> {
    return this.recovery.createRestoreDrill(backupId);
  }

  /** Ends the pool the client created; a pool passed in stays the caller's. */
  async close(): Promise<void> {
    if (this.ownsPool) await this.db.destroy();
  }
}
