// Shared by the retention tests: a fresh database with the pack installed per
// test, and a catalog history written the way the agent writes it
// (create_full_backup / create_incremental_backup + claim_job + complete_job
// or fail_job, register_wal) on one connection, then moved back in time with
// direct UPDATEs of the times the agent cannot backdate (request times, the
// end of failed backups). Only these tests backdate; the functions under
// test never do.
import pg from 'pg';
import { ClientDb, useClusterDbs } from '../harness/pack-db.js';
import type { JobRow } from '../harness/catalog-fakes.js';
import { fakeFullBackupResult, lsn, SEG, segName } from '../harness/catalog-fakes.js';
export { lsn, segName };
export { sqlState } from '../harness/sql-errors.js';

export const REPO = '/var/lib/backup-mgmt-test/retention-repo';
export const AGENT = 'agent-ret';
export const HOUR = 3600_000;
export const DAY = 24 * HOUR;

export function lsnValue(text: string): bigint {
  const [hi, lo] = text.split('/') as [string, string];
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

export function segOf(fileName: string): number {
  return parseInt(fileName.slice(8, 16), 16) * 256 + parseInt(fileName.slice(16, 24), 16);
}

export type Job = JobRow;

/** What the test knows about a backup it made, independently of the catalog. */
export interface Made {
  hex: string;
  bk: string;
  type: 'FULL' | 'INCREMENTAL';
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
  verification: 'VERIFIED' | 'FAILED' | 'SKIPPED' | null;
  /** When it became consistent (stop_time); for failed backups their end. */
  end: Date;
  /** backup_end_time: what the retention period counts from. */
  finished: Date;
  parentHex: string | null;
  startSeg: number | null;
  stopSeg: number | null;
}

export interface WalFile {
  file_name: string;
  timeline_id: number;
  stored_bytes: number;
}

/** One database with the pack, one connection, and the agent's side of the protocol. */
export class RetentionDb extends ClientDb {
  sysid = '';
  readonly made: Made[] = [];
  readonly wal: WalFile[] = [];
  private readonly backdates: { hex: string; start: Date; end: Date | null }[] = [];

  constructor(
    client: pg.Client,
    readonly name: string,
  ) {
    super(client);
  }

  async init(): Promise<this> {
    // Thousands of small catalog calls: JIT would compile more than it runs.
    await this.q('SET jit = off');
    this.sysid = (await this.one<{ s: string }>('SELECT system_identifier::text AS s FROM pg_control_system()')).s;
    await this.q('SELECT backup_mgmt.agent_register($1, $2, $3, $4, $5, $6)', [AGENT, 'test-host', 4242, REPO, null, { cpu_count: 2 }]);
    return this;
  }

  async setting(name: string, value: string | null): Promise<void> {
    await this.q('SELECT backup_mgmt.set_setting($1, $2)', [name, value]);
  }

  async claim(types: string[]): Promise<Job | undefined> {
    return (await this.q<Job>('SELECT * FROM backup_mgmt.claim_job($1, $2)', [AGENT, types]))[0];
  }

  async complete(job: Job, result: object): Promise<void> {
    await this.q('SELECT backup_mgmt.complete_job($1, $2, $3)', [job.job_id, AGENT, JSON.stringify(result)]);
  }

  async fail(job: Job, error: string): Promise<void> {
    await this.q('SELECT backup_mgmt.fail_job($1, $2, $3, false)', [job.job_id, AGENT, error]);
  }

  private async claimBackup(hex: string): Promise<Job> {
    const job = await this.claim(['BACKUP']);
    if (!job || job.subject_hk.toString('hex') !== hex) throw new Error('the backup job was not claimable');
    return job;
  }

  /** A full backup that started at `start` in segment `startSeg` and was consistent at `stop`. */
  async fullBackup(spec: { startSeg: number; stopSeg?: number; start: Date; stop: Date; verification?: 'VERIFIED' | 'FAILED'; tl?: number }): Promise<Made> {
    const row = await this.one<{ backup_id: Buffer }>('SELECT * FROM backup_mgmt.create_full_backup()');
    const hex = row.backup_id.toString('hex');
    const job = await this.claimBackup(hex);
    const stopSeg = spec.stopSeg ?? spec.startSeg;
    const status = spec.verification ?? 'VERIFIED';
    await this.complete(
      job,
      fakeFullBackupResult({
        plan: job.plan, sysid: this.sysid, timeline: spec.tl, startSeg: spec.startSeg, startLsn: lsn(spec.startSeg, 0x28),
        stopSeg, stopLsn: lsn(stopSeg, 0x1000), start: spec.start.toISOString(), stop: spec.stop.toISOString(), nextXid: '1000', verification: status,
      }),
    );
    this.backdates.push({ hex, start: spec.start, end: null });
    const m: Made = {
      hex, bk: job.plan.backup_bk, type: 'FULL', status: 'COMPLETED', verification: status,
      end: spec.stop, finished: spec.stop, parentHex: null, startSeg: spec.startSeg, stopSeg,
    };
    this.made.push(m);
    return m;
  }

  /**
   * An incremental on the latest valid chain whose WAL switch ended segment
   * `stopSeg` at `stop` (stop_lsn = the start of the next segment).
   */
  async incremental(spec: { stopSeg: number; stop: Date; verification?: 'VERIFIED' | 'FAILED'; fail?: boolean }): Promise<Made> {
    const row = await this.one<{ backup_id: Buffer; base_backup_id: Buffer }>('SELECT * FROM backup_mgmt.create_incremental_backup()');
    const hex = row.backup_id.toString('hex');
    const job = await this.claimBackup(hex);
    const start = new Date(spec.stop.getTime() - 20_000);
    const ended = new Date(spec.stop.getTime() + 10_000);
    const base = {
      hex, bk: job.plan.backup_bk, type: 'INCREMENTAL' as const, parentHex: row.base_backup_id.toString('hex'),
      startSeg: null, stopSeg: spec.stopSeg,
    };
    if (spec.fail) {
      await this.fail(job, 'WAL segment not archived after 300 s');
      this.backdates.push({ hex, start, end: ended });
      const m: Made = { ...base, status: 'FAILED', verification: null, end: ended, finished: ended };
      this.made.push(m);
      return m;
    }
    const stopLsn = lsn(spec.stopSeg + 1);
    const chainStart = Number(lsnValue(job.plan.chain_start_lsn) / SEG);
    const status = spec.verification ?? 'VERIFIED';
    await this.complete(job, {
      stop_lsn: stopLsn,
      stop_wal_file: segName(spec.stopSeg),
      stop_time: spec.stop.toISOString(),
      next_xid: '2000',
      changes_captured: Number(lsnValue(stopLsn) - lsnValue(job.plan.range_start_lsn)),
      wal_files_checked: spec.stopSeg - chainStart + 1,
      started_at: start.toISOString(),
      ended_at: ended.toISOString(),
      verification: {
        status,
        detail: status === 'VERIFIED' ? 'all segments present' : `${segName(spec.stopSeg)}: checksum mismatch`,
        verified_at: ended.toISOString(),
      },
    });
    this.backdates.push({ hex, start, end: null });
    const m: Made = { ...base, status: 'COMPLETED', verification: status, end: spec.stop, finished: ended };
    this.made.push(m);
    return m;
  }

  /** An incremental on `baseHex` that an agent has claimed and is still taking (RUNNING). */
  async runningIncremental(baseHex: string): Promise<string> {
    const row = await this.one<{ backup_id: Buffer }>('SELECT * FROM backup_mgmt.create_incremental_backup(NULL, decode($1, \'hex\'))', [baseHex]);
    const hex = row.backup_id.toString('hex');
    await this.claimBackup(hex);
    return hex;
  }

  /** A full backup whose job failed (no files), between `start` and `end`. */
  async failedFull(start: Date, end: Date): Promise<Made> {
    const row = await this.one<{ backup_id: Buffer }>('SELECT * FROM backup_mgmt.create_full_backup()');
    const hex = row.backup_id.toString('hex');
    const job = await this.claimBackup(hex);
    await this.fail(job, 'pg_basebackup failed: could not connect to server');
    this.backdates.push({ hex, start, end });
    const m: Made = { hex, bk: job.plan.backup_bk, type: 'FULL', status: 'FAILED', verification: null, end, finished: end, parentHex: null, startSeg: null, stopSeg: null };
    this.made.push(m);
    return m;
  }

  /** A full backup cancelled while it was still queued. */
  async cancelledFull(at: Date): Promise<Made> {
    const row = await this.one<{ backup_id: Buffer }>('SELECT * FROM backup_mgmt.create_full_backup()');
    const hex = row.backup_id.toString('hex');
    await this.q('SELECT * FROM backup_mgmt.cancel_backup($1)', [row.backup_id]);
    const bk = (await this.one<{ backup_bk: string }>('SELECT backup_bk FROM backup_mgmt.backup_execution_h WHERE backup_hk = $1', [row.backup_id])).backup_bk;
    this.backdates.push({ hex, start: at, end: at });
    const m: Made = { hex, bk, type: 'FULL', status: 'CANCELLED', verification: 'SKIPPED', end: at, finished: at, parentHex: null, startSeg: null, stopSeg: null };
    this.made.push(m);
    return m;
  }

  /**
   * Moves request times (and the end of failed or cancelled backups) back to
   * when the history says they happened: the agent reports the times of
   * completed backups itself, the rest is the server's now().
   */
  async applyBackdates(): Promise<void> {
    const rows = this.backdates.splice(0);
    await this.q(
      `UPDATE backup_mgmt.backup_execution_s AS s
          SET requested_at = d.start,
              backup_start_time = CASE WHEN s.backup_status IN ('PENDING', 'RUNNING', 'FAILED', 'CANCELLED') THEN d.start ELSE s.backup_start_time END,
              backup_end_time = CASE WHEN s.backup_status IN ('FAILED', 'CANCELLED') THEN d.finish ELSE s.backup_end_time END
         FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS d (hex, start, finish)
        WHERE s.backup_hk = decode(d.hex, 'hex')`,
      [rows.map((r) => r.hex), rows.map((r) => r.start.toISOString()), rows.map((r) => r.end?.toISOString() ?? null)],
    );
  }

  /**
   * Registers archived WAL: segment k holds commits from `at(k)` + 1 min to
   * `at(k)` + 59 min and was archived at `at(k)` + 1 h.
   */
  async archive(segs: number[], at: (seg: number) => Date, tl = 1): Promise<void> {
    const files = segs.map((k) => ({
      file_name: segName(k, tl),
      timeline_id: tl,
      start_lsn: lsn(k),
      bytes: 16 * 1024 * 1024,
      stored_bytes: 1024 * 1024 + k,
      sha256: k.toString(16).padStart(64, '0'),
      archived_at: new Date(at(k).getTime() + HOUR).toISOString(),
      first_commit_time: new Date(at(k).getTime() + 60_000).toISOString(),
      last_commit_time: new Date(at(k).getTime() + 59 * 60_000).toISOString(),
    }));
    await this.registerWal(files);
  }

  async registerWal(files: (WalFile & Record<string, unknown>)[]): Promise<void> {
    for (let i = 0; i < files.length; i += 1000) {
      await this.q('SELECT backup_mgmt.register_wal($1, $2)', [this.sysid, JSON.stringify(files.slice(i, i + 1000))]);
    }
    this.wal.push(...files.map((f) => ({ file_name: f.file_name, timeline_id: f.timeline_id, stored_bytes: f.stored_bytes })));
  }

  async cleanup(dryRun: boolean): Promise<CleanupRow[]> {
    return this.q<CleanupRow>('SELECT * FROM backup_mgmt.cleanup_expired_backups(NULL, $1)', [dryRun]);
  }

  async plan(): Promise<PlanRow[]> {
    return this.q<PlanRow>('SELECT * FROM backup_mgmt.cleanup_plan()');
  }

  async status(hex: string): Promise<{ backup_status: string; files_present: boolean | null }> {
    return this.one(
      `SELECT c.backup_status, st.files_present FROM backup_mgmt.backup_execution_current AS c
         LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
        WHERE c.backup_hk = decode($1, 'hex')`,
      [hex],
    );
  }
}

export interface CleanupRow {
  backup_id: Buffer | null;
  backup_name: string;
  expiration_date: Date | null;
  backup_size_bytes: string | null;
  action_taken: string;
}

export interface PlanRow {
  backup_id: Buffer | null;
  backup_name: string;
  backup_type: string;
  backup_status: string | null;
  action: string;
  keep_rules: string[];
  reason: string;
  job_id: string | null;
}

/** One cluster per test file; freshDb() gives each test a database of its own with the pack installed. */
export function useRetentionPack() {
  return useClusterDbs({ name: 'retention', pgCron: false }, 'ret', async (cluster, name) => {
    const client = await cluster.connect(name);
    client.on('error', () => {});
    return new RetentionDb(client, name).init();
  });
}
