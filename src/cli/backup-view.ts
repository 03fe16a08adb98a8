// How the backup commands show a backup to a person or a program.
import type { BackupListRow } from '../client/index.js';
import { printJson, printRecord, printTable } from './output.js';

export function formatBytes(v: string | number | null): string {
  if (v === null) return '';
  let n = Number(v);
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** JSON keeps every column; hash keys as hex. */
export function backupJson(row: BackupListRow): Record<string, unknown> {
  return { ...row, backup_hk: row.backup_hk.toString('hex'), tenant_hk: row.tenant_hk ? row.tenant_hk.toString('hex') : null };
}

export function printBackup(row: BackupListRow, json?: boolean): void {
  if (json) return printJson(backupJson(row));
  printRecord({
    backup_bk: row.backup_bk,
    backup_hk: row.backup_hk.toString('hex'),
    status: row.backup_status,
    verification: row.verification_status,
    verification_detail: row.verification_detail,
    error: row.error_message,
    size: formatBytes(row.backup_size_bytes),
    stored: formatBytes(row.compressed_size_bytes),
    compression_ratio: row.compression_ratio === null ? null : `${row.compression_ratio}:1`,
    started: row.backup_start_time,
    ended: row.backup_end_time,
    duration_s: row.backup_duration_seconds,
    repository_path: row.repository_path,
    lsn: row.start_lsn ? `${row.start_lsn} .. ${row.stop_lsn} (timeline ${row.timeline_id})` : null,
    wal: row.start_wal_file ? `${row.start_wal_file} .. ${row.stop_wal_file}` : null,
    system_identifier: row.system_identifier,
    files_present: row.files_present,
    running_job: row.job_id ? `${row.job_type} #${row.job_id} on ${row.agent_id}: ${row.progress_phase ?? ''} ${row.progress_done ?? ''}/${row.progress_total ?? ''}` : null,
  });
}

export function printBackupTable(rows: BackupListRow[]): void {
  printTable(
    rows.map((r) => ({
      backup_bk: r.backup_bk,
      status: r.backup_status,
      verification: r.verification_status ?? '',
      size: formatBytes(r.backup_size_bytes),
      stored: formatBytes(r.compressed_size_bytes),
      ratio: r.compression_ratio === null ? '' : `${r.compression_ratio}:1`,
      started: r.backup_start_time.toISOString().replace(/\.\d+Z$/, 'Z'),
      duration_s: r.backup_duration_seconds ?? '',
      error: (r.error_message ?? '').slice(0, 60),
    })),
  );
}
