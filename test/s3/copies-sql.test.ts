// The copy API in SQL alone (sql/65-copies), with backups written the way the
// agent writes them: two agents never hold the same copy, only the claimer
// may end it, a failure waits for its backoff, a dead agent's claim is taken
// over, the local repository's retention waits for the S3 copy, and the health
// check turns CRITICAL past its age.
import { beforeAll, describe, expect, it } from 'vitest';
import { AGENT, DAY, HOUR, REPO, sqlState, useRetentionPack, type Made, type RetentionDb } from '../retention/helpers.js';

const OTHER = 'agent-copy-2';
const FP = 'age-x25519:00112233445566778899aabbccddeeff';
const pack = useRetentionPack();
let db: RetentionDb;
let full1: Made;
let full2: Made;

interface Claim {
  backup_bk: string;
  attempt: number;
  repository_path: string;
}

const claim = (agent: string) => db.q<Claim>('SELECT * FROM backup_mgmt.copy_claim($1, $2)', [agent, 's3']);
const report = (agent: string, bk: string, status: string, result: object) =>
  db.q('SELECT backup_mgmt.copy_report($1, $2, $3, $4, $5::jsonb)', [agent, 's3', bk, status, JSON.stringify(result)]);
const state = async (bk: string, repository = 's3') =>
  db.one<{ copy_status: string; attempts: number | null; next_attempt_at: Date | null; agent_id: string | null }>(
    'SELECT copy_status, attempts, next_attempt_at, agent_id FROM backup_mgmt.backup_copies WHERE backup_bk = $1 AND repository = $2',
    [bk, repository],
  );
const copied = (agent: string, bk: string) => report(agent, bk, 'COPIED', { bytes: 1, objects: 1, location: `s3://bucket/p/${bk}` });
const health = () => db.one<{ status: string; value: string; detail: string }>(
  "SELECT status, value, detail FROM backup_mgmt.health_check() WHERE check_name = 'repository_copies'");

beforeAll(async () => {
  db = await pack.freshDb();
  await db.q('SELECT backup_mgmt.agent_register($1, $2, $3, $4, $5, $6)', [OTHER, 'test-host', 4343, REPO, null, {}]);
  await db.q('SELECT backup_mgmt.agent_report_repositories($1, $2::jsonb)', [
    AGENT,
    JSON.stringify([
      { name: 'local', storage_type: 'LOCAL', location: REPO, encryption: null },
      { name: 's3', storage_type: 'S3', location: 's3://bucket/p', encryption: { format: 'age-v1', fingerprints: [FP] } },
    ]),
  ]);
  const now = Date.now();
  full1 = await db.fullBackup({ startSeg: 2, start: new Date(now - 2 * DAY), stop: new Date(now - 2 * DAY + 60_000) });
  full2 = await db.fullBackup({ startSeg: 8, start: new Date(now - DAY), stop: new Date(now - DAY + 60_000) });
  await db.applyBackdates();
  await db.setting('job.retry_delay_seconds', '60');
});

describe('copy claims', () => {
  it('hands each backup to one agent at a time, oldest first; the other agent gets the next or nothing', async () => {
    expect((await state(full1.bk)).copy_status).toBe('PENDING');
    const [a] = await claim(AGENT);
    const [b] = await claim(OTHER);
    expect(a).toMatchObject({ backup_bk: full1.bk, attempt: 1, repository_path: `${REPO}/${db.sysid}/backups/${full1.bk}` });
    expect(b).toMatchObject({ backup_bk: full2.bk, attempt: 1 });
    expect(await claim(AGENT)).toEqual([]);
    expect(await claim(OTHER)).toEqual([]);
    expect(await state(full1.bk)).toMatchObject({ copy_status: 'COPYING', agent_id: AGENT });
    // Only the claimer ends a copy.
    expect(await sqlState(copied(OTHER, full1.bk))).toBe('55000');
    expect(await sqlState(report(AGENT, full1.bk, 'COPIED', { bytes: 1, objects: 1, location: 'https://x' }))).toBe('22023');
    expect((await health()).status).toBe('CRITICAL'); // both backups have waited a day
  });

  it('a failure waits for its backoff; a dead agent\'s claim is taken over', async () => {
    await report(AGENT, full1.bk, 'FAILED', { reason: 'S3 endpoint unreachable (ECONNREFUSED)' });
    const failed = await state(full1.bk);
    expect(failed).toMatchObject({ copy_status: 'FAILED', attempts: 1 });
    const wait = failed.next_attempt_at!.getTime() - Date.now();
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    expect(await claim(AGENT)).toEqual([]);
    // Due again: the second attempt, and a FAILED report doubles the wait.
    await db.q(`UPDATE backup_mgmt.backup_copy_s SET next_attempt_at = now() - interval '1 second' WHERE load_end_date IS NULL AND copy_status = 'FAILED'`);
    expect(await claim(AGENT)).toMatchObject([{ backup_bk: full1.bk, attempt: 2 }]);
    await report(AGENT, full1.bk, 'FAILED', { reason: 'again' });
    expect((await state(full1.bk)).next_attempt_at!.getTime() - Date.now()).toBeGreaterThan(110_000);
    await db.q(`UPDATE backup_mgmt.backup_copy_s SET next_attempt_at = now() - interval '1 second' WHERE load_end_date IS NULL AND copy_status = 'FAILED'`);
    expect(await claim(AGENT)).toMatchObject([{ backup_bk: full1.bk, attempt: 3 }]);
    await copied(AGENT, full1.bk);

    // OTHER holds full2 and goes silent: its claim is free again.
    expect(await claim(AGENT)).toEqual([]);
    await db.q(`UPDATE backup_mgmt.agent SET heartbeat_at = now() - interval '1 hour' WHERE agent_id = $1`, [OTHER]);
    expect(await claim(AGENT)).toMatchObject([{ backup_bk: full2.bk, attempt: 2 }]);
    await db.q(`UPDATE backup_mgmt.agent SET heartbeat_at = now() WHERE agent_id = $1`, [OTHER]);
    expect(await sqlState(copied(OTHER, full2.bk))).toBe('55000');
    await copied(AGENT, full2.bk);
    expect((await health()).status).toBe('OK');
  });
});

describe('local retention', () => {
  it('expires a local copy only beyond the newest N and once its S3 copy is COPIED', async () => {
    expect(await db.q('SELECT * FROM backup_mgmt.copy_expire_plan($1, $2)', [AGENT, 'local'])).toEqual([]); // 0 = off
    await db.setting('retention.local_full_backups', '1');
    const plan = await db.q<{ backup_bk: string; reason: string }>('SELECT * FROM backup_mgmt.copy_expire_plan($1, $2)', [AGENT, 'local']);
    expect(plan.map((p) => p.backup_bk)).toEqual([full1.bk]);
    expect(plan[0]!.reason).toMatch(/retention.local_full_backups = 1/);
    // A newer backup not copied yet: both older ones may go, the new one (not in S3) never.
    const full3 = await db.fullBackup({ startSeg: 12, start: new Date(Date.now() - HOUR), stop: new Date(Date.now() - HOUR + 60_000) });
    const plan2 = await db.q<{ backup_bk: string }>('SELECT * FROM backup_mgmt.copy_expire_plan($1, $2)', [AGENT, 'local']);
    expect(plan2.map((p) => p.backup_bk).sort()).toEqual([full1.bk, full2.bk].sort());
    expect(plan2.map((p) => p.backup_bk)).not.toContain(full3.bk);
    await db.q('SELECT backup_mgmt.copy_report($1, $2, $3, $4, $5::jsonb)', [AGENT, 'local', full1.bk, 'EXPIRED', JSON.stringify({ reason: 'test' })]);
    expect(await state(full1.bk, 'local')).toMatchObject({ copy_status: 'EXPIRED' });
    // Its files are gone from here on purpose: neither the presence check nor the catalog sync calls them missing.
    expect((await db.q<{ backup_bk: string }>('SELECT backup_bk FROM backup_mgmt.stored_backups($1)', [REPO])).map((r) => r.backup_bk)).not.toContain(full1.bk);
    expect((await db.one<{ r: boolean }>("SELECT backup_mgmt.mark_backup_files_missing(decode($1, 'hex')) AS r", [full1.hex])).r).toBe(false);
    expect((await db.status(full1.hex)).files_present).toBe(true);
    // Nothing to copy from a repository that no longer holds the files.
    expect((await claim(AGENT)).map((c) => c.backup_bk)).toEqual([full3.bk]);
  });
});
