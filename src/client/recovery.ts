// The recovery side of the client: restore points, the recoverable window,
// plans, recovery requests and their approval, drills. Only SQL functions
// and views (PROTOCOL.md "Recovery: SQL surface"); inputs are validated first.
import { sql, type Kysely } from 'kysely';
import { awaitFinal, RECOVERY_WAIT } from './await-loop.js';
import { getOne } from './get-one.js';
import { RecoveryNotFoundError } from './errors.js';
import {
  AwaitRecoveryOptions,
  Comment,
  InitiateRecoveryOptions,
  ListRecoveriesOptions,
  PlanRecoveryOptions,
  parseOrThrow,
  RecoveryId,
  RestorePointName,
  TargetTime,
} from './inputs.js';
import type { ClientDatabase, RecoverabilityRow, RecoveryListRow, RecoveryPlan, RestorePointRow } from './types.js';


/** Resolves a backup id (hex or business key) to its hash key; the caller's client does it. */
export type BackupKeyResolver = (id: string) => Promise<Buffer>;

export class RecoveryApi {
  constructor(
    private readonly db: Kysely<ClientDatabase>,
    private readonly backupKey: BackupKeyResolver,
  ) {}

  async createRestorePoint(name: string): Promise<RestorePointRow> {
    const n = parseOrThrow(RestorePointName, name, 'restore point name');
    const r = await sql<RestorePointRow>`SELECT * FROM backup_mgmt.create_restore_point(${n})`.execute(this.db);
    return r.rows[0]!;
  }

  /** recoverable_window(): one row per timeline of this cluster, newest first. */
  async recoverableWindow(): Promise<RecoverabilityRow[]> {
    return (await sql<RecoverabilityRow>`SELECT * FROM backup_mgmt.recoverable_window()`.execute(this.db)).rows;
  }

  /** The dry run: what a recovery to the target would restore and replay. Refusals keep their SQLSTATE. */
  async planRecovery(options: PlanRecoveryOptions): Promise<RecoveryPlan> {
    const o = parseOrThrow(PlanRecoveryOptions, options, 'planRecovery options');
    const hk = o.backupId ? await this.backupKey(o.backupId) : null;
    const r = await sql<{ plan: RecoveryPlan }>`SELECT backup_mgmt.plan_recovery(${o.target.kind}, ${o.target.value}::text, ${hk}::bytea) AS plan`.execute(
      this.db,
    );
    return r.rows[0]!.plan;
  }

  async initiateRecovery(options: InitiateRecoveryOptions): Promise<RecoveryListRow> {
    const o = parseOrThrow(InitiateRecoveryOptions, options, 'initiateRecovery options');
    const hk = o.backupId ? await this.backupKey(o.backupId) : null;
    const r = await sql<{ recovery_id: Buffer }>`
      SELECT recovery_id FROM backup_mgmt.initiate_recovery(
        p_target_kind => ${o.target.kind}, p_target_value => ${o.target.value}::text,
        p_restore_directory => ${o.restoreDirectory ?? null}::text,
        p_approval_required => ${o.approvalRequired ?? true}::boolean, p_backup_hk => ${hk}::bytea)`.execute(this.db);
    return this.getRecovery(r.rows[0]!.recovery_id.toString('hex'));
  }

  /** The seed's initiate_point_in_time_recovery() (a time target, default restore directory). */
  async initiatePointInTimeRecovery(targetTime: Date | string, options: { approvalRequired?: boolean } = {}): Promise<RecoveryListRow> {
    const t = parseOrThrow(TargetTime, targetTime, 'target time');
    const approval = parseOrThrow(InitiateRecoveryOptions.shape.approvalRequired, options.approvalRequired, 'approvalRequired');
    const r = await sql<{ recovery_id: Buffer }>`
      SELECT recovery_id FROM backup_mgmt.initiate_point_in_time_recovery(
        p_tenant_hk => NULL::bytea, p_target_timestamp => ${t}::timestamptz,
        p_approval_required => ${approval ?? true}::boolean)`.execute(this.db);
    return this.getRecovery(r.rows[0]!.recovery_id.toString('hex'));
  }

  async createRestoreDrill(backupId?: string): Promise<RecoveryListRow> {
    const hk = backupId === undefined ? null : await this.backupKey(backupId);
    const r = await sql<{ recovery_id: Buffer }>`SELECT recovery_id FROM backup_mgmt.create_restore_drill(${hk}::bytea)`.execute(this.db);
    return this.getRecovery(r.rows[0]!.recovery_id.toString('hex'));
  }

  /** By hex hash key or business key; RecoveryNotFoundError if there is none. */
  async getRecovery(id: string, db: Kysely<ClientDatabase> = this.db): Promise<RecoveryListRow> {
    const key = parseOrThrow(RecoveryId, id, 'recovery id');
    return getOne(
      () => sql<RecoveryListRow>`SELECT * FROM backup_mgmt.get_recovery(${key})`.execute(db),
      () => new RecoveryNotFoundError(id),
    );
  }

  /** Newest first. */
  async listRecoveries(options?: ListRecoveriesOptions): Promise<RecoveryListRow[]> {
    const o = parseOrThrow(ListRecoveriesOptions, options, 'listRecoveries options');
    let q = this.db.selectFrom('backup_mgmt.recovery_list').selectAll();
    if (o.drills !== undefined) q = q.where('is_drill', '=', o.drills);
    if (o.copies) q = q.where('kept_running', '=', true);
    return q.orderBy('requested_at', 'desc').orderBy('recovery_bk', 'desc').limit(o.limit).execute();
  }

  async approveRecovery(id: string, comment?: string): Promise<RecoveryListRow> {
    const c = comment === undefined ? null : parseOrThrow(Comment, comment, 'comment');
    const r = await this.getRecovery(id);
    // The row as the approval left it: read in the approving transaction,
    // before an agent can claim the job it queued (then it reads RUNNING).
    return this.db.transaction().execute(async (trx) => {
      await sql`SELECT 1 FROM backup_mgmt.approve_recovery(${r.recovery_hk}, ${c}::text)`.execute(trx);
      return this.getRecovery(id, trx);
    });
  }

  async rejectRecovery(id: string, comment: string): Promise<RecoveryListRow> {
    const c = parseOrThrow(Comment, comment, 'comment (the reason is required)');
    const r = await this.getRecovery(id);
    await sql`SELECT 1 FROM backup_mgmt.reject_recovery(${r.recovery_hk}, ${c})`.execute(this.db);
    return this.getRecovery(id);
  }

  /** Record that a recovery's running copy was stopped and removed (restored_copy_removed). */
  async restoredCopyRemoved(id: string): Promise<RecoveryListRow> {
    const r = await this.getRecovery(id);
    await sql`SELECT 1 FROM backup_mgmt.restored_copy_removed(${r.recovery_hk})`.execute(this.db);
    return this.getRecovery(id);
  }

  async cancelRecovery(id: string): Promise<RecoveryListRow> {
    const r = await this.getRecovery(id);
    await sql`SELECT 1 FROM backup_mgmt.cancel_recovery(${r.recovery_hk})`.execute(this.db);
    return this.getRecovery(id);
  }

  /**
   * Wait until COMPLETED, FAILED, CANCELLED or REJECTED (PENDING approval is
   * not final). With onProgress it polls recovery_list; without, it blocks
   * in await_recovery on the server.
   */
  async awaitRecovery(id: string, options?: AwaitRecoveryOptions): Promise<RecoveryListRow> {
    const o = parseOrThrow(AwaitRecoveryOptions, options, 'awaitRecovery options');
    return awaitFinal(this.db, RECOVERY_WAIT, id, () => this.getRecovery(id), o);
  }
}
