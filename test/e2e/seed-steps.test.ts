// The seed guide's own Step 4.1, 4.2 and 4.3 calls (issue 14, acceptance 2),
// read from /work/shared/seeds/001_*.txt or test/fixtures/seed-001-step4.txt
// and run verbatim with a real agent and a cluster archiving through the real
// wal-push; only the guide's /backup placeholder becomes the agent's
// repository root. Its locations <root>/full/ and <root>/incremental/ name
// that one repository, so the incremental finds the WAL archive_command sent
// there. Then the guide's 4.3 point-in-time recovery, verbatim, once the
// server's clock moved an hour ahead (libfaketime), compared with the source
// at the target.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClockEnv, useCluster } from '../harness/cluster.js';
import { query, stopAllAgents, withDatabase } from './support.js';
import { archiveNow, archivingCluster, dropRestored, restoredUrl, type ArchivingSetup } from './recovery-support.js';

const SEEDS = '/work/shared/seeds';
const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'seed-001-step4.txt');

/** The ```sql block under a "#### 4.x" heading of the seed guide. */
function seedBlock(guide: string, step: string): string {
  const at = guide.indexOf(`#### ${step} `);
  if (at < 0) throw new Error(`the seed guide has no step ${step}`);
  const m = /```sql\n([\s\S]*?)```/.exec(guide.slice(at));
  return m![1]!;
}

/** The statements of a block (the guide's blocks have no ';' inside literals). */
const statements = (block: string) =>
  block
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s.replace(/--.*$/gm, '').trim() !== '');

function loadGuide(): string {
  const seed = existsSync(SEEDS) ? readdirSync(SEEDS).find((f) => /^001_.*\.txt$/.test(f)) : undefined;
  return readFileSync(seed ? join(SEEDS, seed) : FIXTURE, 'utf8');
}

const cluster = useCluster({ name: 'e2e-seed-steps' });
let env: ArchivingSetup;
let shopUrl = '';
let guide = '';
const restored = new Set<string>();

const approverUrl = () => {
  const u = new URL(env.url);
  u.username = 'seed_approver';
  return u.toString();
};

async function shopState(url: string): Promise<{ rows: number; md5: string }> {
  const [r] = await query<{ n: string; md5: string }>(url, `SELECT count(*) AS n, md5(coalesce(string_agg(id || ':' || note, ',' ORDER BY id), '')) AS md5 FROM item`);
  return { rows: Number(r!.n), md5: r!.md5 };
}

const insert = (from: number, to: number) =>
  query(shopUrl, `INSERT INTO item SELECT g, 'note ' || g FROM generate_series($1::int, $2::int) AS g`, [from, to]);

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  guide = loadGuide();
  env = await archivingCluster(cluster(), 'bm_seed', 'e2e-seed');
  await cluster().createDatabase('shop');
  shopUrl = withDatabase(env.url, 'shop');
  await query(shopUrl, 'CREATE TABLE item (id int PRIMARY KEY, note text NOT NULL)');
  await query(env.url, 'CREATE ROLE seed_approver LOGIN IN ROLE recovery_approver');
});

afterAll(async () => {
  for (const dir of restored) await dropRestored(dir);
  await stopAllAgents();
});

/** The guide's text with /backup/ → the agent's repository root. */
const withRoot = (sql: string) => sql.replaceAll("'/backup/", `'${env.repo}/`);

let full: Buffer;
let incremental: Buffer;

describe("the seed guide's Step 4 with its own locations", () => {
  it('4.1: the full backup lands in the agent repository, COMPLETED and VERIFIED', async () => {
    await insert(1, 500);
    const [create, check] = statements(seedBlock(guide, '4.1'));
    expect(create).toContain("create_full_backup(\n    NULL::BYTEA,  -- system-wide backup\n    '/backup/full/',");
    const [row] = await query<{ backup_id: Buffer; backup_status: string }>(env.url, withRoot(create!));
    expect(row!.backup_status).toBe('PENDING');
    full = row!.backup_id;
    const [done] = await query(env.url, `SELECT * FROM backup_mgmt.await_backup($1, '4 minutes')`, [full]);
    expect(done, String(done!.error_message)).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });

    // The guide's status query, verbatim.
    const status = await query(env.url, check!);
    expect(status[0]).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });

    // <root>/full/ named the agent's repository: stored beside the WAL, the sub-directory kept as a label.
    const [st] = await query<{ repository_root: string; repository_path: string; backup_location: string; location: string }>(
      env.url,
      `SELECT st.repository_root, st.repository_path, c.backup_location, c.additional_metadata->>'location' AS location
         FROM backup_mgmt.backup_storage_current st JOIN backup_mgmt.backup_execution_current c USING (backup_hk) WHERE backup_hk = $1`,
      [full],
    );
    expect(st).toMatchObject({ repository_root: env.repo, backup_location: env.repo, location: `${env.repo}/full` });
    expect(st!.repository_path.startsWith(`${env.repo}/${env.sysid}/backups/`)).toBe(true);
    expect(existsSync(join(env.repo, 'full'))).toBe(false);
  });

  it('4.2: the incremental finds the archived WAL in the same repository and completes', async () => {
    await insert(501, 900);
    const [create] = statements(seedBlock(guide, '4.2'));
    expect(create).toContain("'/backup/incremental/'");
    const [row] = await query<{ backup_id: Buffer; base_backup_id: Buffer; backup_status: string }>(env.url, withRoot(create!));
    expect(row!.base_backup_id).toEqual(full);
    incremental = row!.backup_id;
    // Well under the agent's 300 s archive wait: had the WAL gone elsewhere, this would still be RUNNING or FAILED.
    const [done] = await query(env.url, `SELECT * FROM backup_mgmt.await_backup($1, '3 minutes')`, [incremental]);
    expect(done, String(done!.error_message)).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
    const [st] = await query<{ repository_root: string; location: string }>(
      env.url,
      `SELECT st.repository_root, c.additional_metadata->>'location' AS location
         FROM backup_mgmt.backup_storage_current st JOIN backup_mgmt.backup_execution_current c USING (backup_hk) WHERE backup_hk = $1`,
      [incremental],
    );
    expect(st).toMatchObject({ repository_root: env.repo, location: `${env.repo}/incremental` });
    expect(existsSync(join(env.repo, 'incremental'))).toBe(false);
  });

  it('4.3: the verbatim PITR request is refused while the history is younger than its 1 hour, completes once the server clock moved past it, and restores exactly', async () => {
    const [call] = statements(seedBlock(guide, '4.3'));
    expect(call).toContain("CURRENT_TIMESTAMP - INTERVAL '1 hour'");
    await insert(901, 1200);
    const atTarget = await shopState(shopUrl);
    const [{ t: lastReal }] = (await query<{ t: Date }>(env.url, 'SELECT clock_timestamp() AS t')) as [{ t: Date }];

    // Verbatim: one hour ago this cluster had no backup yet (it was created
    // minutes ago), so the target lies before the recoverable window.
    const verbatim = await query(env.url, call!).catch((e: { code?: string; message: string }) => e);
    expect(verbatim, 'the verbatim 4.3 call on a minutes-old history').toMatchObject({ code: '22023' });
    expect((verbatim as Error).message).toMatch(/window|before|earliest|no .*backup/i);

    // The history is made an hour old honestly: the server restarts under
    // libfaketime with its clock 65 minutes ahead. Everything up to here was
    // committed at real time; from the restart on, backends commit at the
    // moved time, so the server's timeline has a quiet gap of about an hour
    // after the last real-time commit, and CURRENT_TIMESTAMP - 1 hour (real
    // time now + 5 minutes) falls inside it. (Autovacuum keeps the real clock,
    // see fakeClockEnv; its commits change no row of item, and replay stops
    // at the first moved-time commit in WAL order anyway.) The agent stays at
    // real time.
    await pause(2000);
    await cluster().restart({ env: fakeClockEnv('+65m') });
    const [{ ahead, firstFake }] = (await query<{ ahead: string; firstFake: Date }>(
      env.url,
      `SELECT extract(epoch FROM clock_timestamp() - $1::timestamptz)::int AS ahead, clock_timestamp() AS "firstFake"`,
      [lastReal],
    )) as [{ ahead: string; firstFake: Date }];
    expect(Number(ahead)).toBeGreaterThan(3900);
    // Changes at the fake time that must not come back.
    await insert(1201, 1400);
    await query(shopUrl, `UPDATE item SET note = 'changed' WHERE id <= 100`);
    await archiveNow(env.url);
    expect(await shopState(shopUrl)).not.toEqual(atTarget);

    const [req] = await query<{ recovery_id: Buffer; recovery_status: string; approval_required: boolean; backup_source_id: Buffer }>(
      env.url,
      call!,
    );
    expect(req).toMatchObject({ recovery_status: 'PENDING', approval_required: true });
    expect(req!.backup_source_id).toEqual(full);
    // The target lies inside the quiet gap: after the last real-time commit, before the first fake-time one.
    const [gap] = await query<{ after_real: boolean; before_fake: boolean }>(
      env.url,
      `SELECT target_point_in_time > $2::timestamptz AS after_real, target_point_in_time < $3::timestamptz AS before_fake
         FROM backup_mgmt.recovery_list WHERE recovery_hk = $1`,
      [req!.recovery_id, lastReal, firstFake],
    );
    expect(gap).toEqual({ after_real: true, before_fake: true });
    await query(approverUrl(), `SELECT 1 FROM backup_mgmt.approve_recovery($1, 'seed step 4.3')`, [req!.recovery_id]);
    const [out] = await query(env.url, `SELECT * FROM backup_mgmt.await_recovery($1, '4 minutes')`, [req!.recovery_id]);
    if (out!.restore_directory) restored.add(out!.restore_directory);
    expect(out, String(out!.error_message)).toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED' });
    expect(await shopState(restoredUrl(out!.restore_port, 'shop'))).toEqual(atTarget);
    await dropRestored(out!.restore_directory);
    restored.delete(out!.restore_directory);
  });

  it('a location outside every root, or inside a stored backup, is still refused and changes nothing', async () => {
    const [{ n: before }] = (await query<{ n: string }>(env.url, 'SELECT count(*) AS n FROM backup_mgmt.backup_execution_h')) as [{ n: string }];
    const [{ p }] = (await query<{ p: string }>(env.url, 'SELECT repository_path AS p FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1', [full])) as [{ p: string }];
    for (const location of ['/srv/not-a-root/full/', `${p}/nested`, `${env.repo}/${env.sysid}/x`]) {
      const err = await query(env.url, 'SELECT * FROM backup_mgmt.create_full_backup(NULL, $1)', [location]).catch((e: { code?: string }) => e);
      expect(err, location).toMatchObject({ code: '22023' });
    }
    const [{ n: after }] = (await query<{ n: string }>(env.url, 'SELECT count(*) AS n FROM backup_mgmt.backup_execution_h')) as [{ n: string }];
    expect(after).toBe(before);
  });
});
