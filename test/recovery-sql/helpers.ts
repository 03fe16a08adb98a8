// Shared by the recovery SQL tests: one throwaway cluster per test file, a
// fresh database with the pack installed per test, and a small catalog
// "history" written the way the agent would write it (create_full_backup +
// claim_job + complete_job, register_wal) with fake but realistic LSNs and
// times. The agent itself is not under test here: real restores are tested
// end to end elsewhere.
import { ClusterDb, useClusterDbs } from '../harness/pack-db.js';
import type { JobRow } from '../harness/catalog-fakes.js';
import { fakeFullBackupResult, lsn, segName } from '../harness/catalog-fakes.js';
export { lsn, segName };
export { sqlError, sqlState } from '../harness/sql-errors.js';

export const REPO = '/var/lib/backup-mgmt-test/repo';
export const RESTORE_ROOT = '/var/lib/backup-mgmt-test/restore';
export const AGENT = 'agent-r';

export type Job = JobRow;

export interface FullBackupSpec {
  startSeg: number;
  startOff?: number;
  stopSeg: number;
  stopOff?: number;
  /** Seconds after T0 at which the backup became consistent. */
  stopAt: number;
  /** Seconds after T0 at which it started (default stopAt - 30). */
  startAt?: number;
  nextXid?: number | string;
  verification?: 'VERIFIED' | 'FAILED';
  sizeBytes?: number;
}

export interface BackupRef {
  hk: Buffer;
  hex: string;
  bk: string;
  startLsn: string;
  stopLsn: string;
}

/** A database of its own with the pack installed. */
export class RecoveryDb extends ClusterDb {
  /** Base of all fake times: two hours ago, whole seconds. */
  readonly t0 = Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000;
  sysid = '';

  async init(): Promise<this> {
    this.sysid = (await this.one<{ s: string }>('SELECT system_identifier::text AS s FROM pg_control_system()')).s;
    return this;
  }

  /** Time `s` seconds after T0, as an ISO string. */
  at(s: number): string {
    return new Date(this.t0 + s * 1000).toISOString();
  }

  // --- the agent's side ------------------------------------------------------

  async registerAgent(restoreRoot: string | null = RESTORE_ROOT): Promise<void> {
    await this.q('SELECT backup_mgmt.agent_register($1, $2, $3, $4, $5, $6)', [AGENT, 'test-host', 4242, REPO, restoreRoot, { cpu_count: 2 }]);
  }

  async claim(types: string[]): Promise<Job | undefined> {
    const rows = await this.q<Job>('SELECT * FROM backup_mgmt.claim_job($1, $2)', [AGENT, types]);
    return rows[0];
  }

  async complete(job: Job, result: object): Promise<void> {
    await this.q('SELECT backup_mgmt.complete_job($1, $2, $3)', [job.job_id, AGENT, JSON.stringify(result)]);
  }

  async fail(job: Job, error: string, retryable = false): Promise<void> {
    await this.q('SELECT backup_mgmt.fail_job($1, $2, $3, $4)', [job.job_id, AGENT, error, retryable]);
  }

  /**
   * Registers archived segments. Segment k holds commits from T0 + 60k + 5 s
   * to T0 + 60k + 50 s and was archived at T0 + 60k + 55 s.
   */
  async archive(segs: number[], tl = 1): Promise<void> {
    const files = segs.map((k) => ({
      file_name: segName(k, tl),
      timeline_id: tl,
      start_lsn: lsn(k),
      bytes: 16 * 1024 * 1024,
      stored_bytes: 1024 * 1024,
      sha256: k.toString(16).padStart(64, '0'),
      archived_at: this.at(60 * k + 55),
      first_commit_time: this.at(60 * k + 5),
      last_commit_time: this.at(60 * k + 50),
    }));
    await this.q('SELECT backup_mgmt.register_wal($1, $2)', [this.sysid, JSON.stringify(files)]);
  }

  /** A full backup through create_full_backup / claim_job / complete_job. */
  async fullBackup(spec: FullBackupSpec): Promise<BackupRef> {
    const [row] = await this.q<{ backup_id: Buffer }>('SELECT * FROM backup_mgmt.create_full_backup()');
    const job = await this.claim(['BACKUP']);
    if (!job || !job.subject_hk.equals(row!.backup_id)) throw new Error('fullBackup: the backup job was not claimable');
    const plan = job.plan;
    const startLsn = lsn(spec.startSeg, spec.startOff ?? 0x28);
    const stopLsn = lsn(spec.stopSeg, spec.stopOff ?? 0x138);
    const stopAt = this.at(spec.stopAt);
    const startAt = this.at(spec.startAt ?? spec.stopAt - 30);
    await this.complete(
      job,
      fakeFullBackupResult({
        plan, sysid: this.sysid, startSeg: spec.startSeg, startLsn, stopSeg: spec.stopSeg, stopLsn, start: startAt, stop: stopAt,
        nextXid: spec.nextXid === undefined ? undefined : String(spec.nextXid), sizeBytes: spec.sizeBytes, verification: spec.verification ?? 'VERIFIED',
      }),
    );
    return { hk: row!.backup_id, hex: row!.backup_id.toString('hex'), bk: plan.backup_bk, startLsn, stopLsn };
  }

  /**
   * The standard history: segments 1..12 archived (except `missing`), B1
   * (segment 2, consistent at T0+122 s), B2 (started in segment 5 at T0+301 s,
   * consistent in segment 6 at T0+362 s), B3 (segment 8, T0+482 s) whose
   * verification FAILED.
   */
  async history(opts: { missing?: number[]; xids?: [number, number, number] } = {}) {
    await this.registerAgent();
    const segs = Array.from({ length: 12 }, (_, i) => i + 1).filter((k) => !(opts.missing ?? []).includes(k));
    await this.archive(segs);
    const [x1, x2, x3] = opts.xids ?? [1000, 2000, 3000];
    const b1 = await this.fullBackup({ startSeg: 2, stopSeg: 2, stopAt: 122, nextXid: x1 });
    const b2 = await this.fullBackup({ startSeg: 5, stopSeg: 6, stopOff: 0x100, startAt: 301, stopAt: 362, nextXid: x2 });
    const b3 = await this.fullBackup({ startSeg: 8, stopSeg: 8, stopAt: 482, nextXid: x3, verification: 'FAILED' });
    return { b1, b2, b3 };
  }

  /** Row counts of everything a recovery request could write. */
  counts(): Promise<Record<string, number>> {
    return this.rowCounts({
      recoveries: 'recovery_operation_h', recovery_versions: 'recovery_operation_s', recovery_links: 'recovery_backup_l',
      backups: 'backup_execution_h', backup_versions: 'backup_execution_s', dependencies: 'backup_dependency_l',
      jobs: 'job', restore_points: 'restore_point',
    });
  }

  async plan(kind: string, value: string | null, backup: Buffer | null = null): Promise<Record<string, any>> {
    return (await this.one<{ p: Record<string, any> }>('SELECT backup_mgmt.plan_recovery($1, $2, $3) AS p', [kind, value, backup])).p;
  }

  async recovery(hk: Buffer): Promise<Record<string, any>> {
    return this.one('SELECT * FROM backup_mgmt.recovery_list WHERE recovery_hk = $1', [hk]);
  }

  async backup(hk: Buffer): Promise<Record<string, any>> {
    return this.one('SELECT * FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [hk]);
  }
}

/** An error's message without the harness's "[cluster …]" suffix. */
export function message(e: Error): string {
  return e.message.replace(/ \[cluster [^\]]*\]$/, '');
}

/**
 * One cluster for the test file; freshDb() hands each test a database of its
 * own with the pack installed.
 */
export function useRecoveryPack() {
  return useClusterDbs({ name: 'recovery-sql', pgCron: false }, 'r', (c, name) => new RecoveryDb(c, name).init());
}

/** Login roles for the approval tests (cluster-wide; created once per cluster). */
export async function ensureRoles(db: RecoveryDb): Promise<void> {
  await db.q(`
    DO $$
    DECLARE v_pair text[];
    BEGIN
        FOREACH v_pair SLICE 1 IN ARRAY ARRAY[
            ARRAY['rec_olga', 'backup_operator'],
            ARRAY['rec_otto', 'backup_operator'],
            ARRAY['rec_al', 'recovery_approver'],
            ARRAY['rec_amy', 'recovery_approver'],
            ARRAY['rec_vic', 'backup_viewer'],
            ARRAY['rec_ada', 'backup_mgmt_admin']]
        LOOP
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_pair[1]) THEN
                EXECUTE format('CREATE ROLE %I LOGIN IN ROLE %I', v_pair[1], v_pair[2]);
            END IF;
        END LOOP;
        -- Amy both requests and approves: she must still not approve her own.
        IF NOT pg_has_role('rec_amy', 'backup_operator', 'MEMBER') THEN
            GRANT backup_operator TO rec_amy;
        END IF;
    END $$`);
}
