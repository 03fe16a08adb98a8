// No registration lag (issue 17, acceptance 2): archiving only, the agent's
// periodic registry scan slowed to once an hour, so only wal-push's own
// registration (archive_command … --catalog) can make a segment known. Right
// after pg_switch_wal() and the archiver reporting the segment, a PITR to
// 1 s before the last commit is accepted and restores exactly the commits
// up to it; the seed's Step 4.3 call, with the 2-second target, is
// accepted too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.js';
import { dropRestored, micros, restoredUrl, Workload, workloadChecksums } from '../e2e/recovery-support.js';
import { freePort, query, runCli, stopAllAgents, waitFor } from '../e2e/support.js';
import { walDirFor } from '../../src/storage/layout.js';
import { storedVersions } from '../../src/storage/wal-store.js';
import { fullBackup, streamingCluster, type StreamingSetup } from './support.js';

const cluster = useCluster({ name: 'stream-register' });
let env: StreamingSetup;
let workload: Workload;
const restored = new Set<string>();

beforeAll(async () => {
  env = await streamingCluster(cluster(), 'reg', 'reg-agent', { streaming: false, walScanSeconds: 3600 });
  workload = new Workload(env.url, 17, 0);
  await workload.init();
  await fullBackup(env.url);
}, 300_000);

afterAll(async () => {
  await workload?.close();
  for (const d of restored) await dropRestored(d);
  await stopAllAgents();
});

/** pg_switch_wal(), then wait only for the archiver (not for the catalog). Returns when pg_stat_archiver names the segment. */
async function switchAndWaitForArchiver(): Promise<string> {
  const [{ f }] = (await query<{ f: string }>(env.url, 'SELECT pg_walfile_name(pg_switch_wal()) AS f')) as [{ f: string }];
  await waitFor(`the archiver to report ${f}`, async () => {
    const [a] = await query<{ last: string | null }>(env.url, 'SELECT last_archived_wal AS last FROM pg_stat_archiver');
    return a!.last !== null && a!.last >= f;
  }, 60_000, 20);
  return f;
}

describe('a segment the archiver reports archived is known to planning at once', () => {
  it('PITR to 1 s before the last commit, right after the switch: accepted and exact', async () => {
    await workload.run(20);
    // A quiet gap, then the last commit: the target (1 s before it) falls in the gap.
    await new Promise((r) => setTimeout(r, 2500));
    await workload.run(1);
    const last = workload.commits.at(-1)!;
    const segment = await switchAndWaitForArchiver();
    const target = new Date(Number(micros(last.time) / 1000n) - 1000).toISOString();

    // Registered by wal-push itself, with the commit times planning needs.
    const [w] = await query<{ last_commit_time: Date | null }>(env.url, 'SELECT last_commit_time FROM backup_mgmt.wal_archive WHERE file_name = $1', [segment]);
    expect(w, `${segment} registered before the archiver reported it`).toBeDefined();
    expect(w!.last_commit_time).not.toBeNull();

    const [r] = await query<{ recovery_id: Buffer; recovery_status: string }>(
      env.url,
      `SELECT * FROM backup_mgmt.initiate_point_in_time_recovery(NULL::bytea, $1::timestamptz, 'FULL_DATABASE', false)`,
      [target],
    );
    expect(r!.recovery_status).not.toBe('FAILED');
    const [row] = await query(env.url, `SELECT * FROM backup_mgmt.await_recovery($1, '4 minutes')`, [r!.recovery_id]);
    if (row!.restore_directory) restored.add(row!.restore_directory);
    expect(row, String(row!.error_message)).toMatchObject({ recovery_status: 'COMPLETED' });
    const got = await workloadChecksums(restoredUrl(row!.restore_port, 'reg'));
    // Every commit but the last one is before the target.
    expect(got).toEqual(workload.expected(workload.commits.length - 1));
    expect(got).not.toEqual(workload.expected(workload.commits.length));
    await dropRestored(row!.restore_directory);
    restored.delete(row!.restore_directory);
  }, 400_000);

  it("the seed's Step 4.3 call with the issue's 2-second target is accepted right after the switch", async () => {
    await workload.run(3);
    await switchAndWaitForArchiver();
    const [r] = await query<{ recovery_status: string }>(
      env.url,
      `SELECT * FROM backup_mgmt.initiate_point_in_time_recovery(
           NULL::BYTEA,  -- system-wide recovery
           CURRENT_TIMESTAMP - INTERVAL '2 seconds',
           'FULL_DATABASE',
           true  -- approval required
       )`,
    );
    expect(r!.recovery_status).toBe('PENDING');
  }, 120_000);

  it('archiving never failed meanwhile', async () => {
    const [a] = await query<{ failed: string; archived: string }>(env.url, 'SELECT failed_count::text AS failed, archived_count::text AS archived FROM pg_stat_archiver');
    expect(Number(a!.archived)).toBeGreaterThan(2);
    expect(a!.failed).toBe('0');
  });

  it('a registration that cannot happen never fails archiving: wal-push stores the file, warns, exits 0', async () => {
    const [{ f }] = (await query<{ f: string }>(env.url, 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')) as [{ f: string }];
    // A copy of a finished segment in a scratch data directory (wal-push reads %p relative to it).
    const [{ prev }] = (await query<{ prev: string }>(env.url, `SELECT pg_walfile_name(pg_current_wal_lsn() - pg_size_bytes(current_setting('wal_segment_size'))) AS prev`)) as [{ prev: string }];
    expect(prev < f).toBe(true);
    const dead = await freePort();
    for (const catalog of [`postgresql://postgres@127.0.0.1:${dead}/nowhere`, 'postgresql://postgres:secret@127.0.0.1/x']) {
      const r = await runCli(['wal-push', `pg_wal/${prev}`, '--repo', env.repo, '--catalog', catalog], { cwd: cluster().dataDir, asPostgres: true });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`${prev} is archived but not registered in the catalog`));
      expect(await storedVersions(walDirFor(env.repo, env.sysid, prev), prev)).toHaveLength(1);
    }
  });
});
