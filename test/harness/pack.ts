// A harness cluster with the pack installed in a template database, cloned
// into a fresh database per test file (graphile-worker's approach).
import pg from 'pg';
import { afterAll } from 'vitest';
import { migrateUp } from '../../src/migrate/runner.js';
import { type CreateClusterOptions, type TestCluster, useCluster } from './cluster.js';
import { cloneTemplate, ensureTemplate } from './template.js';

export const PACK_TEMPLATE = 'bm_template';

export async function installedDatabase(cluster: TestCluster, name: string): Promise<string> {
  await ensureTemplate(cluster, PACK_TEMPLATE, async (url) => {
    await migrateUp(url);
  });
  return cloneTemplate(cluster, PACK_TEMPLATE, name);
}

/**
 * useCluster() plus one database with the pack installed, for this test file.
 * connect() opens a client on it (installing first); such clients are closed
 * after the file.
 */
export function usePackDatabase(opts: CreateClusterOptions & { database?: string } = {}) {
  const cluster = useCluster(opts);
  let url: string | undefined;
  const db = opts.database ?? 'bm_test';
  const clients: pg.Client[] = [];
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => {})));
  });
  const pack = {
    cluster,
    database: db,
    async setup(): Promise<string> {
      url ??= await installedDatabase(cluster(), db);
      return url;
    },
    url(): string {
      if (!url) throw new Error('usePackDatabase(): call setup() in beforeAll first');
      return url;
    },
    async connect(): Promise<pg.Client> {
      const client = new pg.Client(await pack.setup());
      await client.connect();
      clients.push(client);
      return client;
    },
  };
  return pack;
}

/**
 * useCluster() with the pack in the postgres database, where the harness's
 * clusters run pg_cron, so schedules get real cron jobs. setup() installs it
 * (once) and returns that database's URL; connect() also opens a client
 * there, closed after the file.
 */
export function usePackWithPgCron(opts: CreateClusterOptions) {
  const cluster = useCluster(opts);
  let url: string | undefined;
  const clients: pg.Client[] = [];
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => {})));
  });
  const pack = {
    cluster,
    async setup(): Promise<string> {
      if (url === undefined) {
        await cluster().query('CREATE EXTENSION pg_cron');
        await migrateUp(cluster().connectionString('postgres'));
        url = cluster().connectionString('postgres');
      }
      return url;
    },
    async connect(): Promise<pg.Client> {
      await pack.setup();
      const client = await cluster().connect('postgres');
      clients.push(client);
      return client;
    },
  };
  return pack;
}
