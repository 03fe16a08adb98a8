// Installing and removing the pack with `migrate`: idempotent, safe under
// concurrency, complete on the way down, with and without pg_cron.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { migrationsDir } from '../../src/util/paths.js';
import { migrateDown, migrateStatus, migrateUp } from '../../src/migrate/runner.js';
import { useCluster } from '../harness/cluster.js';

const PACK_ROLES = ['backup_mgmt_admin', 'backup_operator', 'backup_viewer', 'recovery_approver', 'backup_agent'];
const SEED_TABLES = [
  'backup_dependency_l', 'backup_execution_h', 'backup_execution_s', 'backup_schedule_h', 'backup_schedule_s',
  'recovery_backup_l', 'recovery_operation_h', 'recovery_operation_s', 'schedule_execution_l',
];

const MIGRATIONS = readdirSync(migrationsDir()).filter((f) => /^\d+_.+\.sql$/.test(f)).length;
const cluster = useCluster({ name: 'migrate' });

async function fingerprint(db: string) {
  const [row] = await cluster().query<{ objects: string }>(
    `SELECT md5(string_agg(x, ',' ORDER BY x)) AS objects FROM (
       SELECT 'rel:' || c.relname || ':' || c.relkind::text || ':' || c.xmin::text AS x FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'backup_mgmt'
       UNION ALL
       SELECT 'proc:' || p.oid::regprocedure::text || ':' || p.xmin::text FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'backup_mgmt') s`,
    [],
    db,
  );
  return row!.objects;
}

describe('migrate', () => {
  it('installs on an empty database; the seed 001 Step 2.3 queries run unchanged', async () => {
    await cluster().createDatabase('fresh');
    const url = cluster().connectionString('fresh');
    const result = await migrateUp(url);
    expect(result.migrationsApplied).toHaveLength(MIGRATIONS);
    expect(result.functionsApplied).toBe(true);

    const tables = await cluster().query<{ schemaname: string; tablename: string; tableowner: string }>(
      `SELECT schemaname, tablename, tableowner 
FROM pg_tables 
WHERE schemaname = 'backup_mgmt';`,
      [],
      'fresh',
    );
    const names = tables.map((t) => t.tablename);
    for (const t of SEED_TABLES) expect(names).toContain(t);

    const routines = await cluster().query<{ routine_name: string; routine_type: string }>(
      `SELECT routine_name, routine_type 
FROM information_schema.routines 
WHERE routine_schema = 'backup_mgmt';`,
      [],
      'fresh',
    );
    expect(routines.map((r) => r.routine_name)).toContain('backup_execution_s_load');

    const [ix] = await cluster().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'backup_mgmt'`,
      [],
      'fresh',
    );
    expect(ix!.n).toBeGreaterThanOrEqual(15);
    const roles = await cluster().query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [PACK_ROLES]);
    expect(roles).toHaveLength(PACK_ROLES.length);

    // Nothing in the schema is usable by PUBLIC.
    const [pub] = await cluster().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'backup_mgmt' AND has_function_privilege('public', p.oid, 'EXECUTE')`,
      [],
      'fresh',
    );
    expect(pub!.n).toBe(0);
  });

  it('a second `up` is a no-op', async () => {
    const url = cluster().connectionString('fresh');
    const before = await fingerprint('fresh');
    const again = await migrateUp(url);
    expect(again.migrationsApplied).toEqual([]);
    expect(again.functionsApplied).toBe(false);
    expect(await fingerprint('fresh')).toBe(before);
    const status = await migrateStatus(url);
    expect(status.migrations.every((m) => m.appliedAt !== null)).toBe(true);
    expect(status.bundle.applied).toBe(status.bundle.current);
  });

  it('ten concurrent migrators end with one correct install', async () => {
    await cluster().createDatabase('concurrent');
    const url = cluster().connectionString('concurrent');
    const results = await Promise.all(Array.from({ length: 10 }, () => migrateUp(url)));
    expect(results.filter((r) => r.migrationsApplied.length === MIGRATIONS)).toHaveLength(1);
    expect(results.filter((r) => r.migrationsApplied.length === 0)).toHaveLength(9);
    expect(results.filter((r) => r.functionsApplied)).toHaveLength(1);
    const [m] = await cluster().query<{ n: number }>('SELECT count(*)::int AS n FROM backup_mgmt.pgmigrations', [], 'concurrent');
    expect(m!.n).toBe(MIGRATIONS);
    const count = (db: string) =>
      cluster().query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'backup_mgmt'`,
        [],
        db,
      );
    expect((await count('concurrent'))[0]!.n).toBe((await count('fresh'))[0]!.n);
  });

  it('with pg_cron: down removes the pack and the pg_cron jobs it created, then up works again', async () => {
    // pg_cron lives in the "postgres" database of the harness clusters.
    await cluster().query('CREATE EXTENSION IF NOT EXISTS pg_cron');
    const url = cluster().connectionString('postgres');
    await migrateUp(url);
    await cluster().query(`SELECT cron.schedule('backup_mgmt:nightly-full', '0 2 * * *', 'SELECT 1')`);
    await cluster().query(`SELECT cron.schedule('someone-else', '0 3 * * *', 'SELECT 1')`);
    await migrateDown(url);
    const jobs = await cluster().query<{ jobname: string }>('SELECT jobname FROM cron.job ORDER BY jobname');
    expect(jobs.map((j) => j.jobname)).toEqual(['someone-else']);
    const [schema] = await cluster().query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'backup_mgmt'`);
    expect(schema!.n).toBe(0);
    const again = await migrateUp(url);
    expect(again.migrationsApplied).toHaveLength(MIGRATIONS);
    await migrateDown(url);
  });

  it('after down in the last database nothing of the pack is left, roles included', async () => {
    await cluster().query('DROP DATABASE concurrent WITH (FORCE)');
    const url = cluster().connectionString('fresh');
    await migrateDown(url);
    const [left] = await cluster().query<{ schemas: number; procs: number; rels: number }>(
      `SELECT (SELECT count(*)::int FROM pg_namespace WHERE nspname = 'backup_mgmt') AS schemas,
              (SELECT count(*)::int FROM pg_proc WHERE proname LIKE '%backup%' AND pronamespace <> 'pg_catalog'::regnamespace) AS procs,
              (SELECT count(*)::int FROM pg_class WHERE relname LIKE 'backup\\_%' OR relname LIKE 'recovery\\_%') AS rels`,
      [],
      'fresh',
    );
    expect(left).toEqual({ schemas: 0, procs: 0, rels: 0 });
    const roles = await cluster().query('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [PACK_ROLES]);
    expect(roles).toEqual([]);
    // and a second down is harmless
    await expect(migrateDown(url)).resolves.toEqual({ migrationsReverted: [] });
  });

  it('keeps roles it did not create', async () => {
    await cluster().query('CREATE ROLE backup_viewer NOLOGIN');
    await cluster().createDatabase('owned');
    const url = cluster().connectionString('owned');
    await migrateUp(url);
    await migrateDown(url);
    const roles = await cluster().query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [PACK_ROLES]);
    expect(roles.map((r) => r.rolname)).toEqual(['backup_viewer']);
    await cluster().query('DROP ROLE backup_viewer');
  });
});
