// Shared by the health tests: a database with the pack installed on a cluster
// that archives WAL (archive_command 'true' until a test breaks it), and a
// catalog history written the way the agent writes it (create_full_backup +
// claim_job + complete_job, register_wal, a restore drill) with fake LSNs
// and times relative to now, so that every health check starts out OK.
import pg from 'pg';
import { expect } from 'vitest';
import { ClientDb } from '../harness/pack-db.js';
import { segName as walFileName } from '../harness/catalog-fakes.js';
import { waitFor as poll } from '../harness/wait.js';
export { sqlState } from '../harness/sql-errors.js';

export const AGENT = 'agent-h';
export const REPO = '/var/lib/backup-mgmt-test/health-repo';
export const RESTORE_ROOT = '/var/lib/backup-mgmt-test/health-restore';
/** Fake archived segments 1..LAST_SEG; the real server is kept beyond them (see pushWalBeyond). */
export const LAST_SEG = 6;
const SEG = 0x1000000n; // 16 MiB segments (the harness's initdb default)

export type Status = 'OK' | 'WARNING' | 'CRITICAL';

export interface CheckRow {
  check_name: string;
  status: Status;
  value: string | null;
  threshold: string | null;
  detail: string | null;
}

export interface Job {
  job_id: string;
  job_type: string;
  subject_hk: Buffer;
  plan: Record<string, any>;
}

/** LSN text of byte `offset` of segment `seg`. */
export function lsn(seg: number, offset = 0): string {
  const v = BigInt(seg) * SEG + BigInt(offset);
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** WAL file name of segment `seg` on timeline 1 (one argument: safe to pass to map). */
export const segName = (seg: number): string => walFileName(seg);

/** ISO time `seconds` before now. */
export const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

export const HOUR = 3600;
export const DAY = 86400;

/** One connection to the pack's database, with the agent's and the user's calls. */
export class HealthDb extends ClientDb {
  sysid = '';

  private constructor(client: pg.Client) {
    super(client);
  }

  static async open(url: string): Promise<HealthDb> {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    const db = new HealthDb(client);
    db.sysid = (await db.one<{ s: string }>('SELECT system_identifier::text AS s FROM pg_control_system()')).s;
    return db;
  }

  // --- reading the health ----------------------------------------------------

  /** health_check() keyed by check name; the agent heartbeats first, as a running agent would. */
  async health(heartbeat = true): Promise<Record<string, CheckRow>> {
    if (heartbeat) await this.q('SELECT backup_mgmt.agent_heartbeat($1)', [AGENT]);
    const rows = await this.q<CheckRow>('SELECT * FROM backup_mgmt.health_check()');
    return Object.fromEntries(rows.map((r) => [r.check_name, r]));
  }

  /** The row of one check. */
  async check(name: string, heartbeat = true): Promise<CheckRow> {
    const row = (await this.health(heartbeat))[name];
    if (!row) throw new Error(`no health check ${name}`);
    return row;
  }

  /** Asserts that every check is OK (the message shows those that are not). */
  async expectAllOk(): Promise<void> {
    const rows = Object.values(await this.health());
    expect(rows.filter((r) => r.status !== 'OK')).toEqual([]);
    expect(rows).toHaveLength(17);
  }

  async setSetting(name: string, value: string | null): Promise<void> {
    await this.q('SELECT backup_mgmt.set_setting($1, $2)', [name, value]);
  }

  // --- the agent's side ------------------------------------------------------

  async registerAgent(id = AGENT): Promise<void> {
    await this.q('SELECT backup_mgmt.agent_register($1, $2, $3, $4, $5, $6)', [id, 'health-host', 4242, REPO, RESTORE_ROOT, { cpu_count: 2 }]);
  }

  async reportStorage(free: number, total: number, id = AGENT): Promise<void> {
    await this.q('SELECT backup_mgmt.agent_report_storage($1, $2, $3)', [id, free, total]);
  }

  async claim(types: string[]): Promise<Job> {
    const [job] = await this.q<Job>('SELECT * FROM backup_mgmt.claim_job($1, $2)', [AGENT, types]);
    if (!job) throw new Error(`no ${types.join('/')} job to claim`);
    return job;
  }

  async complete(job: Job, result: object): Promise<void> {
    await this.q('SELECT backup_mgmt.complete_job($1, $2, $3)', [job.job_id, AGENT, JSON.stringify(result)]);
  }

  /**
   * Registers archived segments `segs`; segment k was archived at
   * archivedAgo(k) seconds ago and its newest commit is 5 s older.
   */
  async archive(segs: number[], archivedAgo: (seg: number) => number): Promise<void> {
    const files = segs.map((k) => ({
      file_name: segName(k),
      timeline_id: 1,
      start_lsn: lsn(k),
      bytes: 16 * 1024 * 1024,
      stored_bytes: 1024 * 1024,
      sha256: k.toString(16).padStart(64, '0'),
      archived_at: ago(archivedAgo(k)),
      first_commit_time: ago(archivedAgo(k) + 50),
      last_commit_time: ago(archivedAgo(k) + 5),
    }));
    await this.q('SELECT backup_mgmt.register_wal($1, $2)', [this.sysid, JSON.stringify(files)]);
  }

  /** A full backup in segment `seg` that became consistent `endedAgo` seconds ago. */
  async fullBackup(seg: number, endedAgo: number, verification: 'VERIFIED' | 'FAILED' = 'VERIFIED'): Promise<{ hk: Buffer; bk: string }> {
    const [row] = await this.q<{ backup_id: Buffer }>('SELECT * FROM backup_mgmt.create_full_backup()');
    const job = await this.claim(['BACKUP']);
    expect(job.subject_hk).toEqual(row!.backup_id);
    const plan = job.plan;
    const ended = ago(endedAgo);
    const started = ago(endedAgo + 30);
    await this.complete(job, {
      repository_path: `${plan.repository_root}/${this.sysid}/backups/${plan.backup_bk}`,
      system_identifier: this.sysid,
      backup_size_bytes: 100 * 1024 * 1024,
      compressed_size_bytes: 20 * 1024 * 1024,
      start_lsn: lsn(seg, 0x28),
      stop_lsn: lsn(seg, 0x138),
      timeline_id: 1,
      start_wal_file: segName(seg),
      stop_wal_file: segName(seg),
      start_time: started,
      stop_time: ended,
      pg_version: 'PostgreSQL 15.18',
      pg_version_num: 150018,
      manifest_sha256: 'a'.repeat(64),
      stored_files: [{ name: 'base.tar.zst', bytes: 20 * 1024 * 1024, sha256: 'b'.repeat(64) }],
      started_at: started,
      ended_at: ended,
      verification: { status: verification, detail: verification === 'VERIFIED' ? 'all files match' : 'base.tar.zst: checksum mismatch', verified_at: ended },
    });
    return { hk: row!.backup_id, bk: plan.backup_bk };
  }

  /** Queues a verification of `hk` and lets the agent report `status`. */
  async verify(hk: Buffer, status: 'VERIFIED' | 'FAILED' | null): Promise<void> {
    await this.q('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [hk]);
    if (status === null) return;
    const job = await this.claim(['VERIFY']);
    await this.complete(job, { verification: { status, detail: status === 'VERIFIED' ? 'all files match' : 'checksum mismatch', verified_at: new Date().toISOString() } });
  }

  /** A restore drill of the newest full backup that restores and validates. */
  async drill(): Promise<Buffer> {
    const [r] = await this.q<{ recovery_id: Buffer }>('SELECT * FROM backup_mgmt.create_restore_drill()');
    const job = await this.claim(['RESTORE']);
    await this.complete(job, {
      restore_directory: job.plan.restore_directory,
      restore_port: 54399,
      recovery_end_time: new Date().toISOString(),
      recovery_duration_seconds: 12.5,
      reached: { lsn: job.plan.target?.lsn ?? job.plan.base.stop_lsn, time: new Date().toISOString() },
      validation: { status: 'PASSED', records_recovered: 100, data_size_recovered: 1000000, detail: 'tables counted' },
      kept_running: false,
    });
    return r!.recovery_id;
  }

  // --- the real server's WAL -------------------------------------------------

  /** Segment number of the WAL file the server writes now. */
  async currentSegment(): Promise<number> {
    const r = await this.one<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f');
    return parseInt(r.f.slice(8, 16), 16) * 256 + parseInt(r.f.slice(16, 24), 16);
  }

  /** Writes and switches WAL until the server is past segment `seg` (so the fake archive is not "idle"). */
  async pushWalBeyond(seg: number): Promise<void> {
    await this.q('CREATE TABLE IF NOT EXISTS public.health_wal_filler (n int)');
    while ((await this.currentSegment()) <= seg) {
      await this.q('INSERT INTO public.health_wal_filler VALUES (1)');
      await this.q('SELECT pg_switch_wal()');
    }
    await this.q('INSERT INTO public.health_wal_filler VALUES (1)');
  }

  /**
   * The history under which every check is OK: an agent with a fresh
   * heartbeat and half its repository free; segments 1..6 archived, the last
   * 30 s ago; full backups B1 (segment 2, two days ago: opens a two-day
   * window) and B2 (segment 5, an hour ago), both verified; a drill that
   * passed; the server's WAL beyond the fake archive.
   */
  async baseline(): Promise<{ b1: { hk: Buffer; bk: string }; b2: { hk: Buffer; bk: string } }> {
    await this.pushWalBeyond(LAST_SEG + 3);
    await this.registerAgent();
    await this.reportStorage(50 * 2 ** 30, 100 * 2 ** 30);
    const archivedAgo: Record<number, number> = { 1: 2 * DAY + 600, 2: 2 * DAY - 60, 3: 1.5 * DAY, 4: DAY, 5: HOUR - 60, 6: 30 };
    await this.archive([1, 2, 3, 4, 5, 6], (k) => archivedAgo[k]!);
    const b1 = await this.fullBackup(2, 2 * DAY);
    const b2 = await this.fullBackup(5, HOUR);
    await this.drill();
    return { b1, b2 };
  }
}

/** Polls `fn` until it returns something other than undefined/false. */
export const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> =>
  poll(what, fn, timeoutMs, everyMs);
