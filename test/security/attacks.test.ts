// Issue 12: each finding of the security audit performed as an attack against
// a real cluster archiving through the real wal-push, with the real agent
// (running as the postgres OS user with DATABASE_URL and PGPASSWORD in its
// environment), and shown to fail with nothing executed and nothing changed.
// The agent-side guarantees (pinned search_path on every connection to a
// restored copy, the minimal environment of a restored postmaster, no shell
// between the agent and the postmaster) are asserted on a copy the agent
// restored and left running.
import { spawn } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESTORED_CONNECTION_OPTIONS, RestoredServer } from '../../src/agent/restored-server.js';
import { absolutePath } from '../../src/agent/protocol.js';
import { cliEntry, packageRoot } from '../../src/util/paths.js';
import { isRoot, minimalEnv, pgTool, runAsPostgres } from '../../src/util/process.js';
import { useCluster } from '../harness/cluster.js';
import { archiveNow, archivingCluster, dropRestored, type ArchivingSetup } from '../e2e/recovery-support.js';
import { freePort, NODE, postgresDir, postgresIds, query, stopAllAgents, waitFor, withDatabase } from '../e2e/support.js';

const cluster = useCluster({ name: 'sec-attacks' });
const CANARY_PASSWORD = `canary-${process.pid}`;
// Where the planted programs would leave their mark (writable by the postgres OS user).
const MARK = join(tmpdir(), `bm-sec-attack-${process.pid}`);
const TRAP_MARKER = `${MARK}-trap`;
const SHELL_MARKER = `${MARK}-shell`;

let env: ArchivingSetup;
let fullHk: Buffer;
let kept: { dir: string; port: number; socket: string; pid: number } | undefined;
const restored = new Set<string>();

const as = (user: string, db?: string) => {
  const u = new URL(db ? withDatabase(env.url, db) : env.url);
  u.username = user;
  return u.toString();
};
const sqlError = (p: Promise<unknown>) => p.then(() => undefined, (e: Error & { code?: string }) => e);
const count = async (sql: string) => Number((await query<{ n: string }>(env.url, sql))[0]!.n);

/** What every refused attack must leave untouched: counts of the catalog's hubs, jobs and settings. */
async function catalogState(): Promise<string> {
  const [r] = await query<{ s: string }>(
    env.url,
    `SELECT concat_ws(' ', (SELECT count(*) FROM backup_mgmt.backup_execution_h), (SELECT count(*) FROM backup_mgmt.recovery_operation_h),
                      (SELECT count(*) FROM backup_mgmt.job), (SELECT count(*) FROM backup_mgmt.backup_schedule_s),
                      (SELECT md5(coalesce(string_agg(name || '=' || value, ',' ORDER BY name), '')) FROM backup_mgmt.setting),
                      (SELECT md5(coalesce(string_agg(agent_id || repository_root || coalesce(restore_root, ''), ',' ORDER BY agent_id), '')) FROM backup_mgmt.agent)) AS s`,
  );
  return r!.s;
}

async function awaitRecovery(hk: Buffer, timeout = '4 minutes') {
  const [row] = await query(env.url, `SELECT * FROM backup_mgmt.await_recovery($1, '${timeout}')`, [hk]);
  return row!;
}

beforeAll(async () => {
  for (const m of [TRAP_MARKER, SHELL_MARKER]) rmSync(m, { force: true });
  // The agent inherits this test's environment: a password it must never pass on to a restored server.
  process.env.PGPASSWORD = CANARY_PASSWORD;
  env = await archivingCluster(cluster(), 'bm_attacks', 'sec-attacks');

  // Finding 1's trap, planted by a role with nothing but CREATEDB: its own
  // database whose search_path puts an aggregate count(*) before
  // pg_catalog's; the aggregate's final function runs a program as whoever
  // calls it (COPY TO PROGRAM works for a superuser caller).
  await query(env.url, `CREATE ROLE mallory LOGIN CREATEDB`);
  await query(as('mallory', 'postgres'), 'CREATE DATABASE evil');
  await query(
    as('mallory', 'evil'),
    `CREATE SCHEMA ev;
     CREATE FUNCTION ev.trap_step(bigint) RETURNS bigint LANGUAGE sql AS 'SELECT $1 + 1';
     CREATE FUNCTION ev.trap_final(bigint) RETURNS bigint LANGUAGE plpgsql AS $f$
     BEGIN
         RAISE WARNING 'BM_TRAP fired as %', current_user;
         EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'touch ${TRAP_MARKER}');
         RETURN $1;
     END $f$;
     CREATE AGGREGATE ev.count(*) (sfunc = ev.trap_step, stype = bigint, initcond = '0', finalfunc = ev.trap_final);
     CREATE TABLE ev.loot AS SELECT g AS id FROM generate_series(1, 42) AS g;
     CREATE TABLE public.more AS SELECT g AS id FROM generate_series(1, 8) AS g;
     ALTER DATABASE evil SET search_path = ev, pg_catalog;`,
  );
  // Finding 6: a subscription of the source (a publisher that is not there; the copy must never start its worker).
  await query(env.url, `CREATE SUBSCRIPTION sec_sub CONNECTION 'host=127.0.0.1 port=1 dbname=nowhere connect_timeout=1' PUBLICATION p WITH (connect = false)`);
  await query(env.url, 'ALTER SUBSCRIPTION sec_sub ENABLE');

  await query(env.url, `CREATE ROLE op_oscar LOGIN IN ROLE backup_operator`);
  const [q] = await query<{ backup_id: Buffer }>(env.url, 'SELECT backup_id FROM backup_mgmt.create_full_backup()');
  const [done] = await query(env.url, `SELECT * FROM backup_mgmt.await_backup($1, '3 minutes')`, [q!.backup_id]);
  expect(done).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
  fullHk = q!.backup_id;
  await archiveNow(env.url);
}, 300_000);

afterAll(async () => {
  delete process.env.PGPASSWORD;
  for (const dir of restored) await dropRestored(dir);
  await stopAllAgents();
  for (const m of [TRAP_MARKER, SHELL_MARKER]) rmSync(m, { force: true });
});

describe('finding 1: restore validation walks into a planted aggregate', () => {
  it('a drill requested by a backup_operator counts the trap database without calling the trap', async () => {
    const [d] = await query<{ recovery_id: Buffer }>(as('op_oscar'), 'SELECT * FROM backup_mgmt.create_restore_drill($1)', [fullHk]);
    const row = await awaitRecovery(d!.recovery_id);
    expect(row, row.error_message ?? '').toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED' });
    const [job] = await query<{ result: { validation: { databases: { name: string; rows: number; error?: string }[] } } }>(
      env.url, `SELECT result FROM backup_mgmt.job WHERE job_type = 'RESTORE' AND subject_hk = $1`, [d!.recovery_id]);
    // The trap's tables were counted (42 + 8 rows) by pg_catalog.count, not ev.count.
    expect(job!.result.validation.databases.find((x) => x.name === 'evil')).toMatchObject({ rows: 50 });
    expect(existsSync(TRAP_MARKER)).toBe(false);
  });
});

describe('a kept copy: what a restored server can and cannot do (findings 1, 4, 6, 8; agent-side suite)', () => {
  let victim: string;
  let oldSocketName: string;

  beforeAll(async () => {
    // Finding 8's attack: the socket directory's old, predictable name in /tmp,
    // planted as a link to a directory of the attacker's choice.
    victim = join(cluster().baseDir, 'victim');
    mkdirSync(victim, { recursive: true });
    writeFileSync(join(victim, 'precious'), 'keep me');
    const dir = join(env.restoreRoot, `SEC_KEPT_${process.pid}`);
    oldSocketName = join(tmpdir(), `bm-restore-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`);
    rmSync(oldSocketName, { force: true });
    symlinkSync(victim, oldSocketName);

    const [r] = await query<{ recovery_id: Buffer }>(env.url, `SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL, $1, false)`, [dir]);
    restored.add(dir);
    const row = await awaitRecovery(r!.recovery_id);
    expect(row, row.error_message ?? '').toMatchObject({ recovery_status: 'COMPLETED', validation_status: 'PASSED', kept_running: true });
    const [job] = await query<{ result: { socket_directory: string; restore_port: number } }>(
      env.url, `SELECT result FROM backup_mgmt.job WHERE job_type = 'RESTORE' AND subject_hk = $1`, [r!.recovery_id]);
    const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    kept = { dir, port: job!.result.restore_port, socket: job!.result.socket_directory, pid };
  }, 300_000);

  afterAll(() => {
    rmSync(oldSocketName, { force: true });
  });

  it('finding 1: no planted function ran while validating, and the copy log shows none', async () => {
    expect(existsSync(TRAP_MARKER)).toBe(false);
    expect(readFileSync(join(kept!.dir, 'log', 'backup_mgmt_restore.log'), 'utf8')).not.toContain('BM_TRAP');
  });

  it('every connection the agent makes to a restored copy pins search_path in its startup packet', async () => {
    expect(RESTORED_CONNECTION_OPTIONS).toBe('-c search_path=pg_catalog,pg_temp');
    // Control: without the startup option, the trap database's own setting applies.
    const plain = new pg.Client({ host: kept!.socket, port: kept!.port, user: 'postgres', database: 'evil' });
    await plain.connect();
    expect((await plain.query('SHOW search_path')).rows[0].search_path).toBe('ev, pg_catalog');
    await plain.end();
    // The agent's only way in (RestoredServer.connect), as pg_stat_activity sees it.
    const server = new RestoredServer({ dataDir: kept!.dir, socketDir: kept!.socket, logFile: '/dev/null', port: kept!.port });
    const c = await server.connect('postgres', 'evil');
    try {
      const [me] = (await c.query(`SELECT current_setting('search_path') AS sp, a.application_name AS app
                                   FROM pg_catalog.pg_stat_activity AS a WHERE a.pid = pg_catalog.pg_backend_pid()`)).rows;
      expect(me).toEqual({ sp: 'pg_catalog,pg_temp', app: 'backup-mgmt agent (restore validation)' });
      expect((await c.query('SELECT count(*) AS n FROM ev.loot')).rows[0].n).toBe('42');
    } finally {
      await c.end();
    }
    expect(existsSync(TRAP_MARKER)).toBe(false);
    // And no agent module opens a client or pool without the pinned options.
    const srcAgent = join(packageRoot(), 'src', 'agent');
    for (const f of readdirSync(srcAgent).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(join(srcAgent, f), 'utf8');
      const opens = text.match(/new pg\.(Client|Pool)\([^;]*/g) ?? [];
      for (const o of opens) expect(o, `${f}: ${o}`).toMatch(/PINNED_OPTIONS|restoredClientConfig/);
    }
  });

  it('finding 4: the restored postmaster has the minimal environment (no DATABASE_URL, no PGPASSWORD)', async () => {
    const environ = readFileSync(`/proc/${kept!.pid}/environ`, 'utf8').split('\0').filter(Boolean);
    const keys = environ.map((e) => e.slice(0, e.indexOf('=')));
    expect(keys).toContain('PATH');
    expect(environ.join('\n')).not.toContain(CANARY_PASSWORD);
    for (const k of keys) expect(k, environ.join(' ')).toMatch(/^(PATH|LANG|LANGUAGE|LC_[A-Z]+|TZ)$/);
    expect(keys).not.toContain('DATABASE_URL');
    expect(keys).not.toContain('PGPASSWORD');
    // The agent itself had both (the attack surface the fix closes).
    const agentEnv = readFileSync(`/proc/${env.agent.pid}/environ`, 'utf8');
    expect(agentEnv).toContain('DATABASE_URL=');
    expect(agentEnv).toContain(CANARY_PASSWORD);
  });

  it('finding 2: the postmaster was started by the agent itself, not through a shell', () => {
    const cmdline = readFileSync(`/proc/${kept!.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline[0]).toBe(pgTool('postgres'));
    expect(cmdline.slice(1, 3)).toEqual(['-D', kept!.dir]);
    const ppid = Number(readFileSync(`/proc/${kept!.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]);
    expect([env.agent.pid, 1]).toContain(ppid);
  });

  it('finding 6: no logical replication worker, no cron job runner in the copy', async () => {
    const url = `postgresql://postgres@127.0.0.1:${kept!.port}/bm_attacks`;
    const [s] = await query(url, `SELECT current_setting('max_logical_replication_workers') AS workers,
                                         (SELECT count(*) FROM pg_stat_activity WHERE backend_type ~ 'logical replication') AS logical,
                                         (SELECT count(*) FROM pg_subscription WHERE subname = 'sec_sub') AS subs,
                                         (SELECT pid FROM pg_stat_subscription WHERE subname = 'sec_sub') AS sub_pid,
                                         current_setting('cron.launch_active_jobs', true) AS cron`);
    expect(s).toMatchObject({ workers: '0', logical: '0', subs: '1', sub_pid: null });
    expect(s!.cron).toBe('off');
  });

  it('finding 8: the socket directory is private and the planted link was not followed', () => {
    const st = lstatSync(kept!.socket);
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    expect(kept!.socket).not.toBe(oldSocketName);
    if (!kept!.socket.startsWith(kept!.dir)) expect(statSync(dirname(kept!.socket)).mode & 0o777).toBe(0o711);
    expect(lstatSync(oldSocketName).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(victim, 'precious'), 'utf8')).toBe('keep me');
    expect(statSync(victim).uid).toBe(process.getuid!());
  });
});

describe('finding 2: shell metacharacters in a restore directory', () => {
  it('is refused in SQL (22023) for every metacharacter, nothing is queued, nothing runs', async () => {
    const before = await catalogState();
    for (const evil of [`r$(touch ${SHELL_MARKER})`, `r\`touch ${SHELL_MARKER}\``, 'r"; touch x; "', "r'x", 'r;id', 'r|id', 'r&id', 'r x', 'r\nx', '-rf', 'r*', 'r~']) {
      const e = await sqlError(query(env.url, `SELECT * FROM backup_mgmt.initiate_recovery('immediate', NULL, $1, false)`, [`${env.restoreRoot}/${evil}`]));
      expect(e?.code, evil).toMatch(/^22/);
    }
    expect(await catalogState()).toBe(before);
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(SHELL_MARKER)).toBe(false);
  });

  it('the agent refuses such a path in a plan again, and starts a server in such a directory without a shell', async () => {
    expect(absolutePath.safeParse(`/srv/r$(touch ${SHELL_MARKER})`).success).toBe(false);
    expect(absolutePath.safeParse('/srv/-rf').success).toBe(false);
    expect(absolutePath.safeParse('/srv/restores/RECOVERY_1').success).toBe(true);
    // Second layer: even a directory named like an attack starts without running it.
    const base = await postgresDir(join(cluster().baseDir, 'hostile'), 0o755);
    const plainDir = join(base, 'data');
    await runAsPostgres(pgTool('initdb'), ['-D', plainDir, '-A', 'trust', '-N', '-U', 'postgres'], { timeoutMs: 120_000 });
    // No '/' may appear in one name: the program leaves its mark in its working directory.
    const mark = `bm-sec-shell-${process.pid}`;
    const hostile = join(base, `d$(touch ${mark})`);
    renameSync(plainDir, hostile);
    const sock = await postgresDir(join(base, 'sock'), 0o700);
    const log = join(base, 'log');
    writeFileSync(log, '');
    if (isRoot()) chownSync(log, postgresIds().uid, postgresIds().gid);
    const port = await freePort();
    const server = new RestoredServer({ dataDir: hostile, socketDir: sock, logFile: log, port, postgresArgs: ['-c', `unix_socket_directories=${sock}`, '-c', 'listen_addresses=', '-c', `port=${port}`] });
    server.start();
    try {
      const c = await waitFor('the hostile-named server', async () => server.connect('postgres', 'postgres').catch(() => undefined), 60_000);
      await c.end();
      for (const d of [base, hostile, '/', '/var/lib/postgresql']) expect(existsSync(join(d, mark)), d).toBe(false);
    } finally {
      await server.stop('fast');
    }
  });
});

describe('finding 3: tenant-bound roles and system-wide work through schedules', () => {
  it('refuses a tenant DRILL or HEALTH_CHECK schedule and a system schedule by a tenant role, and writes nothing', async () => {
    const tb = (await query<{ hk: Buffer }>(env.url, `SELECT backup_mgmt.hash_key('TENANT_B') AS hk`))[0]!.hk;
    await query(env.url, `CREATE ROLE tenant_b NOLOGIN IN ROLE backup_operator; CREATE ROLE bob LOGIN IN ROLE tenant_b`);
    await query(env.url, `SELECT backup_mgmt.bind_role_to_tenant('tenant_b', $1)`, [tb]);
    const before = await catalogState();
    for (const type of ['DRILL', 'HEALTH_CHECK']) {
      const e = await sqlError(query(as('bob'), `SELECT backup_mgmt.create_backup_schedule($1, $2, '* * * * *', $3)`, [`b-${type.toLowerCase()}`, type, tb]));
      expect(e?.code, type).toBe('0A000');
      const s = await sqlError(query(as('bob'), `SELECT backup_mgmt.create_backup_schedule($1, $2, '* * * * *')`, [`b-sys-${type.toLowerCase()}`, type]));
      expect(s?.code, type).toBe('42501');
    }
    expect(await catalogState()).toBe(before);
  });

  it('a tenant DRILL schedule written before the check existed runs nothing either', async () => {
    const tb = (await query<{ hk: Buffer }>(env.url, `SELECT backup_mgmt.hash_key('TENANT_B') AS hk`))[0]!.hk;
    const recoveries = await count('SELECT count(*) AS n FROM backup_mgmt.recovery_operation_h');
    // Written the way the catalog held it (the API refuses to create it now), and
    // run in the same transaction, as pg_cron would run it (the agent cannot see it before).
    const c = new pg.Client({ connectionString: env.url });
    await c.connect();
    let r: { out: string } | undefined;
    try {
      await c.query('BEGIN');
      await c.query(`INSERT INTO backup_mgmt.backup_schedule_h (schedule_hk, schedule_bk, tenant_hk, record_source)
                     VALUES (backup_mgmt.hash_key('legacy-drill'), 'legacy-drill', $1, 'test')`, [tb]);
      await c.query(`SELECT backup_mgmt.backup_schedule_s_load(backup_mgmt.hash_key('legacy-drill'), $1, 'test')`, [{
        schedule_name: 'legacy-drill', backup_type: 'DRILL', schedule_expression: '* * * * *', timezone: 'UTC', is_active: true,
        next_execution_time: new Date(Date.now() - 60_000).toISOString(), execution_count: 0, created_by: 'bob', changed_by: 'bob',
      }]);
      r = (await c.query<{ out: string }>(`SELECT backup_mgmt.run_schedule('legacy-drill') AS out`)).rows[0];
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
    expect(r!.out).toMatch(/^failed: .*SQLSTATE 0A000/);
    expect(await count('SELECT count(*) AS n FROM backup_mgmt.recovery_operation_h')).toBe(recoveries);
    await query(env.url, `SELECT backup_mgmt.drop_backup_schedule('legacy-drill')`);
  });

  it('a schedule whose owner lost the right is refused at run time by the agent: nothing starts', async () => {
    await query(env.url, `CREATE ROLE ops_sam LOGIN IN ROLE backup_operator`);
    // Paused at once, so that no run can happen before the binding below.
    await query(as('ops_sam'), `SELECT backup_mgmt.create_backup_schedule('sam-drill', 'DRILL', '* * * * *'); SELECT backup_mgmt.pause_backup_schedule('sam-drill')`);
    // Later sam is bound to a tenant: the schedule must not keep his old power.
    const tb = (await query<{ hk: Buffer }>(env.url, `SELECT backup_mgmt.hash_key('TENANT_B') AS hk`))[0]!.hk;
    await query(env.url, `SELECT backup_mgmt.bind_role_to_tenant('ops_sam', $1)`, [tb]);
    await query(env.url, `SELECT backup_mgmt.resume_backup_schedule('sam-drill')`);
    const recoveries = await count('SELECT count(*) AS n FROM backup_mgmt.recovery_operation_h');
    // The agent drives due schedules (pg_cron lives in another database here); wait for its decision.
    const run = await waitFor(
      'the agent to run sam-drill',
      async () => {
        const [r] = await query<{ last: { outcome: string; detail: string } | null }>(
          env.url, `SELECT tags->'last_run' AS last FROM backup_mgmt.backup_schedule_current WHERE schedule_name = 'sam-drill'`);
        return r?.last ?? undefined;
      },
      90_000,
      500,
    );
    expect(run.outcome).toBe('FAILED');
    expect(run.detail).toContain('SQLSTATE 42501');
    expect(await count('SELECT count(*) AS n FROM backup_mgmt.recovery_operation_h')).toBe(recoveries);
    // The same check refuses a type change the owner could not start either.
    await query(env.url, `SELECT backup_mgmt.unbind_role_from_tenant('ops_sam')`);
    await query(env.url, `REVOKE backup_operator FROM ops_sam; GRANT backup_viewer TO ops_sam`);
    expect((await sqlError(query(env.url, `SELECT backup_mgmt.alter_backup_schedule('sam-drill', p_backup_type => 'CLEANUP')`)))?.code).toBe('42501');
    await query(env.url, `SELECT backup_mgmt.drop_backup_schedule('sam-drill')`);
  }, 120_000);
});

describe('finding 5: a backup location inside another backup or a root\'s layout', () => {
  it('is refused (22023) and nothing is queued', async () => {
    const [b] = await query<{ repository_path: string }>(env.url, 'SELECT repository_path FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1', [fullHk]);
    const before = await catalogState();
    for (const loc of [b!.repository_path, `${b!.repository_path}/inner`, join(env.repo, env.sysid), join(env.repo, env.sysid, 'backups')]) {
      const e = await sqlError(query(env.url, 'SELECT * FROM backup_mgmt.create_full_backup(NULL, $1)', [loc]));
      expect(e?.code, loc).toBe('22023');
    }
    expect(await catalogState()).toBe(before);
  });
});

describe('finding 7: unbounded settings and system directories as roots', () => {
  it('refuses them (22023) and changes nothing', async () => {
    const before = await catalogState();
    for (const [name, value] of [
      ['backup.retention_period', '10000000 years'],
      ['backup.retention_period', '101 years'],
      ['restore.root', '/'],
      ['restore.root', '/etc'],
      ['repository.root', '/usr/lib/x'],
      ['repository.roots', `${env.repo},/`],
      ['repository.roots', '/proc/self'],
      ['restore.root', '/var'],
    ] as const) {
      expect((await sqlError(query(env.url, 'SELECT backup_mgmt.set_setting($1, $2)', [name, value])))?.code, `${name}=${value}`).toBe('22023');
    }
    expect((await sqlError(query(env.url, `SELECT backup_mgmt.agent_register('rogue', 'h', 1, '/', NULL, '{}')`)))?.code).toBe('22023');
    expect((await sqlError(query(env.url, `SELECT backup_mgmt.agent_register('rogue', 'h', 1, $1, '/boot', '{}')`, [env.repo])))?.code).toBe('22023');
    expect(await catalogState()).toBe(before);
  });
});

describe('finding 9: two concurrent wal-push of different content for one name', () => {
  it('stores exactly one version, every round', async () => {
    // A real finished segment of this cluster, and a copy differing after its header.
    const seg = await archiveNow(env.url);
    const work = await postgresDir(join(cluster().baseDir, 'walrace'));
    const a = await postgresDir(join(work, 'a'));
    const b = await postgresDir(join(work, 'b'));
    const original = readdirSync(join(env.repo, env.sysid, 'wal', seg.slice(0, 16))).find((n) => n.startsWith(`${seg}-`))!;
    await runAsPostgres('zstd', ['-q', '-d', '-f', '-o', join(a, seg), '--', join(env.repo, env.sysid, 'wal', seg.slice(0, 16), original)]);
    copyFileSync(join(a, seg), join(b, seg));
    const buf = readFileSync(join(b, seg));
    buf[100_000] = buf[100_000]! ^ 0xff;
    writeFileSync(join(b, seg), buf);
    if (isRoot()) for (const f of [join(a, seg), join(b, seg)]) chownSync(f, postgresIds().uid, postgresIds().gid);

    const push = (repo: string, dir: string) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(NODE, [cliEntry(), 'wal-push', join(dir, seg), '--repo', repo, '--system-identifier', env.sysid], {
          cwd: '/', env: minimalEnv(), stdio: 'ignore', ...(isRoot() ? { uid: postgresIds().uid, gid: postgresIds().gid } : {}),
        });
        child.on('close', resolve);
      });
    for (let round = 0; round < 6; round++) {
      const repo = await postgresDir(join(work, `repo${round}`));
      const codes = await Promise.all([push(repo, a), push(repo, b)]);
      const stored = readdirSync(join(repo, env.sysid, 'wal', seg.slice(0, 16))).filter((n) => n.startsWith(`${seg}-`));
      expect(stored, `round ${round}: exit codes ${codes}`).toHaveLength(1);
      expect(codes.filter((c) => c === 0), `round ${round}`).toHaveLength(1);
      // No claim is left behind.
      expect(readdirSync(join(repo, env.sysid, 'wal', seg.slice(0, 16))).filter((n) => n.startsWith('.'))).toEqual([]);
    }
  }, 120_000);
});

describe('finding 10: what a non-superuser agent needs, and failed drills', () => {
  it('a member of backup_agent may switch the WAL segment (incrementals)', async () => {
    await query(env.url, `CREATE ROLE agent_ann LOGIN IN ROLE backup_agent`);
    const [r] = await query<{ lsn: string }>(as('agent_ann'), 'SELECT pg_catalog.pg_switch_wal()::text AS lsn');
    expect(r!.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  });

  it('PITR never picks by itself a backup whose restore drill failed', async () => {
    await query(env.url, `SELECT backup_mgmt.set_setting('job.max_attempts', '1')`);
    const [q] = await query<{ backup_id: Buffer }>(env.url, 'SELECT backup_id FROM backup_mgmt.create_full_backup()');
    await query(env.url, `SELECT 1 FROM backup_mgmt.await_backup($1, '3 minutes')`, [q!.backup_id]);
    await archiveNow(env.url);
    const newer = q!.backup_id;
    const base = async () => (await query<{ hk: string }>(env.url, `SELECT backup_mgmt.plan_recovery('latest', NULL)->'base'->>'backup_hk' AS hk`))[0]!.hk;
    expect(await base()).toBe(newer.toString('hex'));
    // Its drill fails for real: the stored archive is damaged while the drill runs, then put back.
    const [st] = await query<{ repository_path: string }>(env.url, 'SELECT repository_path FROM backup_mgmt.backup_storage_current WHERE backup_hk = $1', [newer]);
    const archive = join(st!.repository_path, 'base.tar.zst');
    const saved = `${archive}.saved`;
    renameSync(archive, saved);
    writeFileSync(archive, 'not zstd');
    try {
      const [d] = await query<{ recovery_id: Buffer }>(env.url, 'SELECT * FROM backup_mgmt.create_restore_drill($1)', [newer]);
      const row = await awaitRecovery(d!.recovery_id);
      expect(row.recovery_status).toBe('FAILED');
    } finally {
      renameSync(saved, archive);
    }
    const [b] = await query(env.url, 'SELECT recovery_test_success FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [newer]);
    expect(b!.recovery_test_success).toBe(false);
    expect(await base()).toBe(fullHk.toString('hex'));
    await query(env.url, `SELECT backup_mgmt.set_setting('job.max_attempts', NULL)`);
  }, 300_000);
});
