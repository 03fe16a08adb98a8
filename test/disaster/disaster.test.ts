// Disaster recovery (issue 15), end to end with real clusters, the real
// agent and real files: a workload with marker rows, two full backups with
// incrementals and a restore point between them; the offline planner equals
// plan_recovery() on random targets; then the cluster and its catalog are
// lost, and everything comes back from the repository alone: repo list and
// window, restores to a time, to the latest WAL and to the restore point, a
// new primary that archives its new timeline, catalog sync, a new backup and
// a second disaster recovery on the new timeline. Damaged files and bad
// requests are refused with one line and nothing changed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.js';
import { pgTool, runAsPostgres } from '../../src/util/process.js';
import { loadRepository } from '../../src/dr/offline-restore.js';
import { planOffline, PlanError, type TargetKind } from '../../src/dr/plan.js';
import { AgentProcess, postgresDir, query, runCli, stopAllAgents, waitFor, withDatabase } from '../e2e/support.js';
import { archiveNow, archivingCluster, micros, prng, shopWorkload, Workload, workloadChecksums, type ArchivingSetup } from '../e2e/recovery-support.js';

const SEED = Number(process.env.BM_DR_SEED ?? 20261207);
const cluster = useCluster({ name: 'e2e-dr' });
let env: ArchivingSetup;
let workload: Workload;
let shopUrl = '';
const bks: Record<string, string> = {};
let rp: { name: string; lsn: string; after: number } | undefined;
/** A commit between the second incremental and the second full backup: the time target. */
let tIndex = 0;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function fullBackup(url: string): Promise<string> {
  const [q] = await query<{ backup_id: Buffer }>(url, 'SELECT backup_id FROM backup_mgmt.create_full_backup()');
  const [r] = await query<{ backup_bk: string; backup_status: string; verification_status: string }>(
    url,
    `SELECT w.*, h.backup_bk FROM backup_mgmt.await_backup($1, '3 minutes') w JOIN backup_mgmt.backup_execution_h h ON h.backup_hk = w.backup_id`,
    [q!.backup_id],
  );
  expect([r!.backup_status, r!.verification_status]).toEqual(['COMPLETED', 'VERIFIED']);
  return r!.backup_bk;
}

async function incremental(url: string): Promise<string> {
  const [q] = await query<{ backup_id: Buffer }>(url, 'SELECT backup_id FROM backup_mgmt.create_incremental_backup()');
  const [r] = await query<{ backup_bk: string; backup_status: string }>(
    url,
    `SELECT w.*, h.backup_bk FROM backup_mgmt.await_backup($1, '3 minutes') w JOIN backup_mgmt.backup_execution_h h ON h.backup_hk = w.backup_id`,
    [q!.backup_id],
  );
  expect(r!.backup_status).toBe('COMPLETED');
  return r!.backup_bk;
}

async function stopServer(dataDir: string): Promise<void> {
  if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
  await runAsPostgres(pgTool('pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], { timeoutMs: 90_000 });
}

/** The disaster: server gone, data directory (and the catalog in it) gone; an empty directory stays. */
async function lose(dataDir: string): Promise<void> {
  await stopServer(dataDir);
  for (const f of await readdir(dataDir)) await rm(join(dataDir, f), { recursive: true, force: true });
}

const dr = (args: string[]) => runCli(args, { env: { DATABASE_URL: '', BACKUP_MGMT_REPO: '' } });

beforeAll(async () => {
  env = await archivingCluster(cluster(), 'bm_dr', 'e2e-dr');
  ({ shopUrl, workload } = await shopWorkload(cluster(), env.url, SEED));
  console.log(`[dr] seed ${SEED} (BM_DR_SEED)`);
});

afterAll(async () => {
  await workload?.close();
  await stopAllAgents();
});

describe('the repository describes itself', () => {
  it('writes metadata for every backup and restore point while the history is taken', async () => {
    workload.start();
    await pause(600);
    bks.full1 = await fullBackup(env.url);
    await pause(400);
    bks.inc1 = await incremental(env.url);
    await pause(300);
    const r = await workload.between(() => query<{ name: string; lsn: string }>(env.url, `SELECT name, lsn::text FROM backup_mgmt.create_restore_point('dr-mid')`));
    rp = { name: r.result[0]!.name, lsn: r.result[0]!.lsn, after: r.after };
    await pause(300);
    bks.inc2 = await incremental(env.url);
    await pause(500);
    tIndex = workload.commits.length;
    await pause(500);
    bks.full2 = await fullBackup(env.url);
    await pause(400);
    bks.inc3 = await incremental(env.url);
    await pause(400);
    await workload.close();
    await archiveNow(env.url);
    expect(tIndex).toBeGreaterThan(rp.after);

    // The agent mirrored the catalog: one file per backup, the restore point, the format file.
    const dir = join(env.repo, env.sysid, 'backups');
    await waitFor('metadata of every backup, verified', async () => {
      for (const bk of Object.values(bks)) {
        const f = join(dir, `${bk}.json`);
        if (!existsSync(f)) return false;
        const m = JSON.parse(readFileSync(f, 'utf8'));
        if (m.status !== 'COMPLETED') return false;
      }
      return existsSync(join(env.repo, env.sysid, 'restore_points', 'dr-mid.json'));
    });
    const meta = JSON.parse(readFileSync(join(dir, `${bks.full1}.json`), 'utf8'));
    expect(meta).toMatchObject({ format: 1, type: 'FULL', status: 'COMPLETED', system_identifier: env.sysid, timeline: 1, path: `${env.sysid}/backups/${bks.full1}` });
    expect(meta.verification.status).toBe('VERIFIED');
    const tarFile = meta.files.find((f: { name: string }) => f.name === 'base.tar.zst');
    expect(tarFile.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(tarFile.bytes).toBeGreaterThan(0);
    expect(meta.tool_versions.pg_basebackup).toMatch(/pg_basebackup/);
    expect(JSON.parse(readFileSync(join(dir, `${bks.inc1}.json`), 'utf8')).parent_bk).toBe(bks.full1);
    expect(JSON.parse(readFileSync(join(env.repo, 'backup_mgmt_repository.json'), 'utf8')).format).toBe(1);
    // No temporary files left beside them.
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('repairs a metadata file lost between the catalog and the repository on the next agent start', async () => {
    const f = join(env.repo, env.sysid, 'backups', `${bks.inc3}.json`);
    await rm(f);
    await env.agent.stop();
    env.agent = await AgentProcess.start({ databaseUrl: env.url, repo: env.repo, agentId: 'e2e-dr', logFile: join(cluster().baseDir, 'agent.log'), extraArgs: ['--wal-scan-seconds', '1'] });
    await waitFor('the metadata file to be written again', async () => existsSync(f));
  });
});

describe('the offline planner equals plan_recovery() (acceptance 3)', () => {
  it('gives the same base, WAL bound and refusals on random targets', async () => {
    // Everything archived is registered, so both planners see the same WAL.
    await waitFor('every archived segment registered', async () => {
      const r = await loadRepository(env.repo);
      const [{ n }] = (await query<{ n: string }>(env.url, `SELECT count(*) AS n FROM backup_mgmt.wal_archive WHERE file_name ~ '^[0-9A-F]{24}$' AND purged_at IS NULL`)) as [{ n: string }];
      return Number(n) === r.wal.segments(1).length;
    });
    const repo = await loadRepository(env.repo);
    const rand = prng(SEED + 3);
    const first = workload.commits[0]!;
    const last = workload.commits.at(-1)!;
    const t0 = micros(first.time) - 3_000_000n;
    const t1 = micros(last.time) + 3_000_000n;
    const iso = (us: bigint) => new Date(Number(us / 1000n)).toISOString().replace('Z', `${String(us % 1000n).padStart(3, '0')}+00:00`).replace(/\.(\d{3})(\d{3})\+/, '.$1$2+');
    const [{ cur }] = (await query<{ cur: string }>(env.url, 'SELECT pg_current_wal_lsn()::text AS cur')) as [{ cur: string }];
    const lsnMax = BigInt(`0x${cur.split('/')[0]}`) * 2n ** 32n + BigInt(`0x${cur.split('/')[1]}`) + 50_000_000n;
    const targets: [TargetKind, string | null][] = [];
    for (let i = 0; i < 40; i++) targets.push(['time', iso(t0 + BigInt(Math.floor(rand() * Number(t1 - t0))))]);
    for (let i = 0; i < 12; i++) {
      const l = BigInt(Math.floor(rand() * Number(lsnMax)));
      targets.push(['lsn', `${(l >> 32n).toString(16).toUpperCase()}/${(l & 0xffffffffn).toString(16).toUpperCase()}`]);
    }
    for (let i = 0; i < 6; i++) targets.push(['xid', workload.commits[Math.floor(rand() * workload.commits.length)]!.xid]);
    targets.push(['name', 'dr-mid'], ['name', 'no-such-point'], ['latest', null], ['immediate', null], ['immediate', bks.full1!], ['immediate', bks.inc1!], ['time', 'not a time']);
    expect(targets.length).toBeGreaterThanOrEqual(50);

    const hkToBk = new Map(repo.backups.map((b) => [b.backup_hk, b.backup_bk]));
    let compared = 0;
    let refusals = 0;
    for (const [kind, value] of targets) {
      const sql = await query<{ p: Record<string, any> }>(env.url, 'SELECT backup_mgmt.plan_recovery($1, $2) AS p', [kind, value]).then(
        (r) => ({ plan: r[0]!.p }),
        (e: Error & { code?: string }) => ({ code: e.code, message: e.message }),
      );
      const off = await planOffline({ systemIdentifier: repo.sysid, segSize: repo.segSize, backups: repo.backups, restorePoints: repo.restorePoints, wal: repo.wal, kind, value }).then(
        (plan) => ({ plan }),
        (e: unknown) => {
          if (e instanceof PlanError) return { code: e.sqlstate, message: e.message };
          throw e;
        },
      );
      const label = `${kind} ${value}`;
      if ('code' in sql) {
        expect('code' in off ? off.code : `planned ${(off as any).plan.base.backup_bk}`, `${label}: SQL refused (${sql.message})`).toBe(sql.code);
        refusals++;
        continue;
      }
      expect('plan' in off, `${label}: SQL planned ${sql.plan.base.backup_bk}, offline refused: ${(off as any).message}`).toBe(true);
      const p = (off as { plan: Awaited<ReturnType<typeof planOffline>> }).plan;
      expect(p.base.backup_bk, label).toBe(sql.plan.base.backup_bk);
      expect(p.wal, label).toEqual({ timeline_id: sql.plan.wal.timeline_id, from_segment: sql.plan.wal.from_segment, to_segment: sql.plan.wal.to_segment, segments: Number(sql.plan.wal.segments) });
      expect(p.chain, label).toEqual((sql.plan.chain as string[]).map((hk) => hkToBk.get(hk)));
      expect(p.restore_settings, label).toEqual(sql.plan.restore_settings);
      compared++;
    }
    console.log(`[dr] planner equality: ${compared} plans and ${refusals} refusals identical over ${targets.length} targets`);
    expect(compared).toBeGreaterThan(25);
    expect(refusals).toBeGreaterThan(3);
  });
});

describe('the disaster (acceptance 1, 2, 4, 5)', () => {
  it('loses the cluster; repo list and window answer from the repository alone', async () => {
    await env.agent.stop();
    await lose(cluster().dataDir);
    const list = await dr(['repo', 'list', '--repo', env.repo, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout);
    expect(listed.backups.map((b: { backup_bk: string }) => b.backup_bk).sort()).toEqual(Object.values(bks).sort());
    expect(listed.restore_points.map((p: { name: string }) => p.name)).toEqual(['dr-mid']);
    const win = await dr(['repo', 'window', '--repo', env.repo, '--json']);
    expect(win.code, win.stdout + win.stderr).toBe(0);
    const [tl1] = JSON.parse(win.stdout).timelines;
    expect(tl1).toMatchObject({ timeline: 1, earliest_backup_bk: bks.full1, wal_gaps: [] });
    expect(micros(tl1.latest_recoverable_time)).toBeGreaterThan(micros(workload.commits.at(-2)!.time));
    const human = await dr(['repo', 'list', '--repo', env.repo]);
    expect(human.stdout).toContain(bks.inc2);
  });

  it('refuses bad requests with one line, changing nothing (acceptance 5)', async () => {
    const dataDir = cluster().dataDir;
    const base = ['restore', '--repo', env.repo, '--latest'];
    // Not empty.
    await writeFile(join(dataDir, 'keep.txt'), 'mine');
    let r = await dr([...base, '--to', dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not empty/);
    expect(await readdir(dataDir)).toEqual(['keep.txt']);
    await rm(join(dataDir, 'keep.txt'));
    // Owned by someone else.
    const other = join(cluster().baseDir, 'not-ours');
    await mkdir(other);
    await chown(other, 65534, 65534);
    r = await dr([...base, '--to', other]);
    expect([r.code, r.stderr.trim().split('\n').length]).toEqual([1, 1]);
    expect(r.stderr).toMatch(/owned by uid 65534/);
    expect(await readdir(other)).toEqual([]);
    // Another system identifier.
    r = await dr([...base, '--to', dataDir, '--system-identifier', '1234567890']);
    expect([r.code, r.stderr.trim().split('\n').length]).toEqual([1, 1]);
    expect(r.stderr).toMatch(/no backups of system 1234567890/);
    // A repository written by a newer format.
    const newer = join(cluster().baseDir, 'repo-newer');
    await cp(env.repo, newer, { recursive: true });
    await writeFile(join(newer, 'backup_mgmt_repository.json'), JSON.stringify({ format: 99 }));
    r = await dr([...base, '--to', dataDir, '--repo', newer]);
    expect([r.code, r.stderr.trim().split('\n').length]).toEqual([1, 1]);
    expect(r.stderr).toMatch(/format 99, newer than/);
    r = await dr(['repo', 'list', '--repo', newer]);
    expect(r.code).toBe(1);
    await rm(newer, { recursive: true, force: true });
    // A target outside the window: refused with the window.
    r = await dr(['restore', '--repo', env.repo, '--to', dataDir, '--target-time', '2001-01-01 00:00:00+00']);
    expect([r.code, r.stderr.trim().split('\n').length]).toEqual([1, 1]);
    expect(r.stderr).toMatch(/outside the recoverable window timeline 1: /);
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('restores to the restore point and to the latest WAL, exactly (acceptance 1)', async () => {
    // Each of these promotes onto a new timeline and archives it: into a copy
    // of the repository, so that the new primary below starts timeline 2 of the real one.
    const scratch = join(cluster().baseDir, 'repo-scratch');
    await cp(env.repo, scratch, { recursive: true });
    await chownTree(scratch);
    const dataDir = cluster().dataDir;
    let r = await dr(['restore', '--repo', scratch, '--to', dataDir, '--target-name', 'dr-mid', '--start']);
    expect(r.code, r.stderr).toBe(0);
    expect(await workloadChecksums(shopUrl)).toEqual(workload.expected(rp!.after));
    await lose(dataDir);
    r = await dr(['restore', '--repo', scratch, '--to', dataDir, '--latest', '--start', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ promoted: true, started: true });
    expect(await workloadChecksums(shopUrl)).toEqual(workload.expected(workload.commits.length));
    // Owned by the server's OS user.
    expect((await stat(join(dataDir, 'PG_VERSION'))).uid).toBe((await stat(env.repo)).uid);
    await lose(dataDir);
    await rm(scratch, { recursive: true, force: true });
  });

  it('restores to a time as the new primary, which archives its new timeline into the repository (acceptance 1, 2)', async () => {
    const dataDir = cluster().dataDir;
    const T = workload.commits[tIndex - 1]!.time;
    const r = await dr(['restore', '--repo', env.repo, '--to', dataDir, '--target-time', T, '--start', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.plan.base.backup_bk).toBe(bks.full1);
    expect(out.timeline).toBe(2);
    expect(await workloadChecksums(shopUrl)).toEqual(workload.expected(tIndex));
    // The new timeline goes into the same repository.
    const [{ f }] = (await query<{ f: string }>(env.url, 'SELECT pg_walfile_name(pg_switch_wal()) AS f')) as [{ f: string }];
    expect(f.startsWith('00000002')).toBe(true);
    const walDir = join(env.repo, env.sysid, 'wal', f.slice(0, 16));
    await waitFor(`${f} archived into the repository`, async () => existsSync(walDir) && readdirSync(walDir).some((n) => n.startsWith(f)));
    expect(readdirSync(join(env.repo, env.sysid, 'wal', 'history')).some((n) => n.startsWith('00000002.history-'))).toBe(true);
  });

  it('catalog sync brings the history back; a new full backup succeeds; a second disaster recovery on the new timeline is exact (acceptance 2)', async () => {
    // The catalog of time T knows neither full2 nor inc3.
    const before = await query<{ backup_bk: string }>(env.url, 'SELECT backup_bk FROM backup_mgmt.backup_list');
    expect(before.map((b) => b.backup_bk)).not.toContain(bks.full2);
    const s = await runCli(['catalog', 'sync', '--repo', env.repo, '--json'], { env: { DATABASE_URL: env.url } });
    expect(s.code, s.stderr).toBe(0);
    const summary = JSON.parse(s.stdout);
    expect(summary.backups_imported).toBeGreaterThanOrEqual(2);
    expect(summary.recoveries_recorded).toBeGreaterThanOrEqual(1);
    expect(summary.wal_registered).toBeGreaterThan(0);
    const list = await query<{ backup_bk: string; backup_status: string; verification_status: string }>(env.url, 'SELECT backup_bk, backup_status, verification_status FROM backup_mgmt.backup_list');
    for (const bk of Object.values(bks)) expect(list.find((b) => b.backup_bk === bk), bk).toMatchObject({ backup_status: 'COMPLETED' });
    const rec = await query<{ recovery_bk: string; recovery_status: string; target_kind: string }>(env.url, `SELECT recovery_bk, recovery_status, target_kind FROM backup_mgmt.recovery_list WHERE recovery_bk LIKE 'RECOVERY_DISASTER_%'`);
    expect(rec.some((x) => x.recovery_status === 'COMPLETED' && x.target_kind === 'time')).toBe(true);
    expect((await query(env.url, `SELECT 1 FROM backup_mgmt.restore_point WHERE name = 'dr-mid'`)).length).toBe(1);
    // Idempotent.
    const again = JSON.parse((await runCli(['catalog', 'sync', '--repo', env.repo, '--json'], { env: { DATABASE_URL: env.url } })).stdout);
    expect([again.backups_imported, again.recoveries_recorded, again.restore_points_imported]).toEqual([0, 0, 0]);
    // Retention sees the whole history, the imported backups included.
    const retention = await query<{ backup_id: Buffer | null; action_taken: string }>(env.url, 'SELECT * FROM backup_mgmt.cleanup_expired_backups(NULL, true)');
    const judged = new Set((await query<{ backup_bk: string }>(env.url, `SELECT h.backup_bk FROM backup_mgmt.backup_execution_h h WHERE h.backup_hk = ANY($1)`, [retention.filter((x) => x.backup_id).map((x) => x.backup_id)])).map((x) => x.backup_bk));
    for (const bk of Object.values(bks)) expect(judged.has(bk), `retention judges ${bk}`).toBe(true);
    // PITR on the old timeline before T still plans from the catalog.
    const [p] = await query<{ p: { base: { backup_bk: string } } }>(env.url, `SELECT backup_mgmt.plan_recovery('name', 'dr-mid') AS p`);
    expect(p!.p.base.backup_bk).toBe(bks.full1);

    // The agent on the new primary, a new full backup on timeline 2, new work.
    env.agent = await AgentProcess.start({ databaseUrl: env.url, repo: env.repo, agentId: 'e2e-dr-after', logFile: join(cluster().baseDir, 'agent2.log'), extraArgs: ['--wal-scan-seconds', '1'] });
    await cluster().createDatabase('shop2');
    const shop2 = withDatabase(env.url, 'shop2');
    const w2 = new Workload(shop2, SEED + 1);
    await w2.init();
    w2.start();
    await pause(400);
    bks.full3 = await fullBackup(env.url);
    await pause(800);
    const n2 = w2.commits.length;
    await pause(600);
    await w2.close();
    await archiveNow(env.url);
    await waitFor('metadata of the new backup', async () => existsSync(join(env.repo, env.sysid, 'backups', `${bks.full3}.json`)));
    const meta3 = JSON.parse(readFileSync(join(env.repo, env.sysid, 'backups', `${bks.full3}.json`), 'utf8'));
    expect(meta3.timeline).toBe(2);

    // The second disaster: lost again; back to a time on timeline 2.
    await env.agent.stop();
    await lose(cluster().dataDir);
    const T2 = w2.commits[n2 - 1]!.time;
    const r = await dr(['restore', '--repo', env.repo, '--to', cluster().dataDir, '--target-time', T2, '--start', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).plan.base.backup_bk).toBe(bks.full3);
    expect(await workloadChecksums(shop2)).toEqual(w2.expected(n2));
    expect(await workloadChecksums(shopUrl)).toEqual(workload.expected(tIndex));

    // A backup whose files left the repository is marked so by the sync.
    const full2Dir = join(env.repo, env.sysid, 'backups', bks.full2!);
    await rename(full2Dir, `${full2Dir}.away`);
    try {
      const s2 = await runCli(['catalog', 'sync', '--repo', env.repo, '--json'], { env: { DATABASE_URL: env.url } });
      expect(s2.code, s2.stderr).toBe(0);
      expect(JSON.parse(s2.stdout).backups_missing).toBe(1);
      const [row] = await query<{ files_present: boolean }>(env.url, 'SELECT files_present FROM backup_mgmt.backup_list WHERE backup_bk = $1', [bks.full2]);
      expect(row!.files_present).toBe(false);
    } finally {
      await rename(`${full2Dir}.away`, full2Dir);
    }
    await stopServer(cluster().dataDir);
  });

  it('repo verify names a flipped byte in a backup and in a WAL file; a restore needing them refuses (acceptance 4)', async () => {
    const copy = join(cluster().baseDir, 'repo-damaged');
    await cp(env.repo, copy, { recursive: true });
    let r = await dr(['repo', 'verify', '--repo', copy]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const flip = async (p: string, at: number) => {
      const b = await readFile(p);
      b[at] ^= 0xff;
      await writeFile(p, b);
    };
    const tar = join(copy, env.sysid, 'backups', bks.full1!, 'base.tar.zst');
    await flip(tar, Math.floor((await stat(tar)).size / 2));
    const walDir = join(copy, env.sysid, 'wal', '0000000100000000');
    const meta2 = JSON.parse(readFileSync(join(copy, env.sysid, 'backups', `${bks.full2}.json`), 'utf8'));
    // full2's start segment: every restore from full2 replays it.
    const victim = readdirSync(walDir).find((n) => n.startsWith(`${segmentOf(meta2.start_lsn)}-`))!;
    expect(victim).toBeDefined();
    await flip(join(walDir, victim), 200);
    r = await dr(['repo', 'verify', '--repo', copy, '--json']);
    expect(r.code).toBe(1);
    const files = JSON.parse(r.stdout).problems.map((p: { file: string }) => p.file);
    expect(files).toContain(`${env.sysid}/backups/${bks.full1}/base.tar.zst`);
    expect(files).toContain(`${env.sysid}/wal/0000000100000000/${victim}`);
    expect(r.stderr).toContain(victim);

    const dataDir = cluster().dataDir;
    await lose(dataDir);
    // Needs the damaged backup.
    r = await dr(['restore', '--repo', copy, '--to', dataDir, '--immediate', '--backup', bks.full1!, '--start']);
    expect([r.code, r.stderr.trim().split('\n').length]).toEqual([1, 1]);
    expect(r.stderr).toMatch(/damaged/);
    expect(await readdir(dataDir)).toEqual([]);
    // Needs the damaged WAL.
    r = await dr(['restore', '--repo', copy, '--to', dataDir, '--latest', '--backup', bks.full2!, '--start']);
    expect([r.code, r.stderr.trim().split('\n').length]).toEqual([1, 1]);
    expect(r.stderr).toMatch(/WAL .*damaged|damaged.*WAL/);
    expect(await readdir(dataDir)).toEqual([]);
    await rm(copy, { recursive: true, force: true });
  });
});

/** Timeline 1 segment name holding an LSN (16 MiB segments). */
function segmentOf(lsn: string): string {
  const [hi, lo] = lsn.split('/');
  const seg = Math.floor(parseInt(lo!, 16) / (16 * 1024 * 1024));
  return `00000001${hi!.padStart(8, '0')}${seg.toString(16).toUpperCase().padStart(8, '0')}`;
}

/** A copied repository belongs to the server's OS user, as the original (archive_command writes there). */
async function chownTree(dir: string): Promise<void> {
  const { uid, gid } = await stat(dir).then(() => stat(join(dir, '..', 'repo')));
  const walk = async (p: string): Promise<void> => {
    await chown(p, uid, gid);
    if ((await stat(p)).isDirectory()) for (const f of await readdir(p)) await walk(join(p, f));
  };
  await walk(dir);
}

void postgresDir;
