// The CLI's answers to what an operator gets wrong (issue #13): each is one
// line on stderr with what to do, and the documented exit code — 2 for usage
// and for a database that cannot be reached or lacks the schema, 3 for an
// outcome not known (check's UNKNOWN, --wait with no live agent).
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTargetTime } from '../../src/cli/target-time.js';
import { parseConnectionString } from '../../src/agent/conninfo.js';
import { migrateUp } from '../../src/migrate/runner.js';
import { packageRoot } from '../../src/util/paths.js';
import { AgentProcess, ensureBuilt, freePort, postgresDir, query, runCli, stopAllAgents } from '../e2e/support.js';
import { useCluster } from '../harness/cluster.js';

const cluster = useCluster({ name: 'cli-errors' });
let url: string;
let emptyUrl: string;

beforeAll(async () => {
  url = cluster().connectionString('postgres');
  await cluster().createDatabase('no_pack');
  emptyUrl = cluster().connectionString('no_pack');
  await Promise.all([migrateUp(url), ensureBuilt()]);
});
afterAll(async () => {
  await stopAllAgents();
});

/** Exactly one line on stderr, nothing on stdout. */
function oneLine(r: { stdout: string; stderr: string }): string {
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  return r.stderr.trimEnd();
}

describe('usage', () => {
  it('--version prints the package version and exits 0', async () => {
    const r = await runCli(['--version']);
    const { version } = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('an unknown command is one line, not the whole help, exit 2', async () => {
    const r = await runCli(['bakcup']);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe("backup-mgmt: unknown command 'bakcup' (Did you mean backup?) (see: backup-mgmt --help)");
    expect(r.stdout).toBe('');
  });

  it('an unknown option is one line, exit 2, also in subcommands', async () => {
    const r = await runCli(['list', '--verbose', '--database-url', url]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe("backup-mgmt: unknown option '--verbose' (see: backup-mgmt list --help)");
    const sub = await runCli(['recovery', 'list', '--copy', '--database-url', url]);
    expect(sub.code).toBe(2);
    expect(oneLine(sub)).toMatch(/^backup-mgmt: unknown option '--copy'.*\(see: backup-mgmt recovery list --help\)$/);
  });

  it('--target-time: now, relative and local forms; nonsense is exit 2 naming the forms', async () => {
    const now = new Date('2026-12-07T12:00:00.000Z');
    expect(resolveTargetTime('now', now)).toEqual({ iso: '2026-12-07T12:00:00.000Z', readAs: 'now' });
    expect(resolveTargetTime('-5min', now).iso).toBe('2026-12-07T11:55:00.000Z');
    expect(resolveTargetTime('now-2h', now).iso).toBe('2026-12-07T10:00:00.000Z');
    expect(resolveTargetTime('-1 day', now).iso).toBe('2026-12-06T12:00:00.000Z');
    expect(resolveTargetTime('2026-12-07T01:02:03+01', now)).toEqual({ iso: '2026-12-07T01:02:03+01', readAs: null });
    // Without a zone: the zone of the machine running the CLI (here TZ of this process).
    const local = resolveTargetTime('2026-12-07 01:02:03', now);
    expect(local.iso).toBe(new Date(2026, 11, 7, 1, 2, 3).toISOString());
    expect(local.readAs).toMatch(/^local time of this machine/);
    const r = await runCli(['restore', '--target-time', 'yesterday', '--database-url', url]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/^backup-mgmt: --target-time: not a time: "yesterday"; give an ISO 8601 time .*now, or a time before now: -5min, -2h, -1day$/);
    const unit = await runCli(['restore', '--target-time', '-5 fortnights', '--database-url', url]);
    expect(unit.code).toBe(2);
    expect(oneLine(unit)).toMatch(/unknown unit "fortnights"/);
  });
});

describe('the database cannot be reached or lacks the schema: one line with a hint, exit 2', () => {
  it('wrong port over TCP', async () => {
    const port = await freePort();
    const r = await runCli(['list', '--database-url', `postgresql://postgres@127.0.0.1:${port}/postgres`]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(
      `backup-mgmt: cannot connect to 127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}): is the server running and is this its port? pg_lsclusters lists the clusters, their ports and states`,
    );
  });

  it('wrong port on the socket directory', async () => {
    const port = await freePort();
    const r = await runCli(['list', '--database-url', `postgresql://postgres@/postgres?host=${cluster().socketDir}&port=${port}`]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(new RegExp(`^backup-mgmt: no server socket ${cluster().socketDir}/\\.s\\.PGSQL\\.${port} .*wrong port or socket directory\\?`));
  });

  it('a host that does not exist', async () => {
    const r = await runCli(['list', '--database-url', 'postgresql://postgres@no-such-host.invalid:5432/postgres']);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/^backup-mgmt: unknown host no-such-host\.invalid \(getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid\): check the host in --database-url \/ DATABASE_URL$/);
  });

  it('a database without the schema says: run migrate up', async () => {
    for (const args of [['list'], ['recovery', 'list'], ['window']]) {
      const r = await runCli([...args, '--database-url', emptyUrl]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(oneLine(r)).toMatch(/^backup-mgmt: backup_mgmt is not installed in this database \(run: backup-mgmt migrate up\): .*\[SQLSTATE (42P01|3F000|42883)\]$/);
    }
  });

  it('a database that does not exist', async () => {
    const r = await runCli(['list', '--database-url', cluster().connectionString('no_such_db')]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/^backup-mgmt: database "no_such_db" does not exist \[SQLSTATE 3D000\] — the database in --database-url \/ DATABASE_URL does not exist on this server$/);
  });
});

describe('check --json for monitoring', () => {
  it('on a dead server prints JSON with status UNKNOWN and exits 3', async () => {
    const port = await freePort();
    const r = await runCli(['check', '--json', '--database-url', `postgresql://postgres@127.0.0.1:${port}/postgres`]);
    expect(r.code).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ status: 'UNKNOWN', exit_code: 3, checks: [] });
    expect(out.summary).toMatch(/^backup_mgmt UNKNOWN: cannot connect to the database: cannot connect to 127\.0\.0\.1:\d+/);
    expect(oneLine(r)).toMatch(/^backup-mgmt: UNKNOWN: cannot connect to the database: /);
  });
});

describe('the agent', () => {
  it('accepts a libpq URI with an empty host (socket directory in ?host=) and stops cleanly on a doubled SIGTERM', async () => {
    const socketUrl = `postgresql://postgres@/postgres?host=${encodeURIComponent(cluster().socketDir)}&port=${cluster().port}`;
    expect(parseConnectionString(socketUrl)).toEqual({ host: cluster().socketDir, port: String(cluster().port), user: 'postgres', dbname: 'postgres' });
    const repo = await postgresDir(join(cluster().baseDir, 'repo'));
    const agent = await AgentProcess.start({ databaseUrl: socketUrl, repo, agentId: 'cli-socket', logFile: join(cluster().baseDir, 'agent.log'), catalogUrl: url });
    // What runuser/su do: the same stop request forwarded, twice within milliseconds.
    process.kill(agent.pid, 'SIGTERM');
    process.kill(agent.pid, 'SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect(agent.log()).not.toMatch(/without cleanup/);
    const [row] = await query<{ stopped: boolean }>(url, `SELECT stopped_at IS NOT NULL AS stopped FROM backup_mgmt.agent WHERE agent_id = 'cli-socket'`);
    expect(row).toEqual({ stopped: true });
  });

  it('names the setting when the connection string is wrong (exit 2)', async () => {
    const r = await runCli(['agent', '--repo', '/tmp/never-created', '--database-url', 'postgresql://postgres@[not-ipv6/postgres']);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(
      'backup-mgmt: --database-url / DATABASE_URL: not a connection URI libpq accepts (postgresql://user@host:port/dbname, postgresql://user@/dbname?host=/socket/dir)',
    );
  });
});

// After the agent above registered and stopped: create_full_backup accepts the
// request (the agent's repository is known), but nobody will run it.
describe('backup full --wait without a live agent', () => {
  it('says no agent is alive at once (exit 3) and leaves the backup queued', async () => {
    const r = await runCli(['backup', 'full', '--wait', '--database-url', url]);
    expect(r.code).toBe(3);
    expect(oneLine(r)).toMatch(
      /^backup-mgmt: no agent is alive \(last heartbeat \d{4}-\d\d-\d\dT[\d:.]+Z\): FULL_BACKUP_\S+ stays queued until one runs; start it: backup-mgmt agent \(or systemctl start backup-mgmt-agent\)$/,
    );
    const [b] = await query<{ backup_status: string }>(url, `SELECT backup_status FROM backup_mgmt.backup_list ORDER BY requested_at DESC LIMIT 1`);
    expect(b!.backup_status).toBe('PENDING');
    await query(url, `SELECT backup_mgmt.cancel_backup(backup_hk) FROM backup_mgmt.backup_list WHERE backup_status = 'PENDING'`);
  });
});
