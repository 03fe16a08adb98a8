// The harness itself, against real servers: every other test relies on it.
import { existsSync, statSync } from 'node:fs';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createCluster, fakeClockEnv, useCluster, type TestCluster } from './cluster.js';
import { cloneTemplate, ensureTemplate } from './template.js';
import { createServer } from 'node:net';
import pg from 'pg';

describe('test cluster', () => {
  const cluster = useCluster({ name: 'harness' });

  it('runs PostgreSQL 15 with the harness settings', async () => {
    const c = cluster();
    const [v] = await c.query<{ server_version_num: string }>('SHOW server_version_num');
    expect(Number(v.server_version_num)).toBeGreaterThanOrEqual(150000);
    const [w] = await c.query<{ wal_level: string }>('SHOW wal_level');
    expect(w.wal_level).toBe('replica');
    const [s] = await c.query<{ unix_socket_directories: string }>('SHOW unix_socket_directories');
    expect(s.unix_socket_directories).toBe(c.socketDir);
    expect(statSync(c.dataDir).mode & 0o777).toBe(0o700);
    expect(c.connectionString('x y')).toBe(`postgresql://postgres@127.0.0.1:${c.port}/x%20y`);
  });

  it('has pg_cron preloaded and creatable in the postgres database', async () => {
    const c = cluster();
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_cron');
    const [job] = await c.query<{ jobid: string }>(`SELECT cron.schedule('harness-noop', '0 3 * * *', 'SELECT 1') AS jobid`);
    expect(Number(job.jobid)).toBeGreaterThan(0);
    const rows = await c.query<{ database: string }>(`SELECT database FROM cron.job WHERE jobname = 'harness-noop'`);
    expect(rows).toEqual([{ database: 'postgres' }]);
    await c.query(`SELECT cron.unschedule('harness-noop')`);
  });

  it('allows replication connections (pg_basebackup needs them)', async () => {
    const c = cluster();
    // A physical replication connection only accepts replication commands.
    const client = new pg.Client({ host: c.host, port: c.port, user: 'postgres', database: 'postgres', replication: 'database' } as pg.ClientConfig);
    await client.connect();
    try {
      const res = await client.query('IDENTIFY_SYSTEM');
      expect(res.rows[0].systemid).toMatch(/^\d+$/);
    } finally {
      await client.end();
    }
  });

  it('builds a template database once and clones it', async () => {
    const c = cluster();
    let builds = 0;
    const build = async (connStr: string) => {
      builds++;
      const client = new pg.Client({ connectionString: connStr });
      await client.connect();
      try {
        await client.query('CREATE TABLE seeded (id int PRIMARY KEY, note text)');
        await client.query(`INSERT INTO seeded VALUES (1, 'from the template')`);
      } finally {
        await client.end();
      }
    };
    // Concurrent callers share one build.
    await Promise.all([ensureTemplate(c, 'tmpl_harness', build), ensureTemplate(c, 'tmpl_harness', build)]);
    await ensureTemplate(c, 'tmpl_harness', build);
    expect(builds).toBe(1);

    const conn = await cloneTemplate(c, 'tmpl_harness', 'clone_a');
    expect(conn).toBe(c.connectionString('clone_a'));
    await cloneTemplate(c, 'tmpl_harness', 'clone_b');
    await c.query(`UPDATE seeded SET note = 'changed in a'`, [], 'clone_a');
    expect(await c.query('SELECT note FROM seeded', [], 'clone_b')).toEqual([{ note: 'from the template' }]);
    expect(await c.query('SELECT note FROM seeded', [], 'clone_a')).toEqual([{ note: 'changed in a' }]);

    const [t] = await c.query<{ datistemplate: boolean; datallowconn: boolean }>(
      `SELECT datistemplate, datallowconn FROM pg_database WHERE datname = 'tmpl_harness'`,
    );
    expect(t).toEqual({ datistemplate: true, datallowconn: false });
  });

  it('retries a failed template build', async () => {
    const c = cluster();
    await expect(
      ensureTemplate(c, 'tmpl_broken', async () => {
        throw new Error('build exploded');
      }),
    ).rejects.toThrow('build exploded');
    expect(await c.query(`SELECT 1 FROM pg_database WHERE datname = 'tmpl_broken'`)).toEqual([]);
    await ensureTemplate(c, 'tmpl_broken', async () => {});
    await c.createDatabase('from_broken', 'tmpl_broken');
  });

  it('applies appended settings on restart', async () => {
    const c = cluster();
    await c.appendConf({ work_mem: '7MB', application_name: "it's quoted" });
    await c.restart();
    expect(await c.isRunning()).toBe(true);
    expect(await c.query('SHOW work_mem')).toEqual([{ work_mem: '7MB' }]);
    expect(await c.query('SHOW application_name')).toEqual([{ application_name: "it's quoted" }]);
    // Data written before the restart survives it.
    const [job] = await c.query<{ n: string }>(`SELECT count(*) AS n FROM pg_database WHERE datname = 'clone_a'`);
    expect(job.n).toBe('1');
    expect(c.logTail(200)).toMatch(/database system is ready to accept connections/);
  });

  it('starts the server with an extra environment for that start only (a clock moved by libfaketime)', async () => {
    const c = cluster();
    const drift = async () => {
      const [r] = await c.query<{ s: string }>('SELECT extract(epoch FROM now())::numeric(20,3)::text AS s');
      return Number(r!.s) - Date.now() / 1000;
    };
    await c.restart({ env: fakeClockEnv('+2d') });
    const ahead = await drift();
    expect(ahead).toBeGreaterThan(2 * 86400 - 60);
    expect(ahead).toBeLessThan(2 * 86400 + 60);
    await c.restart();
    expect(Math.abs(await drift())).toBeLessThan(60);
    expect(() => fakeClockEnv('+1h; rm -rf /')).toThrow(/not a relative offset/);
  });
});

describe('several clusters', () => {
  const made: TestCluster[] = [];
  beforeEach(({ onTestFailed }) => {
    // Clusters made outside useCluster(): keep them for inspection by hand.
    onTestFailed(() => made.forEach((c) => c.keepOnFailure()));
  });
  afterAll(async () => {
    for (const c of made) await c.destroy();
  });

  it('gives each cluster its own port and directory; pgCron can be off', async () => {
    const a = await createCluster({ name: 'pair', pgCron: false, settings: { max_connections: 20 } });
    made.push(a);
    const b = await createCluster({ name: 'pair', pgCron: false });
    made.push(b);
    expect(a.port).not.toBe(b.port);
    expect(a.baseDir).not.toBe(b.baseDir);
    expect(await a.query('SHOW max_connections')).toEqual([{ max_connections: '20' }]);
    expect(await a.query('SHOW shared_preload_libraries')).toEqual([{ shared_preload_libraries: '' }]);
    await b.query('CREATE TABLE only_in_b (x int)');
    expect(await a.query(`SELECT to_regclass('only_in_b') AS t`)).toEqual([{ t: null }]);
  });

  it('moves to a new port when its port was taken while it was down', async () => {
    const c = await createCluster({ name: 'moved', pgCron: false });
    made.push(c);
    await c.stop();
    const oldPort = c.port;
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(oldPort, '127.0.0.1', resolve));
    try {
      await c.start();
    } finally {
      squatter.close();
    }
    expect(c.port).not.toBe(oldPort);
    expect(await c.query('SELECT current_setting($1) AS port', ['port'])).toEqual([{ port: String(c.port) }]);
  });

  it('rejects queries on a stopped cluster and removes it on destroy', async () => {
    const c = await createCluster({ name: 'stopped', pgCron: false });
    made.push(c);
    await c.stop();
    expect(await c.isRunning()).toBe(false);
    await expect(c.query('SELECT 1')).rejects.toThrow(/ECONNREFUSED|connect/);
    // stop() on a stopped cluster is a no-op.
    await c.stop();
    await c.destroy();
    // BM_KEEP_CLUSTERS=1 keeps even a passing test's files.
    expect(existsSync(c.baseDir)).toBe(c.kept);
  });
});
