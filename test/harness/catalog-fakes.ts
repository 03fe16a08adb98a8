// What the SQL suites fake in place of a cluster's WAL and the agent: WAL
// file names and positions, the job rows claim_job returns, and the result an
// agent reports for a full backup.

/** 16 MiB segments, the harness's initdb default. */
export const SEG = 0x1000000n;

/** LSN text of byte `offset` of segment `seg`. */
export function lsn(seg: number, offset = 0): string {
  const v = BigInt(seg) * SEG + BigInt(offset);
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** WAL file name of segment `seg` on timeline `tl`. */
export function segName(seg: number, tl = 1): string {
  const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex8(tl)}${hex8(Math.floor(seg / 256))}${hex8(seg % 256)}`;
}

/** A row of claim_job(), the columns the suites read. */
export interface JobRow {
  job_id: string;
  job_type: string;
  subject_hk: Buffer;
  plan: Record<string, any>;
  status: string;
  priority: number;
  attempts: number;
}

/** A full backup as a suite makes it up: where it lies in the WAL, when, and its verification. */
export interface FakeFullBackup {
  plan: Record<string, any>;
  sysid: string;
  timeline?: number;
  startSeg: number;
  startLsn: string;
  stopSeg: number;
  stopLsn: string;
  /** ISO times of its start and of its end (consistent). */
  start: string;
  stop: string;
  nextXid?: string;
  sizeBytes?: number;
  verification: 'VERIFIED' | 'FAILED';
}

/** complete_job's result for such a backup (PROTOCOL.md), with made-up sizes and checksums. */
export function fakeFullBackupResult(b: FakeFullBackup): Record<string, unknown> {
  return {
    repository_path: `${b.plan.repository_root}/${b.sysid}/backups/${b.plan.backup_bk}`,
    system_identifier: b.sysid,
    backup_size_bytes: b.sizeBytes ?? 100 * 1024 * 1024,
    compressed_size_bytes: 20 * 1024 * 1024,
    start_lsn: b.startLsn,
    stop_lsn: b.stopLsn,
    timeline_id: b.timeline ?? 1,
    start_wal_file: segName(b.startSeg, b.timeline),
    stop_wal_file: segName(b.stopSeg, b.timeline),
    start_time: b.start,
    stop_time: b.stop,
    next_xid: b.nextXid,
    pg_version: 'PostgreSQL 15.18',
    pg_version_num: 150018,
    manifest_sha256: 'a'.repeat(64),
    stored_files: [{ name: 'base.tar.zst', bytes: 20 * 1024 * 1024, sha256: 'b'.repeat(64) }],
    started_at: b.start,
    ended_at: b.stop,
    verification: {
      status: b.verification,
      detail: b.verification === 'VERIFIED' ? 'all files match' : 'base.tar.zst: checksum mismatch',
      verified_at: b.stop,
    },
  };
}
