// `migrate up | down | status`: node-pg-migrate for the append-only
// migrations, then the repeatable function bundle from sql/. One advisory lock
// makes concurrent migrators queue up behind each other.
import pg from 'pg';
import { runner, type RunnerOption } from 'node-pg-migrate';
import { readdirSync } from 'node:fs';
import { migrationsDir } from '../util/paths.js';
import { readSqlBundle } from './sql-bundle.js';

export const SCHEMA = 'backup_mgmt';
const MIGRATIONS_TABLE = 'pgmigrations';
const BUNDLE_KEY = 'sql_bundle_sha256';
// Arbitrary, but fixed: every migrator of every version takes the same lock.
const LOCK_KEY = 7_346_221_905;

type Log = (line: string) => void;

export interface UpResult {
  migrationsApplied: string[];
  functionsApplied: boolean;
  bundleSha256: string;
  /** pg_cron jobs made for schedules that had none (pg_cron installed after them). */
  cronJobsRegistered: string[];
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function baseOptions(client: pg.Client): Omit<RunnerOption, 'direction'> {
  return {
    dbClient: client,
    dir: migrationsDir(),
    migrationsTable: MIGRATIONS_TABLE,
    migrationsSchema: SCHEMA,
    createMigrationsSchema: true,
    checkOrder: true,
    noLock: true, // we hold our own lock around migrations and the bundle together
    singleTransaction: true,
    logger: quiet,
    count: Infinity,
  } as Omit<RunnerOption, 'direction'>;
}

async function withLockedClient<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'backup-mgmt migrate' });
  await client.connect();
  try {
    await client.query('SET client_min_messages = warning');
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    return await fn(client);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

export async function migrateUp(databaseUrl: string, log: Log = () => {}): Promise<UpResult> {
  return withLockedClient(databaseUrl, async (client) => {
    const ran = await runner({ ...baseOptions(client), direction: 'up' } as RunnerOption);
    for (const m of ran) log(`migrated ${m.name}`);

    const bundle = readSqlBundle();
    const current = await client.query<{ value: string }>(
      `SELECT value FROM ${SCHEMA}.install_state WHERE key = $1`,
      [BUNDLE_KEY],
    );
    let functionsApplied = false;
    if (current.rows[0]?.value !== bundle.sha256) {
      await client.query('BEGIN');
      try {
        for (const file of bundle.files) {
          try {
            await client.query(file.sql);
          } catch (err) {
            throw new Error(`sql/${file.path}: ${(err as Error).message}`);
          }
        }
        await client.query(
          `INSERT INTO ${SCHEMA}.install_state (key, value) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`,
          [BUNDLE_KEY, bundle.sha256],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      functionsApplied = true;
      log(`applied ${bundle.files.length} files from sql/ (${bundle.sha256.slice(0, 12)})`);
    }
    // pg_cron installed after the schedules were defined: give them their jobs.
    const jobs = await client.query<{ schedule_name: string; cron_job_name: string }>(`SELECT * FROM ${SCHEMA}.register_cron_jobs()`);
    for (const j of jobs.rows) log(`registered pg_cron job ${j.cron_job_name} for schedule ${j.schedule_name}`);
    return {
      migrationsApplied: ran.map((m) => m.name),
      functionsApplied,
      bundleSha256: bundle.sha256,
      cronJobsRegistered: jobs.rows.map((j) => j.cron_job_name),
    };
  });
}

export async function migrateDown(databaseUrl: string, log: Log = () => {}): Promise<{ migrationsReverted: string[] }> {
  return withLockedClient(databaseUrl, async (client) => {
    const exists = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [SCHEMA]);
    if (exists.rowCount === 0) {
      log('nothing to remove: schema backup_mgmt does not exist');
      return { migrationsReverted: [] };
    }
    // pg_cron jobs the pack registered for this database.
    const cron = await client.query(`SELECT to_regclass('cron.job') IS NOT NULL AS present`);
    if (cron.rows[0].present) {
      const jobs = await client.query<{ jobname: string }>(
        `SELECT cron.unschedule(jobid), jobname FROM cron.job
          WHERE jobname LIKE 'backup_mgmt:%' AND database = current_database()`,
      );
      for (const j of jobs.rows) log(`unscheduled pg_cron job ${j.jobname}`);
    }
    // The repeatable objects depend on the tables; remove them before the migrations' down steps.
    await client.query(`
      DO $$
      DECLARE v_obj record;
      BEGIN
          FOR v_obj IN SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c
                         JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = '${SCHEMA}' AND c.relkind IN ('v', 'm') LOOP
              EXECUTE 'DROP VIEW IF EXISTS ' || v_obj.name || ' CASCADE';
          END LOOP;
          FOR v_obj IN SELECT p.oid::regprocedure::text AS sig, p.prokind FROM pg_proc p
                         JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '${SCHEMA}' LOOP
              EXECUTE format('DROP %s IF EXISTS %s CASCADE',
                             CASE v_obj.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, v_obj.sig);
          END LOOP;
      END $$`);
    const hasTable = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [`${SCHEMA}.${MIGRATIONS_TABLE}`]);
    let reverted: string[] = [];
    if (hasTable.rows[0].present) {
      const ran = await runner({ ...baseOptions(client), direction: 'down' } as RunnerOption);
      reverted = ran.map((m) => m.name);
      for (const m of ran) log(`reverted ${m.name}`);
      await client.query(`DROP TABLE IF EXISTS ${SCHEMA}.${MIGRATIONS_TABLE}`);
    }
    // RESTRICT on purpose: if anything unknown is left in the schema, say so.
    await client.query(`DROP SCHEMA ${SCHEMA}`);
    log('removed schema backup_mgmt');
    return { migrationsReverted: reverted };
  });
}

export interface MigrationStatus {
  migrations: { name: string; appliedAt: Date | null }[];
  bundle: { applied: string | null; current: string };
}

export async function migrateStatus(databaseUrl: string): Promise<MigrationStatus> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'backup-mgmt migrate' });
  await client.connect();
  try {
    const files = readdirSync(migrationsDir())
      .filter((f) => /^\d+_.+\.(sql|js|ts)$/.test(f))
      .sort()
      .map((f) => f.replace(/\.(sql|js|ts)$/, ''));
    const present = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [`${SCHEMA}.${MIGRATIONS_TABLE}`]);
    const applied = new Map<string, Date>();
    let bundleApplied: string | null = null;
    if (present.rows[0].present) {
      const rows = await client.query<{ name: string; run_on: Date }>(`SELECT name, run_on FROM ${SCHEMA}.${MIGRATIONS_TABLE}`);
      for (const r of rows.rows) applied.set(r.name, r.run_on);
      const b = await client.query<{ value: string }>(
        `SELECT value FROM ${SCHEMA}.install_state WHERE key = $1`,
        [BUNDLE_KEY],
      ).catch(() => ({ rows: [] as { value: string }[] }));
      bundleApplied = b.rows[0]?.value ?? null;
    }
    return {
      migrations: files.map((name) => ({ name, appliedAt: applied.get(name) ?? null })),
      bundle: { applied: bundleApplied, current: readSqlBundle().sha256 },
    };
  } finally {
    await client.end();
  }
}
