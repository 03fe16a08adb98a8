// What a DBA does on a Debian server, step by step as README "Install on your
// cluster" says (issue #13): a cluster made by Debian's own pg_createcluster
// (configuration in /etc/postgresql/15/<name>, peer authentication on
// /var/run/postgresql), the package installed from `npm pack` into its own
// prefix, `setup --apply` as root, the agent as the postgres OS user from the
// systemd unit setup wrote, a backup from psql, a point-in-time recovery, the
// printed hint to connect to the restored copy, and `recovery remove`. The
// cluster is created under a name of its own and dropped by that name.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/paths.js';
import { isRoot, runCommand } from '../../src/util/process.js';
import { freePort, postgresIds, waitFor } from '../e2e/support.js';

const MAJOR = '15';
const CLUSTER = `bmux_${process.pid}`;
const SOCKET = '/var/run/postgresql';
let port: number;
let work: string;
let prefix: string;
let bin: string;
let url: string;
let repo: string;
let unitFile: string;
let agent: ChildProcess | undefined;
let agentExit: Promise<number | null> | undefined;
let agentLog = '';

// The environment a login shell or systemd gives: nothing of this test's.
const BASE_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command as root, or as postgres through runuser (as the DBA types it); never throws. */
async function sh(cmd: string, args: string[], o: { asPostgres?: boolean; env?: Record<string, string>; cwd?: string } = {}): Promise<Out> {
  const [c, a] = o.asPostgres ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  try {
    const r = await runCommand(c, a as string[], { cwd: o.cwd ?? '/', env: { ...BASE_ENV, ...o.env }, replaceEnv: true, timeoutMs: 300_000 });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { exitCode?: number | null; stdout?: string; stderr?: string; message: string };
    if (err.exitCode === undefined) throw e;
    return { code: err.exitCode ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? err.message };
  }
}

async function psql(sql: string, db = 'appdb'): Promise<string> {
  const r = await sh('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-p', String(port), '-d', db, '-Atc', sql], { asPostgres: true });
  if (r.code !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
  return r.stdout.trim();
}

const mustPass = (r: Out, what: string) => expect(r.code, `${what}\n${r.stdout}\n${r.stderr}`).toBe(0);

describe.skipIf(!isRoot())('install on a Debian cluster (pg_createcluster; needs root)', () => {
  beforeAll(async () => {
    port = await freePort();
    // A folder the server's OS user can read: mkdtemp makes it 0700, the trap the README warns about.
    work = mkdtempSync('/var/tmp/bm-install-');
    await chmod(work, 0o755);
    prefix = join(work, 'opt', 'backup-mgmt');
    repo = join(work, 'backup', 'repo');
    unitFile = join(work, 'backup-mgmt-agent.service');
    url = `postgresql://postgres@/appdb?host=${SOCKET}&port=${port}`;
  }, 60_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGTERM');
      await agentExit;
    }
    // Only the cluster this file created, by its name.
    await sh('pg_dropcluster', [MAJOR, CLUSTER, '--stop']);
    if (work) await rm(work, { recursive: true, force: true });
  }, 120_000);

  it('1. pg_createcluster: config in /etc/postgresql, peer auth on the socket', async () => {
    mustPass(await sh('pg_createcluster', [MAJOR, CLUSTER, '-p', String(port), '--start']), 'pg_createcluster');
    expect(existsSync(`/etc/postgresql/${MAJOR}/${CLUSTER}/postgresql.conf`)).toBe(true);
    expect(readFileSync(`/etc/postgresql/${MAJOR}/${CLUSTER}/pg_hba.conf`, 'utf8')).toMatch(/^local\s+all\s+postgres\s+peer/m);
    await psql('CREATE DATABASE appdb', 'postgres');
  }, 120_000);

  it('2. npm pack, npm install -g --prefix into a directory of its own', async () => {
    // From the clone, as the README says. npm pack would rebuild dist/ first
    // (prepare), under the feet of the test files running beside this one;
    // npm test built it already.
    const pack = await sh('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], { cwd: packageRoot(), env: { HOME: process.env.HOME ?? '/root' } });
    mustPass(pack, 'npm pack');
    const tgz = join(work, pack.stdout.trim().split('\n').pop()!);
    const install = await sh('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tgz], {
      env: { HOME: process.env.HOME ?? '/root' },
    });
    mustPass(install, 'npm install -g');
    bin = join(prefix, 'bin', 'backup-mgmt');
    const v = await sh(bin, ['--version'], { asPostgres: true });
    expect(v.stdout.trim()).toBe((JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version);
  }, 300_000);

  it('2b. the client package type-checks in a consumer with skipLibCheck false (no devDependency needed)', async () => {
    const consumer = join(work, 'consumer');
    mkdirSync(join(consumer, 'node_modules'), { recursive: true });
    symlinkSync(join(prefix, 'lib', 'node_modules', 'backup-mgmt'), join(consumer, 'node_modules', 'backup-mgmt'));
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, skipLibCheck: false, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, types: [] }, files: ['index.ts'] }),
    );
    writeFileSync(
      join(consumer, 'index.ts'),
      `import { BackupMgmt, type BackupProgress } from 'backup-mgmt/client';\n` +
        `const bm = new BackupMgmt({ connectionString: 'postgresql://postgres@/postgres' });\n` +
        `const show = (p: BackupProgress): string => \`\${p.backupBk} \${p.phase ?? ''} \${p.percent ?? ''}\`;\n` +
        `export const run = async () => (await bm.listBackups()).map((b) => b.backup_bk).join(',') + show;\n`,
    );
    const tsc = await sh(process.execPath, [join(packageRoot(), 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer]);
    mustPass(tsc, 'tsc in a consumer');
  }, 120_000);

  it('2c. an installation the server\'s OS user cannot read is refused by setup, in one line', async () => {
    await chmod(work, 0o700); // what mktemp -d leaves
    try {
      const r = await sh(bin, ['setup', '--repo', repo, '--apply', '--database-url', url]);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^backup-mgmt: the server's OS user postgres cannot read ${work} \\(mode 0700\\), but archive_command, restore_command and the agent run this package as postgres: install it where postgres can read it \\(npm pack, then npm install -g --prefix /opt/backup-mgmt`));
      expect(existsSync(repo)).toBe(false);
    } finally {
      await chmod(work, 0o755);
    }
  }, 60_000);

  it('3. migrate up as the postgres OS user (peer authentication)', async () => {
    const r = await sh(bin, ['migrate', 'up'], { asPostgres: true, env: { DATABASE_URL: url } });
    mustPass(r, 'migrate up');
    expect(r.stdout).toMatch(/^backup_mgmt installed: \d+ migration\(s\), functions applied$/m);
  }, 120_000);

  it('4. setup --apply --systemd as root: directories for postgres, settings, restart named, pg_cron advice, the unit', async () => {
    const r = await sh(bin, ['setup', '--repo', repo, '--apply', '--systemd', unitFile, '--database-url', url]);
    mustPass(r, 'setup --apply');
    const restores = join(work, 'backup', 'restores');
    for (const d of [repo, restores]) {
      expect(r.stdout).toContain(`created ${d} (owner postgres, mode 0750)`);
      const st = statSync(d);
      expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o777 }).toEqual({ ...postgresIds(), mode: 0o750 });
    }
    expect(r.stdout).toContain(`restart required for archive_mode (take effect only at server start): pg_ctlcluster ${MAJOR} ${CLUSTER} restart`);
    expect(r.stdout).toMatch(/^archive_timeout 60: a quiet server still archives at least every 60 s/m);
    expect(r.stdout).toMatch(/^pg_cron: not in this database/m);
    expect(r.stdout).toContain(`ALTER SYSTEM SET shared_preload_libraries = 'pg_cron'; ALTER SYSTEM SET cron.database_name = 'appdb'`);
    // The socket needs no pg_hba line for the agent.
    expect(r.stdout).not.toMatch(/pg_hba/);
    const unit = readFileSync(unitFile, 'utf8');
    expect(r.stdout).toContain(`wrote ${unitFile}:`);
    expect(unit).toMatch(/^User=postgres$/m);
    expect(unit).toMatch(/^KillMode=mixed$/m);
    mustPass(await sh('pg_ctlcluster', [MAJOR, CLUSTER, 'restart']), 'restart');
    expect(await psql('SHOW archive_mode')).toBe('on');
    // archive_command runs the installed package, not the checkout.
    // ... and registers each file in the catalog through the socket, as postgres (peer authentication).
    const archive = await psql('SHOW archive_command');
    expect(archive.startsWith(`${process.execPath} ${prefix}/lib/node_modules/backup-mgmt/dist/cli/main.js wal-push %p --repo ${repo} --catalog 'postgresql://postgres@/appdb?host=/var/run/postgresql&port=`)).toBe(true);
    expect(archive).toMatch(/&port=\d+'$/);
    expect(await psql('SHOW archive_timeout')).toBe('1min');
  }, 120_000);

  it('5. the agent from the unit, as postgres', async () => {
    const unit = readFileSync(unitFile, 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(' ');
    const env = /^Environment=(?:"?)DATABASE_URL=(.*?)"?$/m.exec(unit)![1]!.replace(/%%/g, '%');
    expect(env).toBe(url);
    // As systemd starts it: User=postgres, WorkingDirectory=/, only the unit's environment.
    agent = spawn(exec[0]!, exec.slice(1), {
      cwd: '/',
      env: { ...BASE_ENV, DATABASE_URL: env },
      uid: postgresIds().uid,
      gid: postgresIds().gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout!.on('data', (b) => (agentLog += b));
    agent.stderr!.on('data', (b) => (agentLog += b));
    agentExit = new Promise((resolve) => agent!.on('close', (code) => resolve(code)));
    let closed = false;
    void agentExit.then(() => (closed = true));
    await waitFor('the agent to register', async () => {
      if (closed) throw new Error(`the agent exited with ${agent!.exitCode}:\n${agentLog}`);
      return (await psql('SELECT count(*) FROM backup_mgmt.agent WHERE stopped_at IS NULL')) === '1';
    }, 60_000);
  }, 120_000);

  let target: string;
  let rowsAtTarget: string;

  it('6. a backup from psql, changes, a target time', async () => {
    await psql('CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 1000) g');
    const id = await psql(`SELECT encode(backup_id, 'hex') FROM backup_mgmt.create_full_backup()`);
    const done = await psql(`SELECT backup_status || ' ' || verification_status FROM backup_mgmt.await_backup(decode('${id}', 'hex'), '5 minutes')`);
    expect(done, agentLog).toBe('COMPLETED VERIFIED');
    await psql('INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1001, 1500) g');
    rowsAtTarget = await psql('SELECT count(*) FROM orders');
    target = await psql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    await new Promise((r) => setTimeout(r, 1100));
    await psql('DELETE FROM orders WHERE id > 200');
    const last = await psql('SELECT pg_walfile_name(pg_switch_wal())');
    await waitFor('the WAL to be archived and registered', async () => {
      const archived = await psql('SELECT coalesce(last_archived_wal, \'\') FROM pg_stat_archiver');
      if (archived < last) return false;
      return (await sh('psql', ['-X', '-p', String(port), '-d', 'appdb', '-Atc', `SELECT 1 FROM backup_mgmt.plan_recovery('time', '${target}')`], { asPostgres: true })).code === 0;
    }, 120_000, 1000);
  }, 400_000);

  let recoveryBk: string;
  let connect: string;

  it('7. PITR with the CLI; the printed hint connects to the copy', async () => {
    const r = await sh(bin, ['restore', '--target-time', target, '--no-approval', '--wait'], { asPostgres: true, env: { DATABASE_URL: url } });
    mustPass(r, `restore\n${agentLog}`);
    const m = /^(RECOVERY_\S+) COMPLETED in .* connect: (runuser -u postgres -- psql -h \S+ -p \d+ -d postgres); remove: backup-mgmt recovery remove (\S+)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    recoveryBk = m![1]!;
    connect = m![2]!;
    expect(m![3]).toBe(recoveryBk);
    const [cmd, ...args] = connect.split(' ');
    const q = await sh(cmd!, [...args.slice(0, -2), '-d', 'appdb', '-X', '-Atc', 'SELECT count(*) FROM orders']);
    mustPass(q, connect);
    expect(q.stdout.trim()).toBe(rowsAtTarget);
    expect(rowsAtTarget).toBe('1500');
  }, 400_000);

  it('8. recovery list --copies shows it; recovery remove stops and deletes it', async () => {
    const list = await sh(bin, ['recovery', 'list', '--copies'], { asPostgres: true, env: { DATABASE_URL: url } });
    mustPass(list, 'recovery list --copies');
    expect(list.stdout).toContain(`${recoveryBk}: connect: ${connect}`);
    const dir = (await psql(`SELECT restore_directory FROM backup_mgmt.recovery_list WHERE recovery_bk = '${recoveryBk}'`));
    expect(existsSync(join(dir, 'postmaster.pid'))).toBe(true);
    // As the postgres OS user, as the README says: the copy's files are its, and so is peer authentication.
    const rm1 = await sh(bin, ['recovery', 'remove', recoveryBk], { asPostgres: true, env: { DATABASE_URL: url } });
    mustPass(rm1, 'recovery remove');
    expect(rm1.stdout).toMatch(new RegExp(`^${recoveryBk}: stopped the server on port \\d+ and removed ${dir}$`, 'm'));
    expect(existsSync(dir)).toBe(false);
    const after = await sh(bin, ['recovery', 'list', '--copies'], { asPostgres: true, env: { DATABASE_URL: url } });
    expect(after.stdout).toBe('no restored copy is left running\n');
    expect(readdirSync(join(work, 'backup', 'restores'))).toEqual([]);
  }, 120_000);

  it('9. systemctl stop: SIGTERM, a clean stop (stopped_at recorded, exit 0)', async () => {
    agent!.kill('SIGTERM');
    expect(await agentExit).toBe(0);
    expect(await psql('SELECT count(*) FROM backup_mgmt.agent WHERE stopped_at IS NOT NULL')).toBe('1');
  }, 120_000);
});
