// Plan and apply through the SQL functions: policy_plan() and policy_apply()
// decide everything; this only sends the validated document.
import { parseBackupPolicy } from './define.js';
import type { BackupPolicy } from './schema.js';

/** Anything with pg's query(text, values): a pg.Client, a pg.Pool, a pool client. */
export interface PolicyQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export type PolicyAction = 'create' | 'alter' | 'pause' | 'resume' | 'drop' | 'adopt' | 'record' | 'release' | 'set' | 'reset';

/** One row of the plan (policy_plan / policy_apply). */
export interface PolicyChange {
  object_kind: 'schedule' | 'setting';
  object_name: string;
  action: PolicyAction;
  /** The field (schedules: e.g. cron, retention.period; settings: value); null for whole-object actions. */
  field: string | null;
  old_value: unknown;
  new_value: unknown;
  /** The change undoes one made by hand since the last apply. */
  drift: boolean;
  detail: string | null;
}

const COLUMNS = 'object_kind, object_name, action, field, old_value, new_value, drift, detail';

/** What applying the policy would change; changes nothing. An empty list: nothing to do. */
export async function planBackupPolicy(db: PolicyQueryable, policy: BackupPolicy): Promise<PolicyChange[]> {
  const doc = JSON.stringify(parseBackupPolicy(policy));
  return (await db.query(`SELECT ${COLUMNS} FROM backup_mgmt.policy_plan($1::jsonb)`, [doc])).rows as PolicyChange[];
}

/**
 * Applies the policy in one statement (one transaction unless `db` is inside
 * a transaction of the caller's, which must be READ COMMITTED). `wait: false`
 * refuses (SQLSTATE 55P03) instead of waiting while another apply runs.
 */
export async function applyBackupPolicy(db: PolicyQueryable, policy: BackupPolicy, options: { wait?: boolean } = {}): Promise<PolicyChange[]> {
  const doc = JSON.stringify(parseBackupPolicy(policy));
  const wait = options.wait ?? true;
  return (await db.query(`SELECT ${COLUMNS} FROM backup_mgmt.policy_apply($1::jsonb, $2::boolean)`, [doc, wait])).rows as PolicyChange[];
}
