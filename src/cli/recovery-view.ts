// How the recovery commands show recoveries, plans and the recoverable window.
import type { RecoverabilityRow, RecoveryListRow, RecoveryPlan } from '../client/index.js';
import { formatBytes } from './backup-view.js';
import { printJson, printRecord, printTable } from './output.js';

const iso = (d: Date | string | null | undefined) => (d === null || d === undefined ? null : d instanceof Date ? d.toISOString() : d);

/** JSON keeps every column; hash keys as hex. */
export function recoveryJson(row: RecoveryListRow): Record<string, unknown> {
  return {
    ...row,
    recovery_hk: row.recovery_hk.toString('hex'),
    source_backup_hk: row.source_backup_hk ? row.source_backup_hk.toString('hex') : null,
    tenant_hk: row.tenant_hk ? row.tenant_hk.toString('hex') : null,
  };
}

export function describeTarget(row: Pick<RecoveryListRow, 'target_kind' | 'target_value'>): string {
  if (row.target_kind === 'latest') return 'latest (all archived WAL)';
  if (row.target_kind === 'immediate') return `immediate (end of ${row.target_value ?? 'the backup'})`;
  return `${row.target_kind ?? '?'} ${row.target_value ?? ''}`.trim();
}

/**
 * How an operator gets into a kept restore: its pg_hba trusts the private
 * socket directory alone (mode 0700, the server's OS user), so TCP on
 * 127.0.0.1 asks for a password nobody has. As root, runuser gets there.
 */
export function connectHint(row: RecoveryListRow): string | null {
  if (!row.restore_port || row.kept_running !== true) return null;
  const socket = row.socket_directory ?? `${row.restore_directory}/socket`;
  return `runuser -u postgres -- psql -h ${socket} -p ${row.restore_port} -d postgres`;
}

/** How to stop and delete it again. */
export function removeHint(row: RecoveryListRow): string | null {
  if (!row.restore_port || row.kept_running !== true) return null;
  return `backup-mgmt recovery remove ${row.recovery_bk}`;
}

export function printRecovery(row: RecoveryListRow, json?: boolean): void {
  if (json) return printJson(recoveryJson(row));
  printRecord({
    recovery_bk: row.recovery_bk,
    recovery_hk: row.recovery_hk.toString('hex'),
    type: row.is_drill ? 'restore drill' : row.recovery_type,
    status: row.recovery_status,
    target: describeTarget(row),
    base_backup: row.source_backup_bk,
    requested_by: row.initiated_by,
    approval: row.approval_required
      ? row.approved_by
        ? `approved by ${row.approved_by} at ${iso(row.approval_date)}${row.approval_comment ? `: ${row.approval_comment}` : ''}`
        : row.recovery_status === 'REJECTED'
          ? `rejected: ${row.approval_comment ?? ''}`
          : 'required (PENDING until a member of recovery_approver approves)'
      : 'not required',
    estimated_minutes: row.estimated_duration_minutes,
    started: iso(row.recovery_start_time),
    ended: iso(row.recovery_end_time),
    rto_seconds: row.recovery_duration_seconds,
    validation: row.validation_status,
    records_recovered: row.records_recovered,
    data_recovered: formatBytes(row.data_size_recovered),
    reached: row.reached_lsn ? `${row.reached_lsn}${row.reached_time ? ` (last commit ${row.reached_time})` : ''}` : null,
    restore_directory: row.restore_directory,
    restore_port: row.restore_port,
    kept_running: row.kept_running,
    connect: connectHint(row),
    remove: removeHint(row),
    error: row.error_message,
    running_job: row.job_id && row.recovery_status === 'RUNNING' ? `#${row.job_id} on ${row.agent_id}: ${row.progress_phase ?? ''} ${row.progress_done ?? ''}/${row.progress_total ?? ''}` : null,
    warnings: row.plan?.warnings?.length ? row.plan.warnings.join('; ') : null,
  });
}

export function printRecoveryTable(rows: RecoveryListRow[]): void {
  printTable(
    rows.map((r) => ({
      recovery_bk: r.recovery_bk,
      status: r.recovery_status,
      drill: r.is_drill ? 'yes' : '',
      target: describeTarget(r).slice(0, 50),
      base_backup: r.source_backup_bk ?? '',
      requested_by: r.initiated_by ?? '',
      rto_s: r.recovery_duration_seconds ?? '',
      validation: r.validation_status ?? '',
      port: r.kept_running ? r.restore_port ?? '' : '',
      error: (r.error_message ?? '').slice(0, 60),
    })),
  );
}

/** Restored copies left running: where they are, how to get in and how to remove them. */
export function printCopies(rows: RecoveryListRow[]): void {
  if (rows.length === 0) {
    process.stdout.write('no restored copy is left running\n');
    return;
  }
  printTable(
    rows.map((r) => ({
      recovery_bk: r.recovery_bk,
      target: describeTarget(r).slice(0, 40),
      ended: iso(r.recovery_end_time) ?? '',
      port: r.restore_port ?? '',
      directory: r.restore_directory ?? '',
    })),
  );
  for (const r of rows) process.stdout.write(`${r.recovery_bk}: connect: ${connectHint(r)}; remove: ${removeHint(r)}\n`);
}

/** The plan in a few lines: what will be restored and replayed, and what it will take. */
export function planSummary(plan: RecoveryPlan, restoreDirectory?: string | null): string {
  const lines = [
    `target:       ${plan.target.kind}${plan.target.value && plan.target.value !== plan.target.kind ? ` ${plan.target.value}` : ''}${plan.target.restore_point ? ` (LSN ${plan.target.restore_point.lsn})` : ''}`,
    `base backup:  ${plan.base.backup_bk} (ended ${plan.base.stop_time}, ${plan.base.verification_status}, ${formatBytes(plan.base.backup_size_bytes)})`,
    `WAL replay:   ${plan.wal.from_segment} .. ${plan.wal.to_segment} (${plan.wal.segments} segment(s), ${formatBytes(plan.wal.bytes)})`,
    `chain:        ${plan.chain.length} backup(s) (the base and ${plan.chain.length - 1} incremental(s) proving the WAL)`,
    `estimate:     ~${plan.estimate.minutes} min (${plan.estimate.basis} throughput ${formatBytes(plan.estimate.throughput_bytes_per_second)}/s)`,
  ];
  if (restoreDirectory) lines.push(`restore into: ${restoreDirectory}`);
  for (const w of plan.warnings ?? []) lines.push(`warning:      ${w}`);
  return `${lines.join('\n')}\n`;
}

/** The window in one line per timeline, e.g. beside a refusal. */
export function windowLines(rows: RecoverabilityRow[]): string[] {
  if (rows.length === 0) return ['recoverable window: none (no verified full backup with archived WAL)'];
  return rows.map((r) => {
    const from = r.earliest_recoverable_time ? iso(r.earliest_recoverable_time) : '(no usable backup)';
    const to = iso(r.latest_recoverable_time) ?? r.latest_recoverable_lsn ?? '?';
    const gaps = r.wal_gaps.length ? `; WAL gaps: ${r.wal_gaps.slice(0, 5).join(', ')}${r.wal_gaps.length > 5 ? ', …' : ''}` : '';
    return `recoverable window (timeline ${r.timeline_id}): ${from} .. ${to} (LSN ${r.earliest_recoverable_lsn ?? '?'} .. ${r.latest_recoverable_lsn ?? '?'})${gaps}`;
  });
}

export function printWindow(rows: RecoverabilityRow[]): void {
  if (rows.length === 0) {
    process.stdout.write('nothing is recoverable yet: no verified full backup with archived WAL\n');
    return;
  }
  for (const r of rows) {
    printRecord({
      system_identifier: r.system_identifier,
      timeline: r.timeline_id,
      earliest: r.earliest_recoverable_time ? `${iso(r.earliest_recoverable_time)} (LSN ${r.earliest_recoverable_lsn}, end of ${r.earliest_backup_bk})` : '(no usable backup)',
      latest: r.latest_recoverable_time || r.latest_recoverable_lsn ? `${iso(r.latest_recoverable_time) ?? '?'} (LSN ${r.latest_recoverable_lsn ?? '?'})` : '(none)',
      wal_gaps: r.wal_gaps.length ? `${r.missing_segments} missing: ${r.wal_gaps.slice(0, 10).join(', ')}${r.wal_gaps.length > 10 ? ', …' : ''}` : 'none',
      newest_segment: r.newest_segment ? `${r.newest_segment} (archived ${iso(r.newest_archived_at)})` : null,
      rpo_seconds: r.rpo_seconds,
      windows: r.windows.map((w) => `${w.from_time ?? w.from_lsn} .. ${w.to_time ?? w.to_lsn} (from ${w.base_backup_bk})`).join('; ') || null,
    });
  }
}

/** One line per recovery outcome, for --wait without --json. */
export function outcomeLine(row: RecoveryListRow): string {
  if (row.recovery_status === 'COMPLETED') {
    const where = row.kept_running ? `; running on port ${row.restore_port} (${row.restore_directory}); connect: ${connectHint(row)}; remove: ${removeHint(row)}` : '';
    return `${row.recovery_bk} COMPLETED in ${row.recovery_duration_seconds} s (RTO), validation ${row.validation_status}: ${row.records_recovered} rows, ${formatBytes(row.data_size_recovered)}, reached ${row.reached_lsn}${where}\n`;
  }
  return `${row.recovery_bk} ${row.recovery_status}${row.error_message ? `: ${row.error_message}` : ''}\n`;
}
