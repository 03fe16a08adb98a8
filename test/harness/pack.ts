// A harness cluster with the pack installed in a template database, cloned
// into a fresh database per test file (graphile-worker's approach).
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

/** useCluster() plus one database with the pack installed, for this test file. */
export function usePackDatabase(opts: CreateClusterOptions & { database?: string } = {}) {
  const cluster = useCluster(opts);
  let url: string | undefined;
  const db = opts.database ?? 'bm_test';
  return {
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
  };
}
