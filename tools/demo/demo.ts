// `npm run demo`: the whole job on a throwaway cluster. Install the pack,
// archive WAL, take a full and an incremental backup, "accidentally" drop a
// table, recover to just before the drop into a new directory, and prove the
// table is back with its rows. Everything runs for real; nothing is simulated.
// `npm run demo -- --disaster` adds a last act: the cluster and its catalog
// are lost, and the repository alone brings them back.
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createCluster, type TestCluster } from '../local-cluster.js';
import { cliEntry } from '../../src/util/paths.js';
import { isRoot, pgTool, runAsPostgres, runCommand } from '../../src/util/process.js';

const DISASTER = process.argv.includes('--disaster');
const STEPS = DISASTER ? 11 : 9;
const started = Date.now();
let stepNo = 0;

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const green = (s: string) => (process.stdout.isTTY ? `\x1b[32m${s}\x1b[0m` : s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function step(title: string): void {
  stepNo += 1;
  process.stdout.write(`\n${bold(`[${stepNo}/${STEPS}] ${title}`)}\n`);
}
const info = (line: string) => process.stdout.write(`      ${line}\n`);
const sqlEcho = (sql: string) => process.stdout.write(`      ${dim(`sql> ${sql.replace(/\s+/g, ' ').trim()}`)}\n`);

function mb(bytes: number | string | null): string {
  return `${(Number(bytes ?? 0) / 1024 / 1024).toFixed(1)} MB`;
}

/** Runs the real CLI, as a DBA would, and shows the command. */
async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  process.stdout.write(`      ${dim(`$ backup-mgmt ${args.join(' ')}`)}\n`);
  const { stdout } = await runCommand(process.execPath, [cliEntry(), ...args], { env });
  return stdout;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = [], echo = true): Promise<T[]> {
  if (echo) sqlEcho(sql);
  const client = new pg.Client({ connectionString: url, application_name: 'backup-mgmt demo' });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Polls a row until done() says so, printing a progress line when it changes. */
async function waitFor<T>(what: string, poll: () => Promise<T>, done: (row: T) => boolean, describe: (row: T) => string, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const row = await poll();
    const line = describe(row);
    if (line !== last) {
      info(line);
      last = line;
    }
    if (done(row)) return row;
    if (Date.now() > deadline) throw new Error(`${what}: no result after ${timeoutMs / 1000} s (last: ${line})`);
    await sleep(250);
  }
}

interface BackupRow {
  backup_bk: string;
  backup_status: string;
  verification_status: string | null;
  backup_size_bytes: string | null;
  compressed_size_bytes: string | null;
  compression_ratio: string | null;
  backup_duration_seconds: string | null;
  progress_done: string | null;
  progress_total: string | null;
  progress_phase: string | null;
  error_message: string | null;
}

async function awaitBackup(url: string, hk: Buffer): Promise<BackupRow> {
  const row = await waitFor(
    'backup',
    async () => (await query<BackupRow>(url, 'SELECT * FROM backup_mgmt.get_backup($1)', [hk.toString('hex')], false))[0]!,
    (r) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.backup_status) && r.verification_status !== 'PENDING',
    (r) => {
      const pct = r.progress_total && Number(r.progress_total) > 0 ? ` ${Math.round((100 * Number(r.progress_done)) / Number(r.progress_total))}%` : '';
      return `${r.backup_status}${r.backup_status === 'RUNNING' ? `${pct} ${r.progress_phase ?? ''}` : ''} (verification ${r.verification_status ?? '-'})`;
    },
  );
  if (row.backup_status !== 'COMPLETED') throw new Error(`backup ${row.backup_bk} ended ${row.backup_status}: ${row.error_message}`);
  return row;
}

async function main(): Promise<void> {
  process.stdout.write(`${bold('backup_mgmt demo')}: a throwaway PostgreSQL cluster, real backups, a real recovery.\n`);
  let cluster: TestCluster | undefined;
  let agent: ChildProcess | undefined;
  let restoredDir: string | undefined;
  try {
    step('Create a throwaway PostgreSQL 15 cluster');
    cluster = await createCluster({ name: 'demo', pgCron: false });
    await cluster.query('CREATE DATABASE shop');
    const url = cluster.connectionString('shop');
    info(`data directory ${cluster.dataDir}, port ${cluster.port}, database "shop"`);
    const env = { ...process.env, DATABASE_URL: url };

    step('Install the pack and configure WAL archiving');
    await cli(['migrate', 'up'], env);
    const repo = join(cluster.baseDir, 'repo');
    const restores = join(cluster.baseDir, 'restores');
    await mkdir(repo, { recursive: true });
    await mkdir(restores, { recursive: true });
    if (isRoot()) {
      // archive_command runs as the server's OS user and writes the repository.
      const { stdout } = await runCommand('id', ['-u', 'postgres']);
      const { stdout: gid } = await runCommand('id', ['-g', 'postgres']);
      await chown(repo, Number(stdout.trim()), Number(gid.trim()));
    }
    await cli(['setup', '--repo', repo, '--apply'], env);
    await cluster.restart();
    info('restarted: archive_mode = on, archive_command = backup-mgmt wal-push %p');

    step('Start the agent and write some data');
    process.stdout.write(`      ${dim(`$ backup-mgmt agent --repo ${repo} --restore-root ${restores} &`)}\n`);
    agent = spawn(process.execPath, [cliEntry(), 'agent', '--repo', repo, '--restore-root', restores], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let agentLog = '';
    agent.stderr!.on('data', (d: Buffer) => (agentLog = (agentLog + d.toString()).slice(-4000)));
    await waitFor(
      'agent registration',
      async () => (await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM backup_mgmt.agent WHERE stopped_at IS NULL', [], false))[0]!,
      (r) => r.n > 0 || agent!.exitCode !== null,
      (r) => (r.n > 0 ? 'agent registered' : 'waiting for the agent'),
      30_000,
    );
    if (agent.exitCode !== null) throw new Error(`the agent exited: ${agentLog}`);
    await query(url, `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, signed_up timestamptz NOT NULL DEFAULT now())`);
    await query(url, `CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, amount numeric(10,2) NOT NULL, note text)`);
    await query(url, `INSERT INTO customers (id, name) SELECT g, 'customer ' || g FROM generate_series(1, 2000) g`);
    await query(url, `INSERT INTO orders SELECT g, 1 + g % 2000, (g % 997) / 7.0, md5(g::text) FROM generate_series(1, 200000) g`);

    step('Full backup');
    const [full] = await query<{ backup_id: Buffer; backup_status: string }>(url, 'SELECT * FROM backup_mgmt.create_full_backup()');
    info(`queued: ${full!.backup_status}`);
    const fullRow = await awaitBackup(url, full!.backup_id);
    info(
      green(
        `${fullRow.backup_bk}: ${mb(fullRow.backup_size_bytes)} of data stored as ${mb(fullRow.compressed_size_bytes)} ` +
          `(${fullRow.compression_ratio}:1) in ${Number(fullRow.backup_duration_seconds).toFixed(1)} s, ${fullRow.verification_status}`,
      ),
    );

    step('More work, an incremental backup and a restore point');
    await query(url, `INSERT INTO orders SELECT g, 1 + g % 2000, (g % 991) / 3.0, 'after the full backup' FROM generate_series(200001, 230000) g`);
    const [incr] = await query<{ backup_id: Buffer; base_backup_id: Buffer }>(url, 'SELECT * FROM backup_mgmt.create_incremental_backup()');
    const incrRow = await awaitBackup(url, incr!.backup_id);
    info(green(`${incrRow.backup_bk}: ${mb(incrRow.backup_size_bytes)} of WAL proven archived since its parent, ${incrRow.verification_status}`));
    await query(url, `SELECT * FROM backup_mgmt.create_restore_point('before-cleanup')`);

    step('The accident: DROP TABLE orders');
    const [before] = await query<{ n: string; sum: string; target: string }>(
      url,
      `SELECT count(*) AS n, md5(string_agg(o::text, ',' ORDER BY id)) AS sum, clock_timestamp()::text AS target FROM orders o`,
    );
    info(`orders has ${before!.n} rows (checksum ${before!.sum.slice(0, 12)}…); the time is ${before!.target}`);
    await sleep(1_100);
    await query(url, 'DROP TABLE orders');
    await query(url, `INSERT INTO customers (id, name) SELECT g, 'late customer ' || g FROM generate_series(2001, 2100) g`);
    info('oops. (and 100 customers signed up after the drop)');
    // Archive the WAL holding the drop, so the target lies inside the recoverable window.
    await query(url, 'SELECT pg_switch_wal()');
    const window = await waitFor(
      'WAL archiving',
      async () =>
        (await query<{ latest: Date | null; rpo_seconds: string | null; earliest: Date | null }>(
          url,
          'SELECT latest_recoverable_time AS latest, earliest_recoverable_time AS earliest, rpo_seconds FROM backup_mgmt.recoverable_window() ORDER BY latest_recoverable_time DESC NULLS LAST LIMIT 1',
          [],
          false,
        ))[0] ?? { latest: null, earliest: null, rpo_seconds: null },
      (r) => r.latest !== null && r.latest.getTime() > new Date(before!.target).getTime(),
      (r) => (r.latest ? `recoverable window: ${r.earliest?.toISOString()} .. ${r.latest.toISOString()}` : 'waiting for the archived WAL'),
      120_000,
    );

    step('Recover to just before the drop, into a new directory');
    const [rec] = await query<{ recovery_id: Buffer; recovery_bk: string; restore_directory: string; estimated_duration_minutes: number }>(
      url,
      `SELECT * FROM backup_mgmt.initiate_recovery('time', $1, NULL, false)`,
      [before!.target],
    );
    info(`plan: ${rec!.recovery_bk} into ${rec!.restore_directory} (estimate ${rec!.estimated_duration_minutes} min; approval skipped: we are admin)`);
    const recovery = await waitFor(
      'recovery',
      async () =>
        (await query<{ recovery_status: string; progress_phase: string | null; recovery_duration_seconds: string | null; restore_port: number | null; restore_directory: string | null; validation_status: string | null; records_recovered: string | null; error_message: string | null }>(
          url,
          'SELECT * FROM backup_mgmt.get_recovery($1)',
          [rec!.recovery_id.toString('hex')],
          false,
        ))[0]!,
      (r) => ['COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED'].includes(r.recovery_status),
      (r) => `${r.recovery_status}${r.progress_phase && r.recovery_status === 'RUNNING' ? ` (${r.progress_phase})` : ''}`,
    );
    if (recovery.recovery_status !== 'COMPLETED') throw new Error(`recovery ended ${recovery.recovery_status}: ${recovery.error_message}`);
    restoredDir = recovery.restore_directory ?? undefined;
    info(green(`restored cluster running on port ${recovery.restore_port}, validation ${recovery.validation_status}, ${recovery.records_recovered} rows`));

    step('Prove it: the table is back with its rows');
    const restoredUrl = `postgresql://postgres@127.0.0.1:${recovery.restore_port}/shop`;
    const [after] = await query<{ n: string; sum: string }>(restoredUrl, `SELECT count(*) AS n, md5(string_agg(o::text, ',' ORDER BY id)) AS sum FROM orders o`);
    const [late] = await query<{ n: string }>(restoredUrl, `SELECT count(*) AS n FROM customers WHERE id > 2000`);
    const same = after!.n === before!.n && after!.sum === before!.sum;
    info(`orders: ${after!.n} rows, checksum ${after!.sum.slice(0, 12)}… — ${same ? green('identical to before the drop') : 'DIFFERENT'}`);
    info(`customers who signed up after the drop: ${late!.n} (the recovery stopped before them)`);
    if (!same || late!.n !== '0') throw new Error('the restored data does not match the state before the drop');

    if (DISASTER) {
      step('The disaster: the server, its data directory and the catalog in it are lost');
      await runAsPostgres(pgTool('pg_ctl'), ['-D', restoredDir!, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      restoredDir = undefined;
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
      await cluster.stop();
      for (const f of await readdir(cluster.dataDir)) await rm(join(cluster.dataDir, f), { recursive: true, force: true });
      info(`stopped; ${cluster.dataDir} is empty. Only the repository ${repo} is left.`);
      const noDb = { ...process.env, DATABASE_URL: '' };
      for (const line of (await cli(['repo', 'list', '--repo', repo], noDb)).trimEnd().split('\n')) info(line);
      const restored = await cli(['restore', '--repo', repo, '--to', cluster.dataDir, '--target-time', before!.target, '--start'], noDb);
      for (const line of restored.trimEnd().split('\n')) info(green(line));

      step('Prove it again, and bring the catalog back from the repository');
      const [again] = await query<{ n: string; sum: string }>(url, `SELECT count(*) AS n, md5(string_agg(o::text, ',' ORDER BY id)) AS sum FROM orders o`);
      const back = again!.n === before!.n && again!.sum === before!.sum;
      info(`orders on the new primary: ${again!.n} rows — ${back ? green('identical to before the drop') : 'DIFFERENT'}`);
      if (!back) throw new Error('the disaster recovery does not match the state before the drop');
      for (const line of (await cli(['catalog', 'sync', '--repo', repo], env)).trimEnd().split('\n')) info(line);
      const [known] = await query<{ n: string }>(url, `SELECT count(*) AS n FROM backup_mgmt.backup_list WHERE backup_status = 'COMPLETED'`);
      info(green(`the catalog knows its ${known!.n} completed backups again, and the disaster recovery itself`));
    }

    step('Summary');
    info(`full backup    ${mb(fullRow.backup_size_bytes)} → ${mb(fullRow.compressed_size_bytes)} in ${Number(fullRow.backup_duration_seconds).toFixed(1)} s, verified`);
    info(`RTO (measured) ${Number(recovery.recovery_duration_seconds).toFixed(1)} s from the approved request to a promoted, validated cluster`);
    info(`RPO (now)      ${Number(window.rpo_seconds ?? 0).toFixed(1)} s (WAL written since the newest stored byte)`);
    info(`total          ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.stdout.write(`\n${green('demo passed')}: cleaning up.\n`);
  } finally {
    if (restoredDir) {
      await runAsPostgres(pgTool('pg_ctl'), ['-D', restoredDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
    }
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    }
    await cluster?.destroy();
  }
}

main().catch((err) => {
  process.stderr.write(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
