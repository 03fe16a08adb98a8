// WAL archiving with the real CLI as archive_command under pgbench load:
// `setup --apply` configures the cluster, every segment is archived without a
// failure and registered in the catalog by the agent, wal-fetch hands back
// byte-identical segments, and tampered or conflicting files are refused.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { chmod, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.js';
import { installedDatabase } from '../harness/pack.js';
import { pgTool, runCommand } from '../../src/util/process.js';
import { segmentCommitTimes } from '../../src/agent/wal-commit-times.js';
import { AgentProcess, ensureBuilt, postgresDir, query, removeDir, runCli, stopAllAgents, waitFor } from './support.js';

// wal_keep_size keeps the originals in pg_wal to compare wal-fetch's output with.
const cluster = useCluster({ name: 'e2e-wal', settings: { wal_keep_size: '1GB', checkpoint_timeout: '30min' } });
let url = '';
let repo = '';
let sysid = '';
let work = '';

beforeAll(async () => {
  await ensureBuilt();
  url = await installedDatabase(cluster(), 'bm_wal');
  repo = await postgresDir(join(cluster().baseDir, 'repo'));
  work = await postgresDir(join(cluster().baseDir, 'work'), 0o755);
  [{ id: sysid }] = (await query<{ id: string }>(url, 'SELECT system_identifier::text AS id FROM pg_control_system()')) as [{ id: string }];
});

afterAll(async () => {
  await stopAllAgents();
});

interface Archiver {
  archived_count: string;
  failed_count: string;
  last_archived_wal: string | null;
}

const archiver = async () => (await query<Archiver>(url, 'SELECT archived_count, failed_count, last_archived_wal FROM pg_stat_archiver'))[0]!;

function pgbench(args: string[]): Promise<unknown> {
  const c = cluster();
  return runCommand(pgTool('pgbench'), ['-h', c.host, '-p', String(c.port), '-U', 'postgres', ...args, 'bench'], { timeoutMs: 120_000 });
}

/** Names of the WAL segments the repository holds. */
function archivedSegments(): string[] {
  const root = join(repo, sysid, 'wal');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => /^[0-9A-F]{16}$/.test(d))
    .flatMap((d) => readdirSync(join(root, d)))
    .map((n) => /^([0-9A-F]{24})-[0-9a-f]{64}\.zst$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
}

describe('WAL archiving through the CLI', () => {
  it('setup --apply sets archive_command and says a restart is needed for archive_mode', async () => {
    const env = { DATABASE_URL: url };
    const first = await runCli(['setup', '--repo', repo, '--apply', '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    const r1 = JSON.parse(first.stdout);
    expect(r1.restart_required).toBe(true);
    const byName = Object.fromEntries(r1.settings.map((s: { name: string }) => [s.name, s]));
    expect(byName.archive_mode).toMatchObject({ change: true, pending_restart: true });
    // wal-push registers each file in this catalog through the server's socket, without a password.
    expect(byName.archive_command.wanted).toBe(
      `${process.execPath} ${join(process.cwd(), 'dist/cli/main.js')} wal-push %p --repo ${repo} ` +
        `--catalog 'postgresql://postgres@/bm_wal?host=${cluster().socketDir}&port=${cluster().port}'`,
    );
    expect(byName.wal_level.change).toBe(false);

    await cluster().restart();
    const second = await runCli(['setup', '--repo', repo, '--apply', '--json'], { env });
    const r2 = JSON.parse(second.stdout);
    expect(r2.restart_required).toBe(false);
    expect(r2.settings.every((s: { change: boolean }) => !s.change)).toBe(true);
    const [{ archive_command }] = (await query<{ archive_command: string }>(url, 'SHOW archive_command')) as [{ archive_command: string }];
    expect(archive_command).toBe(byName.archive_command.wanted);
  });

  it('archives every segment under pgbench load, and the agent registers them', async () => {
    await AgentProcess.start({
      databaseUrl: url,
      repo,
      agentId: 'e2e-wal',
      logFile: join(cluster().baseDir, 'agent.log'),
      extraArgs: ['--wal-scan-seconds', '1'],
    });
    const before = await archiver();
    await cluster().createDatabase('bench');
    await pgbench(['-i', '-q', '-s', '5']);
    await pgbench(['-T', '10', '-c', '4', '-j', '2']);
    const [{ last }] = (await query<{ last: string }>(url, 'SELECT pg_walfile_name(pg_switch_wal()) AS last')) as [{ last: string }];
    await waitFor('the archiver to catch up', async () => {
      const a = await archiver();
      return a.last_archived_wal !== null && a.last_archived_wal >= last;
    });
    const after = await archiver();
    expect(after.failed_count).toBe('0');
    expect(Number(after.archived_count) - Number(before.archived_count)).toBeGreaterThanOrEqual(3);
    const ready = await query(url, `SELECT name FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'`);
    expect(ready).toEqual([]);

    const segments = archivedSegments();
    expect(segments).toContain(last);
    const rows = await waitFor('the agent to register the archived WAL', async () => {
      const r = await query<{ file_name: string; bytes: string; sha256: string }>(
        url,
        `SELECT file_name, bytes, sha256 FROM backup_mgmt.wal_archive WHERE system_identifier = $1 AND file_name ~ '^[0-9A-F]{24}$' ORDER BY file_name`,
        [sysid],
      );
      return r.length >= segments.length ? r : undefined;
    }, 30_000);
    expect(rows.map((r) => r.file_name)).toEqual(segments);
    expect(rows.every((r) => r.bytes === String(16 * 1024 * 1024) && /^[0-9a-f]{64}$/.test(r.sha256))).toBe(true);
  });

  it('wal-fetch returns byte-identical segments and exit 1 for a file the archive lacks', async () => {
    const segments = archivedSegments();
    const pgWal = join(cluster().dataDir, 'pg_wal');
    const sample = [segments[0]!, segments[Math.floor(segments.length / 2)]!, segments.at(-1)!];
    for (const seg of sample) {
      const dest = join(work, `fetched-${seg}`);
      // As restore_command runs: the postgres OS user, relative %p, cwd = the target data directory.
      const r = await runCli(['wal-fetch', seg, `fetched-${seg}`, '--repo', repo], { cwd: work, asPostgres: true });
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(dest).equals(readFileSync(join(pgWal, seg)))).toBe(true);
      await removeDir(dest);
    }
    // The registry reads commit times from the stored segments; pgbench's run committed in the last ones.
    const withCommits: string[] = [];
    for (const seg of segments.slice(-3)) {
      const dir = join(repo, sysid, 'wal', seg.slice(0, 16));
      const stored = readdirSync(dir).find((n) => n.startsWith(`${seg}-`))!;
      const times = await segmentCommitTimes(join(dir, stored), stored.slice(25, 89), seg);
      if (times.first === null) continue;
      expect(times.first).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00$/);
      expect(times.last! >= times.first).toBe(true);
      withCommits.push(seg);
    }
    expect(withCommits.length).toBeGreaterThan(0);

    const missing = await runCli(['wal-fetch', '00000001000000FF000000FF', 'x', '--repo', repo], { cwd: work, asPostgres: true });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not in the archive/);
    expect(existsSync(join(work, 'x'))).toBe(false);
  });

  it('refuses a tampered archived segment, and a different segment pushed under an existing name', async () => {
    const segments = archivedSegments();
    const seg = segments[1]!;
    const dir = join(repo, sysid, 'wal', seg.slice(0, 16));
    const stored = join(dir, readdirSync(dir).find((n) => n.startsWith(`${seg}-`))!);

    // Re-pushing the identical original is fine (the archiver may repeat itself after a crash).
    const original = join(cluster().dataDir, 'pg_wal', seg);
    const again = await runCli(['wal-push', `pg_wal/${seg}`, '--repo', repo], { cwd: cluster().dataDir, asPostgres: true });
    expect(again.code, again.stderr).toBe(0);

    // A different file under the same name is refused; PostgreSQL would keep its segment.
    const imposter = join(work, seg);
    await copyFile(original, imposter);
    const bytes = readFileSync(imposter);
    bytes[8 * 1024 * 1024]! ^= 0xff;
    writeFileSync(imposter, bytes);
    await chmod(imposter, 0o644);
    const conflict = await runCli(['wal-push', imposter, '--repo', repo], { cwd: work, asPostgres: true });
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/already archived with different content/);
    expect(conflict.stderr.trim().split('\n')).toHaveLength(1);

    // Damage the stored copy itself: wal-fetch must not hand it over.
    const raw = join(work, 'raw');
    await runCommand('zstd', ['-q', '-d', '-f', stored, '-o', raw]);
    const content = readFileSync(raw);
    content[4 * 1024 * 1024]! ^= 0x01;
    writeFileSync(raw, content);
    await runCommand('zstd', ['-q', '-3', '-f', raw, '-o', stored]);
    const r = await runCli(['wal-fetch', seg, 'restored-seg', '--repo', repo], { cwd: work, asPostgres: true });
    expect(r.code).not.toBe(0);
    expect(r.code).toBeGreaterThan(125);
    expect(r.stderr).toMatch(/corrupt/);
    expect(existsSync(join(work, 'restored-seg'))).toBe(false);
  });
});
