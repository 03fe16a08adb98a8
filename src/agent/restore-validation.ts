// Validating a restored cluster (PROTOCOL.md "RESTORE job" step 4): connect
// to every database, count the rows of every table, add up the sizes, and
// check that recovery stopped where the plan asked. The verdict: PASSED,
// PARTIAL (some tables or databases could not be read) or FAILED.
import type pg from 'pg';
import { errorText } from './log.js';
import type { RestorePlan, RestoreResult, ValidationStatus } from './protocol.js';
import type { RestoredServer } from './restored-server.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DatabaseCount {
  name: string;
  tables: number;
  rows: number;
  bytes: number;
  error?: string;
}

export interface ValidationOutcome {
  reached: RestoreResult['reached'];
  validation: RestoreResult['validation'];
}

const MAX_DETAIL = 4000;

/**
 * A superuser to validate with. The private socket trusts everyone, but the
 * name must exist in the restored catalog: try the agent's own role and
 * "postgres", then switch to the bootstrap superuser (oid 10) if needed.
 */
export async function findSuperuser(server: RestoredServer, candidates: string[]): Promise<string> {
  let lastError: unknown;
  for (const user of [...new Set(candidates)]) {
    for (const db of ['postgres', 'template1']) {
      let c: pg.Client | undefined;
      try {
        c = await server.connect(user, db);
        const r = await c.query<{ boot: string; me_super: boolean }>(
          `SELECT (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = 10) AS boot,
                  (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS me_super`,
        );
        return r.rows[0]!.me_super ? user : r.rows[0]!.boot;
      } catch (e) {
        lastError = e;
      } finally {
        await c?.end().catch(() => {});
      }
    }
  }
  throw new Error(`could not connect to the restored cluster: ${errorText(lastError)}`);
}

/** Where recovery stopped: pg_last_wal_replay_lsn() and the last replayed commit's time stay after promotion. */
async function reachedPoint(c: pg.Client): Promise<{ lsn: string | null; time: string | null; inRecovery: boolean }> {
  const r = await c.query<{ lsn: string | null; t: string | null; rec: boolean }>(
    `SELECT pg_catalog.pg_last_wal_replay_lsn()::pg_catalog.text AS lsn,
            pg_catalog.to_json(pg_catalog.pg_last_xact_replay_timestamp()) OPERATOR(pg_catalog.#>>) '{}' AS t,
            pg_catalog.pg_is_in_recovery() AS rec`,
  );
  const row = r.rows[0]!;
  return { lsn: row.lsn, time: row.t, inRecovery: row.rec };
}

/** Did recovery stop where the plan asked? Comparisons run in the restored server (microseconds, pg_lsn). */
async function targetChecks(c: pg.Client, plan: RestorePlan, reached: { lsn: string | null; time: string | null }, log: string): Promise<Check[]> {
  const checks: Check[] = [];
  const cmp = async (sql: string, params: unknown[]) => (await c.query<{ ok: boolean | null }>(sql, params)).rows[0]?.ok === true;
  const t = plan.target;
  checks.push({
    name: 'consistent',
    ok: reached.lsn !== null && (await cmp('SELECT $1::pg_catalog.pg_lsn OPERATOR(pg_catalog.>=) $2::pg_catalog.pg_lsn AS ok', [reached.lsn, plan.base.stop_lsn])),
    detail: `replayed to ${reached.lsn ?? 'nothing'}; the base backup ends at ${plan.base.stop_lsn}`,
  });
  if (t.kind === 'time') {
    const target = t.time ?? t.value!;
    const ok = reached.time === null || (await cmp('SELECT $1::pg_catalog.timestamptz OPERATOR(pg_catalog.<=) $2::pg_catalog.timestamptz AS ok', [reached.time, target]));
    checks.push({ name: 'target time', ok, detail: `last replayed commit ${reached.time ?? 'none'}, target ${target}` });
  } else if (t.kind === 'lsn') {
    const target = t.lsn ?? t.value!;
    const ok = reached.lsn !== null && (await cmp('SELECT $1::pg_catalog.pg_lsn OPERATOR(pg_catalog.>=) $2::pg_catalog.pg_lsn AS ok', [reached.lsn, target]));
    checks.push({ name: 'target lsn', ok, detail: `replayed to ${reached.lsn ?? 'nothing'}, target ${target}` });
  } else if (t.kind === 'name') {
    const name = t.restore_point?.name ?? t.value!;
    const ok = log.includes(`recovery stopping at restore point "${name}"`);
    checks.push({ name: 'target restore point', ok, detail: ok ? `stopped at restore point "${name}"` : `the log does not say recovery stopped at restore point "${name}"` });
  } else if (t.kind === 'xid') {
    const xid = t.xid ?? t.value!;
    const stopped = new RegExp(`recovery stopping after (commit|abort) of transaction ${xid}\\b`).test(log);
    const status = (await c.query<{ s: string | null }>('SELECT pg_catalog.pg_xact_status($1::pg_catalog.xid8) AS s', [xid])).rows[0]?.s ?? null;
    const ok = stopped && (status === 'committed' || status === 'aborted');
    checks.push({ name: 'target xid', ok, detail: `transaction ${xid} is ${status ?? 'unknown'}${stopped ? '; recovery stopped after it' : '; the log does not say recovery stopped after it'}` });
  } else if (t.kind === 'immediate') {
    const ok = log.includes('recovery stopping after reaching consistency');
    checks.push({ name: 'target immediate', ok, detail: ok ? 'stopped as soon as consistent' : 'the log does not say recovery stopped at consistency' });
  }
  return checks;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * Rows of every ordinary table of one database; a table that cannot be read
 * is an error, not a stop. The copy is hostile: the connection pins
 * search_path (RestoredServer.connect) and every name is qualified, so no
 * planted function or operator is ever resolved; and tables are counted
 * as pg_read_all_data (no superuser: COPY … TO PROGRAM and the like are
 * refused to anything that might still run). Tables under row-level
 * security are counted by the superuser, who bypasses it (no policy
 * expression runs), since pg_read_all_data would see only what the policies
 * allow.
 */
async function countDatabase(server: RestoredServer, user: string, db: string, bytes: number): Promise<DatabaseCount> {
  let c: pg.Client | undefined;
  const out: DatabaseCount = { name: db, tables: 0, rows: 0, bytes };
  const errors: string[] = [];
  try {
    c = await server.connect(user, db, 30_000);
    const tables = await c.query<{ nsp: string; rel: string; rls: boolean; reader: boolean }>(
      `SELECT n.nspname AS nsp, c.relname AS rel, c.relrowsecurity AS rls,
              EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS r WHERE r.rolname OPERATOR(pg_catalog.=) 'pg_read_all_data') AS reader
         FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
        WHERE c.relkind OPERATOR(pg_catalog.=) 'r' AND n.nspname OPERATOR(pg_catalog.<>) ALL ('{pg_catalog,information_schema}'::pg_catalog.name[])
          AND n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast|temp_)'
        ORDER BY 1, 2`,
    );
    let reading = false;
    for (const t of tables.rows) {
      const asReader = t.reader && !t.rls;
      if (asReader !== reading) {
        await c.query(asReader ? 'SET ROLE pg_read_all_data' : 'RESET ROLE');
        reading = asReader;
      }
      try {
        const r = await c.query<{ n: string }>(`SELECT pg_catalog.count(*) AS n FROM ${quoteIdent(t.nsp)}.${quoteIdent(t.rel)}`);
        out.rows += Number(r.rows[0]!.n);
        out.tables++;
      } catch (e) {
        errors.push(`${t.nsp}.${t.rel}: ${errorText(e)}`);
      }
    }
  } catch (e) {
    errors.push(errorText(e));
  } finally {
    await c?.end().catch(() => {});
  }
  if (errors.length) out.error = errors.join('; ');
  return out;
}

export interface RestoredCounts {
  databases: { datname: string; bytes: string; allow: boolean }[];
  counted: DatabaseCount[];
}

/**
 * Rows of every table of every database that accepts connections, two
 * databases at a time (the counts are part of the RTO, and a scan waits on
 * reads as much as on the CPU). Read-only: it may run on the copy while its
 * replay is paused at the target, which is the data it will hold once promoted.
 */
export async function countRestored(server: RestoredServer, user: string, onDatabase?: (done: number, total: number) => void): Promise<RestoredCounts> {
  const admin = await server.connect(user, 'postgres').catch(() => server.connect(user, 'template1'));
  let databases: RestoredCounts['databases'];
  try {
    databases = (
      await admin.query<{ datname: string; bytes: string; allow: boolean }>(
        `SELECT datname, pg_catalog.pg_database_size(oid)::pg_catalog.text AS bytes, datallowconn AS allow FROM pg_catalog.pg_database ORDER BY datname`,
      )
    ).rows;
  } finally {
    await admin.end().catch(() => {});
  }
  const connectable = databases.filter((d) => d.allow);
  const counted: DatabaseCount[] = new Array(connectable.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < connectable.length) {
      const i = next++;
      const d = connectable[i]!;
      counted[i] = await countDatabase(server, user, d.datname, Number(d.bytes));
      onDatabase?.(++done, connectable.length);
    }
  };
  await Promise.all([worker(), worker()]);
  return { databases, counted };
}

export interface ValidateOptions {
  server: RestoredServer;
  user: string;
  plan: RestorePlan;
  /** countRestored's result for this copy at its target. */
  counts: RestoredCounts;
  /** What the manifest check of the extracted files found (empty = all files match). */
  manifestProblems: string[];
  /** How the restored files were proven when no problem was found (default: pg_verifybackup's check). */
  manifestDetail?: string;
}

/** The verdict on a promoted copy: where recovery stopped, whether it is promoted, and the counts. */
export async function validateRestore(o: ValidateOptions): Promise<ValidationOutcome> {
  const admin = await o.server.connect(o.user, 'postgres').catch(() => o.server.connect(o.user, 'template1'));
  let point;
  let checks: Check[];
  try {
    point = await reachedPoint(admin);
    checks = await targetChecks(admin, o.plan, point, await o.server.logText());
    if (point.inRecovery) checks.push({ name: 'promoted', ok: false, detail: 'the server is still in recovery' });
  } finally {
    await admin.end().catch(() => {});
  }
  checks.unshift({
    name: 'manifest',
    ok: o.manifestProblems.length === 0,
    detail: o.manifestProblems.length === 0 ? (o.manifestDetail ?? 'every restored file matches backup_manifest') : o.manifestProblems.join('; '),
  });

  const { databases: dbs, counted } = o.counts;
  const rows = counted.reduce((n, d) => n + d.rows, 0);
  const bytes = dbs.reduce((n, d) => n + Number(d.bytes), 0);
  const tables = counted.reduce((n, d) => n + d.tables, 0);
  const broken = counted.filter((d) => d.error);

  const failedChecks = checks.filter((c) => !c.ok);
  let status: ValidationStatus = 'PASSED';
  if (failedChecks.length > 0 || counted.length === 0 || broken.length === counted.length) status = 'FAILED';
  else if (broken.length > 0) status = 'PARTIAL';
  const unreadable = broken.reduce((n, d) => n + (d.error ? d.error.split('; ').length : 0), 0);
  const successRate = status === 'PASSED' ? 100 : status === 'FAILED' ? 0 : Math.round((10_000 * tables) / Math.max(1, tables + unreadable)) / 100;

  const summary = `${counted.length} database(s), ${tables} table(s), ${rows} row(s), ${bytes} bytes`;
  const problems = [...failedChecks.map((c) => `${c.name}: ${c.detail}`), ...broken.map((d) => `database ${d.name}: ${d.error}`)];
  let detail = problems.length ? `${summary}; ${problems.join('; ')}` : `${summary}; ${checks.map((c) => c.detail).join('; ')}`;
  if (detail.length > MAX_DETAIL) detail = `${detail.slice(0, MAX_DETAIL - 1)}…`;
  return {
    reached: { lsn: point.lsn, time: point.time },
    validation: { status, records_recovered: rows, data_size_recovered: bytes, detail, success_rate: successRate, databases: counted, checks },
  };
}
