// p_storage_type => 'S3': the request side of backups whose home is the
// off-host repository. No agent runs; the test registers one as an agent
// started with BACKUP_MGMT_REPO_S3 would (p_info.offsite).
import { describe, expect, it } from 'vitest';
import { fullBackupResult, REPO, sqlError, SYSID, type BackupRow, type Plan, usePack } from './helpers.js';

const pack = usePack();
const S3 = 's3://pgbackups/cluster-a';
const FP = 'age-x25519:0123456789abcdef0123456789abcdef';
const OFFSITE = { cpu_count: 2, offsite: { location: S3, encryption_fingerprints: [FP] } };

describe("create_full_backup(p_storage_type => 'S3')", () => {
  it('is refused with 55000 and a hint while no live agent reports an off-host repository; nothing is written', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const before = await db.counts();
    const e = await sqlError(db.q(`SELECT * FROM backup_mgmt.create_full_backup(p_storage_type => 'S3')`));
    expect(e.code).toBe('55000');
    expect(e.message).toMatch(/^create_full_backup: storage type S3 needs an off-host repository, and no live agent has one/);
    expect(e.detail).toMatch(/BACKUP_MGMT_REPO_S3/);
    expect(e.hint).toMatch(/BACKUP_MGMT_REPO_S3=s3:\/\/bucket\/prefix and BACKUP_MGMT_ENCRYPT_RECIPIENT/);
    // GCS and AZURE keep their "not supported" error; lower case is the same type.
    for (const t of ['GCS', 'azure']) {
      const u = await sqlError(db.q(`SELECT * FROM backup_mgmt.create_full_backup(p_storage_type => $1)`, [t]));
      expect(u.code).toBe('0A000');
      expect(u.message).toMatch(/storage type (GCS|AZURE) is not supported yet/);
    }
    // A stopped agent's report does not count.
    await db.registerAgent('agent-s3', REPO, OFFSITE);
    await db.q(`SELECT backup_mgmt.agent_stopped('agent-s3')`);
    expect((await sqlError(db.q(`SELECT * FROM backup_mgmt.create_full_backup(p_storage_type => 's3')`))).code).toBe('55000');
    const after = await db.counts();
    expect({ ...after, agents: before.agents }).toEqual(before);
  });

  it('refuses a malformed report and a location outside the off-host repository (22023)', async () => {
    const db = await pack.freshDb();
    await db.registerAgent('agent-s3', REPO, { offsite: { location: 's3://pgbackups/../etc', encryption_fingerprints: [FP] } });
    expect((await sqlError(db.q(`SELECT * FROM backup_mgmt.create_full_backup(p_storage_type => 'S3')`))).code).toBe('22023');
    await db.registerAgent('agent-s3', REPO, { offsite: { location: S3, encryption_fingerprints: [] } });
    const noKey = await sqlError(db.q(`SELECT * FROM backup_mgmt.create_full_backup(p_storage_type => 'S3')`));
    expect(noKey.code).toBe('22023');
    expect(noKey.hint).toMatch(/BACKUP_MGMT_ENCRYPT_RECIPIENT/);
    await db.registerAgent('agent-s3', REPO, OFFSITE);
    const before = await db.counts();
    for (const loc of ['s3://other-bucket/x', REPO, `${S3}/sub`]) {
      const e = await sqlError(db.q(`SELECT * FROM backup_mgmt.create_full_backup(NULL, $1, 'S3')`, [loc]));
      expect(e.code, loc).toBe('22023');
      expect(e.hint).toMatch(/Leave p_backup_location NULL/);
    }
    expect(await db.counts()).toEqual(before);
  });

  it("queues a plan whose repository_root is the agent's s3:// location, and records the completed backup with its key fingerprints", async () => {
    const db = await pack.freshDb();
    await db.registerAgent('agent-s3', REPO, OFFSITE);
    const row = await db.one<BackupRow>(`SELECT * FROM backup_mgmt.create_full_backup(NULL, $1, 'S3')`, [`${S3}/`]);
    expect(row.backup_status).toBe('PENDING');
    expect(await db.current(row.backup_id)).toMatchObject({ storage_type: 'S3', backup_location: S3 });
    const job = await db.jobFor(row.backup_id);
    expect((job.plan as Plan).repository_root).toBe(S3);
    // A LOCAL request is not coalesced onto it: another repository.
    const local = await db.createFullBackup();
    expect(local.backup_id).not.toEqual(row.backup_id);

    const claimed = (await db.claim('agent-s3'))!;
    expect(claimed.job_id).toBe(job.job_id);
    const plan = claimed.plan as Plan;
    // Every bad shape is refused with 22023 and leaves the backup RUNNING.
    const bad: Record<string, unknown>[] = [
      { encryption_fingerprints: undefined },
      { encryption_fingerprints: ['age-x25519:nothex'] },
      { repository_path: `/var/lib/x/${SYSID}/backups/${plan.backup_bk}` },
      { repository_path: `s3://other-bucket/cluster-a/${SYSID}/backups/${plan.backup_bk}` },
      { repository_path: `${S3}/${SYSID}/backups/../../${plan.backup_bk}` },
      { repository_path: `${S3}/${SYSID}/backups/$(id)` },
    ];
    for (const o of bad) {
      const e = await sqlError(db.complete(claimed, fullBackupResult(plan, { encryption_fingerprints: [FP], ...o }), 'agent-s3'));
      expect(e.code, JSON.stringify(o)).toBe('22023');
    }
    expect((await db.current(row.backup_id)).backup_status).toBe('RUNNING');

    await db.complete(claimed, fullBackupResult(plan, { encryption_fingerprints: [FP] }), 'agent-s3');
    expect((await db.current(row.backup_id)).backup_status).toBe('COMPLETED');
    const st = await db.one('SELECT * FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1', [row.backup_id]);
    expect(st).toMatchObject({
      repository_root: S3,
      repository_path: `${S3}/${SYSID}/backups/${plan.backup_bk}`,
      encryption_fingerprints: [FP],
      files_present: true,
    });
  });

  it('a local backup reports no fingerprints (22023 if it does) and records NULL', async () => {
    const db = await pack.freshDb();
    await db.registerAgent('agent-s3', REPO, OFFSITE);
    const row = await db.createFullBackup();
    const job = (await db.claim('agent-s3'))!;
    const plan = job.plan as Plan;
    expect(plan.repository_root).toBe(REPO);
    expect((await sqlError(db.complete(job, fullBackupResult(plan, { encryption_fingerprints: [FP] }), 'agent-s3'))).code).toBe('22023');
    await db.complete(job, fullBackupResult(plan), 'agent-s3');
    const st = await db.one('SELECT * FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1', [row.backup_id]);
    expect(st.encryption_fingerprints).toBeNull();
  });
});
