// Template databases: build an expensive database state (schema, seed data)
// once per cluster, then hand each test a cheap copy via CREATE DATABASE …
// TEMPLATE, which copies files instead of replaying the build.
import { quoteIdent, type TestCluster } from './cluster.js';

// One build per (cluster, template) in this process, shared by concurrent
// callers; a failed build is forgotten so a later call can try again.
const builds = new Map<string, Promise<void>>();

/** CREATE DATABASE newName TEMPLATE templateName; resolves to the new database's connection string. */
export async function cloneTemplate(cluster: TestCluster, templateName: string, newName: string): Promise<string> {
  await cluster.createDatabase(newName, templateName);
  return cluster.connectionString(newName);
}

/**
 * Make sure template database `name` exists on the cluster: create it, run
 * `build` against it, then mark it a template that nobody may connect to
 * (CREATE DATABASE … TEMPLATE fails while anyone is connected to the source).
 */
export function ensureTemplate(cluster: TestCluster, name: string, build: (connStr: string) => Promise<void>): Promise<void> {
  const key = `${cluster.dataDir}\0${name}`;
  let pending = builds.get(key);
  if (!pending) {
    pending = buildTemplate(cluster, name, build);
    builds.set(key, pending);
    pending.catch(() => builds.delete(key));
  }
  return pending;
}

async function buildTemplate(cluster: TestCluster, name: string, build: (connStr: string) => Promise<void>): Promise<void> {
  const [existing] = await cluster.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  // Clusters are never shared between processes, so a database of that name
  // that this process did not build is a clash of names, not a cache hit.
  if (existing) throw new Error(`ensureTemplate: database ${name} already exists on cluster ${cluster.name} but was not built by ensureTemplate`);

  await cluster.createDatabase(name);
  try {
    await build(cluster.connectionString(name));
    await cluster.query(`ALTER DATABASE ${quoteIdent(name)} WITH is_template true ALLOW_CONNECTIONS false`);
    // A connection the build forgot to close would make every clone fail.
    await cluster.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  } catch (e) {
    await cluster.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => {});
    throw e;
  }
}
