// WAL to and from the off-host repository, end to end: a real cluster whose
// archive_command is `wal-push … --config <file>` (the server's environment
// has no AWS or BACKUP_MGMT_* variables: everything comes from the file), a
// real s3rver, the Debian age CLI, and restores whose WAL comes only from S3
// through restore_command with the same --config. Faults: the S3 server down
// (archiving fails, nothing is lost once it is back), wrong credentials, a
// missing bucket, a wrong or missing private key.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWalPrefetch } from '../../src/agent/wal-prefetch.js';
import { generateIdentity } from '../../src/storage/crypto/index.js';
import { listArchivedWal } from '../../src/storage/wal-list.js';
import { listArchivedWalOffsite } from '../../src/storage/wal-list-offsite.js';
import { walSegmentRange } from '../../src/storage/wal-names.js';
import type { SealedStore } from '../../src/storage/offsite/sealed.js';
import { isRoot, pgTool, runAsPostgres, runCommand } from '../../src/util/process.js';
import { archiveCommand, restoreCommand } from '../../src/util/wal-commands.js';
import { RUN_DIR, useCluster } from '../harness/cluster.js';
import { ensureBuilt, freePort, postgresDir, postgresIds, query, runCli, tableChecksum, waitFor } from '../e2e/support.js';
import { walS3, type WalS3 } from './wal-support.js';
import { startS3Server, type S3Server } from '../../tools/bench/s3-server.js';

// Neither the server nor this process has AWS or BACKUP_MGMT_* variables: everything comes from the env file.
const cluster = useCluster({ name: 's3wal', pgCron: false, settings: { archive_mode: 'on', archive_timeout: 0, checkpoint_timeout: '30min' } });
const BUCKET = 'walbucket';
let server: S3Server;
let work = '';
let repo = '';
let config = '';
let sysid = '';
let s3: WalS3;
let store: SealedStore;
const restored: Array<() => Promise<void>> = [];

/** The CLI as PostgreSQL runs it: the postgres user, no AWS or BACKUP_MGMT_* variables in the environment. */
const cli = (args: string[], cwd = '/', env: NodeJS.ProcessEnv = {}) => runCli(args, { cwd, env, asPostgres: true });

interface Archiver {
  archived_count: string;
  failed_count: string;
  last_archived_wal: string | null;
  last_failed_wal: string | null;
}
const archiver = async () => (await cluster().query<Archiver>('SELECT archived_count, failed_count, last_archived_wal, last_failed_wal FROM pg_stat_archiver'))[0]!;

/** Switch to a new segment and wait until the finished one is archived; its name. */
async function switchAndArchive(): Promise<string> {
  const [{ name }] = (await cluster().query<{ name: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS name')) as [{ name: string }];
  await waitFor(`${name} archived`, async () => ((await archiver()).last_archived_wal ?? '') >= name, 120_000);
  return name;
}

async function objectsInS3(): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.backend.list('')) keys.push(`${o.key} ${o.size}`);
  return keys.sort();
}

/**
 * Extract the WAL-less base backup, recover to a restore point with WAL only
 * from restore_command (wal-fetch --config …; the server's environment holds
 * nothing of ours), and return the rows of `marker`.
 */
async function restoreTo(target: string): Promise<{ rows: number; md5: string; log: string }> {
  const dir = await postgresDir(join(work, `restore-${target}`));
  const dataDir = join(dir, 'data');
  const sock = await postgresDir(join(dir, 'sock'), 0o700);
  await mkdir(dataDir, { mode: 0o700 });
  await runCommand('tar', ['-x', '-f', join(work, 'base', 'base.tar'), '-C', dataDir], { timeoutMs: 120_000 });
  if (isRoot()) await runCommand('chown', ['-R', 'postgres:postgres', dataDir]);
  await chmod(dataDir, 0o700);
  const port = await freePort();
  const cmd = restoreCommand(repo, sysid, config);
  await appendFile(
    join(dataDir, 'postgresql.conf'),
    `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${sock}'\narchive_mode = off\nfsync = off\n` +
      `restore_command = '${cmd.replace(/'/g, "''")}'\nrecovery_target_name = '${target}'\nrecovery_target_action = 'promote'\n`,
  );
  await writeFile(join(dataDir, 'recovery.signal'), '');
  if (isRoot()) await chown(join(dataDir, 'recovery.signal'), postgresIds().uid, postgresIds().gid);
  const logFile = join(dir, 'server.log');
  await runAsPostgres(pgTool('pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '120', 'start'], { timeoutMs: 150_000 });
  restored.push(() => runAsPostgres(pgTool('pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).then(() => undefined, () => undefined));
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  await waitFor(`recovery to ${target}`, async () => {
    try {
      return !(await query<{ rec: boolean }>(url, 'SELECT pg_is_in_recovery() AS rec'))[0]!.rec;
    } catch {
      return false;
    }
  }, 180_000);
  return { ...(await tableChecksum(url, 'marker')), log: readFileSync(logFile, 'utf8') };
}

async function expected(batches: string[]): Promise<{ rows: number; md5: string }> {
  // What the source held at the restore point: the same rows, computed on the source.
  const [r] = await cluster().query<{ n: string; md5: string }>(
    `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS md5 FROM marker t WHERE batch = ANY($1)`,
    [batches],
  );
  return { rows: Number(r!.n), md5: r!.md5 };
}

async function deleteLocalWal(): Promise<void> {
  await rm(join(repo, sysid), { recursive: true, force: true });
}

beforeAll(async () => {
  await ensureBuilt();
  server = await startS3Server([BUCKET]);
  work = await postgresDir(join(RUN_DIR, `s3wal-${process.pid}`), 0o755);
  repo = await postgresDir(join(work, 'repo'));
  s3 = await walS3(server, `s3://${BUCKET}/cluster-a`, work);
  store = s3.store;
  config = await s3.writeConfig('backup-mgmt.env', s3.settings());
  [{ id: sysid }] = (await cluster().query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()')) as [{ id: string }];
  await cluster().query(`ALTER SYSTEM SET archive_command = '${archiveCommand(repo, undefined, config).replace(/'/g, "''")}'`);
  await cluster().query('SELECT pg_reload_conf()');
}, 180_000);

afterAll(async () => {
  for (const stop of restored) await stop();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('WAL in the off-host repository', () => {
  let firstSegment = '';
  let lastBeforeOutage = '';

  it('archive_command with --config stores every segment in the local and the S3 repository, encrypted', async () => {
    const c = cluster();
    // What setup proposes carries the config file it ran with (given as a flag or as $BACKUP_MGMT_CONFIG).
    for (const [args, env] of [[['--config', config], {}], [[], { BACKUP_MGMT_CONFIG: config }]] as const) {
      const setup = await cli(['setup', '--repo', repo, ...args, '--systemd', join(work, 'agent.service'), '--json'], '/', { DATABASE_URL: c.connectionString(), ...env });
      expect(setup.code, setup.stderr).toBe(0);
      const report = JSON.parse(setup.stdout) as { settings: Array<{ name: string; wanted: string }>; restore_command: string; systemd_unit: { text: string } };
      expect(report.settings.find((x) => x.name === 'archive_command')?.wanted).toBe(archiveCommand(repo, undefined, config));
      expect(report.restore_command).toBe(restoreCommand(repo, undefined, config));
      // And the agent's unit, so that the agent reads the same file.
      expect(report.systemd_unit.text).toMatch(new RegExp(`^ExecStart=.* agent .*--config ${config}$`, 'm'));
    }
    expect(archiveCommand(repo, undefined, config)).toContain(` --config ${config}`);
    await c.query('CREATE TABLE marker (id int, batch text, v text)');
    // The base backup carries no WAL (-X none): recovery needs every segment from the archive.
    await mkdir(join(work, 'base'));
    await runCommand(pgTool('pg_basebackup'), ['-D', join(work, 'base'), '-Ft', '-Xnone', '--checkpoint=fast', '--no-manifest', '-U', 'postgres', '-h', c.socketDir, '-p', String(c.port)], { timeoutMs: 120_000 });
    [{ name: firstSegment }] = (await c.query<{ name: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS name')) as [{ name: string }];
    await c.query(`INSERT INTO marker SELECT g, 'a', md5(g::text) FROM generate_series(1, 30000) g`);
    await c.query(`SELECT pg_create_restore_point('p1')`);
    await c.query(`INSERT INTO marker SELECT g, 'b', md5(g::text) FROM generate_series(1, 30000) g`);
    lastBeforeOutage = await switchAndArchive();
    expect(Number((await archiver()).failed_count)).toBe(0);

    const local = (await listArchivedWal({ repo, systemIdentifier: sysid })).map((w) => `${w.fileName} ${w.sha256}`);
    const remote = await listArchivedWalOffsite(store, sysid);
    expect(local.length).toBeGreaterThan(2);
    expect(remote.map((w) => `${w.fileName} ${w.sha256}`)).toEqual(local);
    expect(remote.every((w) => w.timeline === 1 && w.storedPath === `${store.location}/${w.key}`)).toBe(true);
    // What the bucket holds under s3://walbucket/cluster-a: only `.age` objects under the layout's keys.
    const raw = await objectsInS3();
    expect(raw.length).toBe(local.length);
    for (const r of raw) expect(r).toMatch(new RegExp(`^${sysid}/wal/([0-9A-F]{16}|history)/[0-9A-F.a-z]+-[0-9a-f]{64}\\.zst\\.age \\d+$`));
  }, 240_000);

  it('an archived WAL object decrypts with the age CLI and zstd to the SHA-256 in its name', async () => {
    const [w] = (await listArchivedWalOffsite(store, sysid)).filter((x) => x.kind === 'segment').slice(-1);
    const agePath = join(work, 'segment.age');
    await pipeline(await store.backend.get(`${w!.key}.age`), createWriteStream(agePath));
    const zst = join(work, 'segment.zst');
    const d = spawnSync('age', ['-d', '-i', s3.keyFile, '-o', zst, agePath], { encoding: 'utf8' });
    expect(d.status, d.stderr).toBe(0);
    const z = spawnSync('zstd', ['-q', '-d', '-c', zst], { maxBuffer: 64 << 20 });
    expect(z.status).toBe(0);
    expect(z.stdout.length).toBe(16 * 1024 * 1024);
    expect(createHash('sha256').update(z.stdout).digest('hex')).toBe(w!.sha256);
    // Not plaintext at rest: the object is an age file, not the zstd stream.
    expect((await readFile(agePath)).subarray(0, 21).toString()).toBe('age-encryption.org/v1');
  });

  it('with the local WAL deleted, PITR from the base backup replays WAL from S3 only and holds exactly the rows at the restore point', async () => {
    await deleteLocalWal();
    const r = await restoreTo('p1');
    expect({ rows: r.rows, md5: r.md5 }).toEqual(await expected(['a']));
    expect(r.rows).toBe(30000);
    expect(r.log).toMatch(/restored log file "[0-9A-F]{24}" from archive/);
    // restore_command read S3 and wrote nothing into the local repository.
    expect(readdirSync(repo).filter((n) => n === sysid)).toEqual([]);
  }, 300_000);

  it('the agent\'s read-ahead spools segments the local repository lacks from S3, proven against their names', async () => {
    const spoolDir = join(work, 'spool');
    await mkdir(spoolDir);
    const names = walSegmentRange(firstSegment, lastBeforeOutage);
    const errors: string[] = [];
    const abort = new AbortController();
    const p = startWalPrefetch({
      repo: join(work, 'no-such-repo'),
      systemIdentifier: sysid,
      fromSegment: firstSegment,
      toSegment: lastBeforeOutage,
      spoolDir,
      signal: abort.signal,
      onError: (f, e) => errors.push(`${f}: ${(e as Error).message}`),
      offsite: async () => store,
    });
    p.unthrottle();
    await waitFor('the spool to fill', async () => p.spooled() === names.length || errors.length > 0, 120_000);
    expect(errors).toEqual([]);
    const shas = new Map((await listArchivedWalOffsite(store, sysid)).map((w) => [w.fileName, w.sha256]));
    for (const n of names) expect(createHash('sha256').update(readFileSync(join(spoolDir, n))).digest('hex')).toBe(shas.get(n));
    await p.stop();
  }, 180_000);

  it('S3 down: wal-push exits non-zero with one line, the archiver keeps the segment, and once S3 is back nothing is missing', async () => {
    const c = cluster();
    await server.kill();
    const before = await archiver();
    await c.query(`INSERT INTO marker SELECT g, 'c', md5(g::text) FROM generate_series(1, 20000) g`);
    await c.query(`SELECT pg_create_restore_point('p2')`);
    const [{ name: outage }] = (await c.query<{ name: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS name')) as [{ name: string }];
    const failed = await waitFor('archiving to fail', async () => {
      const a = await archiver();
      return Number(a.failed_count) > Number(before.failed_count) && a.last_failed_wal === outage && a;
    }, 120_000);
    expect(failed.last_archived_wal).toBe(lastBeforeOutage);

    // The same command PostgreSQL runs, by hand: one line, exit 1.
    const push = await cli(['wal-push', `pg_wal/${outage}`, '--repo', repo, '--config', config], c.dataDir);
    expect(push.code).toBe(1);
    console.log(`[s3wal] S3 down: ${push.stderr.trim()}`);
    expect(push.stderr.trim().split('\n')).toHaveLength(1);
    expect(push.stderr).toContain(`${outage} is stored locally but not in s3://${BUCKET}/cluster-a`);

    await server.restart();
    // A new segment wakes the archiver at once (it retries by itself only every minute).
    await c.query('CREATE TABLE nudge AS SELECT 1 AS x');
    await switchAndArchive();
    const remote = new Set((await listArchivedWalOffsite(store, sysid)).map((w) => w.fileName));
    const missing = walSegmentRange(firstSegment, outage).filter((n) => !remote.has(n));
    expect(missing).toEqual([]);

    // And a restore from S3 alone proves it.
    await deleteLocalWal();
    const r = await restoreTo('p2');
    expect({ rows: r.rows, md5: r.md5 }).toEqual(await expected(['a', 'b', 'c']));
    expect(r.rows).toBe(80000);
  }, 420_000);

  it('wrong credentials, a missing bucket, a wrong or missing private key: one line each, nothing changed', async () => {
    const c = cluster();
    // A finished segment, still in pg_wal (no checkpoint since the base backup).
    const seg = lastBeforeOutage;
    const sealed = (await listArchivedWalOffsite(store, sysid)).find((w) => w.kind === 'segment')!;
    const scratchRepo = await postgresDir(join(work, 'scratch-repo'));
    const dest = await postgresDir(join(work, 'fetched'));
    const before = await objectsInS3();
    const oneLine = (r: { stderr: string }) => {
      console.log(`[s3wal] ${r.stderr.trim()}`);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    };

    const badCred = await s3.writeConfig('bad-cred.env', { ...s3.settings(), AWS_ACCESS_KEY_ID: 'NOTAKEY', AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    const p1 = await cli(['wal-push', `pg_wal/${seg}`, '--repo', scratchRepo, '--config', badCred], c.dataDir);
    expect(p1.code).toBe(1);
    oneLine(p1);
    expect(p1.stderr).toMatch(/denied|signature|credential/i);
    expect(p1.stderr).not.toContain('not-the-secret');
    const f1 = await cli(['wal-fetch', sealed.fileName, join(dest, 'x1'), '--repo', scratchRepo, '--system-identifier', sysid, '--config', badCred]);
    expect(f1.code).toBe(126);
    oneLine(f1);

    const noBucket = await s3.writeConfig('no-bucket.env', { ...s3.settings(), BACKUP_MGMT_REPO_S3: 's3://no-such-bucket/x' });
    const p2 = await cli(['wal-push', `pg_wal/${seg}`, '--repo', scratchRepo, '--config', noBucket], c.dataDir);
    expect(p2.code).toBe(1);
    oneLine(p2);
    expect(p2.stderr).toMatch(/no-such-bucket/);

    // Restoring needs the private key: another key, or none, names the one expected.
    const other = generateIdentity();
    const otherKey = join(work, 'other-key.txt');
    await writeFile(otherKey, `${other.secret}\n`, { mode: 0o600 });
    if (isRoot()) await chown(otherKey, postgresIds().uid, postgresIds().gid);
    for (const [name, file] of [['wrong-key.env', otherKey], ['no-key.env', join(work, 'absent-key.txt')]] as const) {
      const cfg = await s3.writeConfig(name, { ...s3.settings(), BACKUP_MGMT_DECRYPT_IDENTITY_FILE: file });
      const f = await cli(['wal-fetch', sealed.fileName, join(dest, name), '--repo', scratchRepo, '--system-identifier', sysid, '--config', cfg]);
      expect(f.code, f.stderr).toBe(126);
      oneLine(f);
      expect(f.stderr).toContain(s3.identity.identity.fingerprint);
      expect(readdirSync(dest)).toEqual([]);
    }

    // A config path the command lines cannot carry safely is refused before anything runs.
    const badPath = await cli(['wal-push', `pg_wal/${seg}`, '--repo', scratchRepo, '--config', '/tmp/a b.env'], c.dataDir);
    expect(badPath.code).toBe(2);
    oneLine(badPath);
    // So is a config file that is missing or holds anything but BACKUP_MGMT_* / AWS_* lines.
    const foreign = await s3.writeConfig('foreign.env', { ...s3.settings() });
    await appendFile(foreign, 'PATH=/tmp/evil\n');
    for (const [file, why] of [[join(work, 'absent.env'), /ENOENT/], [foreign, /foreign\.env:11: expected BACKUP_MGMT_/]] as const) {
      const r = await cli(['wal-push', `pg_wal/${seg}`, '--repo', scratchRepo, '--config', file], c.dataDir);
      expect(r.code).toBe(2);
      oneLine(r);
      expect(r.stderr).toMatch(why);
    }

    expect(await objectsInS3()).toEqual(before);

    // A tampered object: fatal, nothing written, the object put back afterwards.
    const original = join(work, 'original.age');
    await pipeline(await store.backend.get(`${sealed.key}.age`), createWriteStream(original));
    const bytes = await readFile(original);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 100]! ^= 0x01;
    await store.backend.put(`${sealed.key}.age`, Readable.from([flipped]));
    const t = await cli(['wal-fetch', sealed.fileName, join(dest, 'tampered'), '--repo', scratchRepo, '--system-identifier', sysid, '--config', config]);
    expect(t.code).toBe(126);
    oneLine(t);
    expect(readdirSync(dest)).toEqual([]);
    await store.backend.put(`${sealed.key}.age`, Readable.from([bytes]));

    // The good key fetches the same file, from S3 (the scratch repository is empty).
    const ok = await cli(['wal-fetch', sealed.fileName, join(dest, 'ok'), '--repo', scratchRepo, '--system-identifier', sysid, '--config', config]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(createHash('sha256').update(readFileSync(join(dest, 'ok'))).digest('hex')).toBe(sealed.sha256);
    // A file neither repository has is "not found" (exit 1), as PostgreSQL expects.
    const absent = await cli(['wal-fetch', '00000009000000FF000000FE', join(dest, 'absent'), '--repo', scratchRepo, '--system-identifier', sysid, '--config', config]);
    expect(absent.code).toBe(1);
  }, 180_000);
});
