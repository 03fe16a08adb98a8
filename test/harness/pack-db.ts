// The database handle every suite's helper class builds on: statements (q),
// exactly one row (one), and, for a database of its own on a test cluster,
// extra connections closed together.
import type pg from 'pg';
import { afterAll } from 'vitest';
import { useCluster, type CreateClusterOptions, type TestCluster } from './cluster.js';
import { installedDatabase } from './pack.js';

export abstract class QueryDb {
  abstract q<T extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<T[]>;

  async one<T extends pg.QueryResultRow = any>(sql: string, params: unknown[] = []): Promise<T> {
    const rows = await this.q<T>(sql, params);
    if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}: ${sql}`);
    return rows[0]!;
  }

  /** Row counts of backup_mgmt tables, by the name the caller gives each: { name: table }. */
  async rowCounts(tables: Record<string, string>): Promise<Record<string, number>> {
    const columns = Object.entries(tables).map(([name, table]) => `(SELECT count(*) FROM backup_mgmt.${table}) AS ${name}`);
    const r = await this.one<Record<string, string>>(`SELECT ${columns.join(', ')}`);
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)]));
  }
}

/** Every statement on one open connection. */
export class ClientDb extends QueryDb {
  constructor(readonly client: pg.Client) {
    super();
  }

  async q<T extends pg.QueryResultRow = any>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.client.query<T>(sql, params)).rows;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

/** A database of its own on a test cluster: each statement on a connection of its own. */
export class ClusterDb extends QueryDb {
  private readonly clients: pg.Client[] = [];

  constructor(
    readonly cluster: TestCluster,
    readonly name: string,
  ) {
    super();
  }

  /** A new connection (as `user`); closed by close(). */
  async connect(user = 'postgres'): Promise<pg.Client> {
    const client = await this.cluster.connect(this.name, user);
    // A server-side termination must not crash the worker.
    client.on('error', () => {});
    this.clients.push(client);
    return client;
  }

  async q<T extends pg.QueryResultRow = any>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.cluster.query<T>(sql, params, this.name);
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.end().catch(() => {})));
  }
}

/**
 * One cluster for the test file; freshDb() hands each test a database of its
 * own with the pack installed (named `<prefix><n>_<pid>`), opened by `open`
 * as a ClusterDb or a ClientDb.
 * Databases and clients are closed after the file.
 */
export function useClusterDbs<D extends { close(): Promise<void> }>(
  clusterOptions: CreateClusterOptions,
  prefix: string,
  open: (cluster: TestCluster, name: string) => D | Promise<D>,
) {
  const cluster = useCluster(clusterOptions);
  const dbs: D[] = [];
  let n = 0;
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.close()));
  });
  return {
    cluster,
    async freshDb(): Promise<D> {
      const name = `${prefix}${++n}_${process.pid}`;
      await installedDatabase(cluster(), name);
      const db = await open(cluster(), name);
      dbs.push(db);
      return db;
    },
  };
}
