// search_path hygiene (DESIGN.md "Security"): every SECURITY DEFINER function
// pins search_path, nothing is executable by PUBLIC, the views and policies
// are in place; and a caller whose search_path puts public first, where
// look-alikes of every built-in function and operator the pack calls are
// planted (plus temporary views named like the pack's relations), drives the
// whole pack without any of them being called.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { fullBackupResult, incrementalResult, lsnValue, PACK_ROLES, REPO, RESTORE_ROOT, restoreResult, type Row, type SecurityDb, segName, sqlState, useSecurityPack } from './helpers.js';
import { sqlDir } from '../../src/util/paths.js';

const pack = useSecurityPack('security-search-path');

describe('static checks', () => {
  let db: SecurityDb;
  beforeAll(async () => {
    db = await pack.freshDb();
  });

  it('pins search_path on every SECURITY DEFINER function and grants no function to PUBLIC', async () => {
    const definers = await db.q<{ fn: string; config: string[] | null }>(`
      SELECT p.oid::regprocedure::text AS fn, p.proconfig AS config FROM pg_catalog.pg_proc AS p
        JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
       WHERE n.nspname = 'backup_mgmt' AND p.prosecdef ORDER BY 1`);
    expect(definers.length).toBeGreaterThan(30);
    for (const d of definers) expect(d.config ?? [], d.fn).toContain('search_path=pg_catalog, pg_temp');

    const toPublic = await db.q(`
      SELECT p.oid::regprocedure::text AS fn FROM pg_catalog.pg_proc AS p
        JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
       WHERE n.nspname = 'backup_mgmt' AND has_function_privilege('public', p.oid, 'EXECUTE')`);
    expect(toPublic).toEqual([]);
    // Nor to a role outside the pack, through any route.
    await db.q('CREATE ROLE sec_outsider');
    const toOutsider = await db.q(`
      SELECT p.oid::regprocedure::text AS fn FROM pg_catalog.pg_proc AS p
        JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
       WHERE n.nspname = 'backup_mgmt' AND has_function_privilege('sec_outsider', p.oid, 'EXECUTE')`);
    expect(toOutsider).toEqual([]);
    // The admin functions of tenant binding are the admins' alone.
    for (const role of PACK_ROLES) {
      const [r] = await db.q<{ bind: boolean; unbind: boolean }>(`
        SELECT has_function_privilege($1, 'backup_mgmt.bind_role_to_tenant(text, bytea)', 'EXECUTE') AS bind,
               has_function_privilege($1, 'backup_mgmt.unbind_role_from_tenant(text)', 'EXECUTE') AS unbind`, [role]);
      expect(r, role).toEqual({ bind: role === 'backup_mgmt_admin', unbind: role === 'backup_mgmt_admin' });
    }
  });

  it('has security_invoker views and forced row-level security with a policy on every table', async () => {
    const views = await db.q<{ relname: string; invoker: boolean }>(`
      SELECT c.relname, coalesce('security_invoker=true' = ANY (c.reloptions), false) AS invoker
        FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
       WHERE n.nspname = 'backup_mgmt' AND c.relkind IN ('v', 'm') ORDER BY 1`);
    expect(views.length).toBeGreaterThanOrEqual(8);
    for (const v of views) expect(v.invoker, v.relname).toBe(true);

    const tables = await db.q<{ relname: string; rls: boolean; forced: boolean; policies: string[]; tenant: boolean }>(`
      SELECT c.relname, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
             ARRAY(SELECT p.polname::text FROM pg_catalog.pg_policy AS p WHERE p.polrelid = c.oid ORDER BY 1) AS policies,
             EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS a WHERE a.attrelid = c.oid AND a.attname = 'tenant_hk')
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k JOIN pg_catalog.pg_attribute AS t
                                    ON t.attrelid = k.confrelid AND t.attname = 'tenant_hk'
                         WHERE k.conrelid = c.oid AND k.contype = 'f') AS tenant
        FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
       WHERE n.nspname = 'backup_mgmt' AND c.relkind IN ('r', 'p') ORDER BY 1`);
    const exempt = ['install_state', 'pgmigrations', 'tenant_role'];
    for (const t of tables) {
      if (exempt.includes(t.relname)) {
        expect(t.rls, t.relname).toBe(false);
        continue;
      }
      expect({ rls: t.rls, forced: t.forced }, t.relname).toEqual({ rls: true, forced: true });
      expect(t.policies, t.relname).toEqual([t.tenant || t.relname === 'job' ? 'tenant_isolation' : 'system_only']);
    }
    // Hubs, links and satellites of the model are all tenant tables.
    const tenantTables = tables.filter((t) => t.tenant).map((t) => t.relname);
    expect(tenantTables).toEqual(expect.arrayContaining([
      'backup_execution_h', 'recovery_operation_h', 'backup_schedule_h', 'backup_execution_s', 'backup_lsn_s', 'backup_storage_s',
      'recovery_operation_s', 'backup_schedule_s', 'backup_dependency_l', 'schedule_execution_l', 'recovery_backup_l',
    ]));
  });

  it('re-applies the row-level security files without re-creating unchanged policies', async () => {
    const policies = () => db.q(`SELECT p.oid, c.relname, p.polname FROM pg_catalog.pg_policy AS p JOIN pg_catalog.pg_class AS c ON c.oid = p.polrelid ORDER BY 2`);
    const before = await policies();
    expect(before.length).toBeGreaterThanOrEqual(16);
    const dir = join(sqlDir(), '90-security');
    for (const f of readdirSync(dir).filter((f) => f.startsWith('rls_')).sort()) await db.q(readFileSync(join(dir, f), 'utf8'));
    expect(await policies()).toEqual(before);
  });
});

/**
 * Plants look-alikes in public of every pg_catalog function whose name occurs
 * in a body of the pack, of typed variants of the VARIADIC "any" ones (an
 * exact match would beat pg_catalog's even behind it in the path), and of the
 * common operators. Each one warns, counts itself in public.shadow_calls (a
 * sequence: not rolled back with a caught error) and raises.
 */
async function plantShadows(db: SecurityDb): Promise<{ functions: number; operators: number }> {
  const c = await db.connect();
  await c.query('SET search_path = pg_catalog');
  await c.query(`CREATE SEQUENCE public.shadow_calls; GRANT USAGE ON SEQUENCE public.shadow_calls TO PUBLIC`);
  const body = `BEGIN
      RAISE WARNING 'SHADOW CALLED: %', '<what>';
      PERFORM pg_catalog.nextval('public.shadow_calls');
      RAISE EXCEPTION 'shadow % called', '<what>';
  END`;
  await c.query(`CREATE FUNCTION public.shadow_relation(p_name text) RETURNS integer LANGUAGE plpgsql AS $$
                 BEGIN
                     RAISE WARNING 'SHADOW CALLED: relation %', p_name;
                     PERFORM pg_catalog.nextval('public.shadow_calls');
                     RAISE EXCEPTION 'shadow relation % read', p_name;
                 END $$`);
  await c.query(`CREATE FUNCTION pg_temp.try_create(p_sql text) RETURNS boolean LANGUAGE plpgsql AS $$
                 BEGIN
                     EXECUTE p_sql;
                     RETURN true;
                 EXCEPTION WHEN OTHERS THEN
                     RETURN false;
                 END $$`);
  const { rows: names } = await c.query<{ name: string }>(`
    SELECT DISTINCT lower(m[1]) AS name
      FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace,
           regexp_matches(p.prosrc, '([A-Za-z_][A-Za-z0-9_]*)\\s*\\(', 'g') AS m
     WHERE n.nspname = 'backup_mgmt'`);
  expect(names.map((r) => r.name)).toEqual(
    expect.arrayContaining(['format', 'sha256', 'now', 'pg_notify', 'jsonb_populate_record', 'jsonb_build_object', 'upper', 'clock_timestamp']),
  );
  // Same signatures as pg_catalog's (pseudo-type arguments cannot be made in
  // PL/pgSQL: those fail and are skipped), and typed variants of VARIADIC "any".
  const { rows: [fns] } = await c.query<{ n: number }>(`
    WITH src AS (
        SELECT p.oid::regprocedure::text AS sig, p.proname::text AS name,
               pg_get_function_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS res
          FROM pg_proc AS p
         WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f' AND p.proname = ANY ($1::text[])
        UNION ALL
        SELECT v.name || '(' || v.args || ')', v.name, v.args, v.res FROM (VALUES
            ('format', 'text, text', 'text'), ('format', 'text, text, text', 'text'), ('format', 'text, text, text, text', 'text'),
            ('format', 'text, integer', 'text'), ('format', 'text, bigint', 'text'), ('format', 'text, text, integer', 'text'),
            ('concat', 'text, text', 'text'), ('concat_ws', 'text, text, text', 'text'),
            ('jsonb_build_object', 'text, text', 'jsonb'), ('jsonb_build_object', 'text, text, text, text', 'jsonb'),
            ('jsonb_build_object', 'text, jsonb', 'jsonb'), ('jsonb_build_object', 'text, boolean', 'jsonb'),
            ('jsonb_build_object', 'text, bigint', 'jsonb'), ('jsonb_build_object', 'text, timestamp with time zone', 'jsonb'),
            ('jsonb_build_array', 'text', 'jsonb')) AS v (name, args, res)
    )
    SELECT count(*) FILTER (WHERE pg_temp.try_create(format('CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
                                                              s.name, s.args, s.res, replace($2, '<what>', s.sig))))::int AS n
      FROM src AS s`, [names.map((r) => r.name), body]);
  // Operators on the types the pack works with, with the same signatures.
  const { rows: [ops] } = await c.query<{ n: number }>(`
    SELECT count(*) FILTER (WHERE
               pg_temp.try_create(format('CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
                   'shadow_op_' || o.oid,
                   concat_ws(', ', CASE WHEN o.oprleft <> 0 THEN o.oprleft::regtype::text END, o.oprright::regtype::text),
                   o.oprresult::regtype::text, replace($1, '<what>', 'operator ' || o.oid::regoperator::text)))
           AND pg_temp.try_create(format('CREATE OPERATOR public.%s (%s RIGHTARG = %s, FUNCTION = public.%I)',
                   o.oprname, CASE WHEN o.oprleft <> 0 THEN 'LEFTARG = ' || o.oprleft::regtype::text || ',' ELSE '' END,
                   o.oprright::regtype::text, 'shadow_op_' || o.oid)))::int AS n
      FROM pg_operator AS o
     WHERE o.oprnamespace = 'pg_catalog'::regnamespace
       AND o.oprname IN ('=', '<>', '<', '>', '<=', '>=', '~', '!~', '~~', '!~~', '||', '+', '-', '*', '/', '%', '->', '->>', '#>>', '?', '@>', '<@', '&&')`,
    [body]);
  await c.end();
  return { functions: fns!.n, operators: ops!.n };
}

function quoteSql(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

describe('a caller with public first in its search_path', () => {
  let db: SecurityDb;
  let sh: pg.Client;
  let sh2: pg.Client;
  let tv: pg.Client;
  const warnings: string[] = [];

  const shadowCalls = async () => (await db.one<{ n: string; called: boolean }>('SELECT last_value AS n, is_called AS called FROM public.shadow_calls'));

  beforeAll(async () => {
    db = await pack.freshDb();
    await db.history();
    // The trap: the look-alikes in public, and this search_path for the callers.
    const planted = await plantShadows(db);
    expect(planted.functions).toBeGreaterThan(100);
    expect(planted.operators).toBeGreaterThan(100);
    const path = 'public, backup_mgmt, pg_catalog';
    await db.loginRole('sec_shadow', ['backup_mgmt_admin', 'recovery_approver', 'backup_agent'], path);
    await db.loginRole('sec_shadow_approver', ['recovery_approver'], path);
    await db.groupRole('sec_shadow_tenant', ['backup_operator']);
    await db.loginRole('sec_shadow_tenant_user', ['sec_shadow_tenant'], path);
    await db.q(`SELECT backup_mgmt.bind_role_to_tenant('sec_shadow_tenant', backup_mgmt.hash_key('SHADOW_TENANT'))`);
    sh = await db.connect('sec_shadow');
    sh2 = await db.connect('sec_shadow_approver');
    tv = await db.connect('sec_shadow_tenant_user');
    for (const c of [sh, sh2, tv]) {
      c.on('notice', (n) => {
        if (/SHADOW/.test(n.message ?? '')) warnings.push(n.message!);
      });
      // Temporary views named like every relation of the pack: pg_temp is in
      // the pinned path (last), so an unqualified name would find them.
      const rels = await db.q<{ relname: string }>(`SELECT c.relname FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
                                                     WHERE n.nspname = 'backup_mgmt' AND c.relkind IN ('r', 'p', 'v', 'm')`);
      for (const { relname } of rels) {
        await c.query(`CREATE TEMP VIEW "${relname}" AS SELECT public.shadow_relation(${quoteSql(relname)}) AS x`);
      }
    }
  });

  it('arms the trap: an unpinned function would call the look-alikes', async () => {
    await db.q(`CREATE FUNCTION public.unpinned_probe() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN upper('x'); END $$`);
    const e = await sh.query('SELECT public.unpinned_probe()').catch((err: Error) => err);
    expect((e as Error).message).toMatch(/shadow upper\(text\) called/);
    const e2 = await sh.query('SELECT * FROM job').catch((err: Error) => err);
    expect((e2 as Error).message).toMatch(/shadow relation job read/);
    expect(warnings.length).toBe(2);
    warnings.length = 0;
    await db.q(`SELECT pg_catalog.setval('public.shadow_calls', 1, false)`);
    await db.q('DROP FUNCTION public.unpinned_probe()');
  });

  it('drives backups, the agent protocol, recoveries, schedules and tenants without calling any of them', async () => {
    const q = async (sql: string, params: unknown[] = [], c: pg.Client = sh) => (await c.query(sql, params)).rows as Row[];
    const one = async (sql: string, params: unknown[] = [], c: pg.Client = sh) => {
      const rows = await q(sql, params, c);
      expect(rows, sql).toHaveLength(1);
      return rows[0]!;
    };
    const claim = async (types: string[]) => one('SELECT * FROM backup_mgmt.claim_job($1, $2)', ['agent-s', types]);
    const complete = (job: Row, result: Row) => q('SELECT backup_mgmt.complete_job($1, $2, $3)', [job.job_id, 'agent-s', result]);

    // Configuration and helpers.
    await q('SELECT backup_mgmt.agent_register($1, $2, $3, $4, $5, $6)', ['agent-s', 'shadow-host', 4242, REPO, RESTORE_ROOT, { cpu_count: 2 }]);
    await q(`SELECT backup_mgmt.set_setting('job.lease_seconds', '600'), backup_mgmt.set_setting('backup.max_rate', '50M')`);
    await q(`SELECT backup_mgmt.setting('repository.roots'), backup_mgmt.validate_repository_path($1)`, [`${REPO}/x`]);
    await q(`SELECT backup_mgmt.hash_key('a', NULL, 'b'), backup_mgmt.new_business_key('SHADOW_TEST')`);
    await q(`SELECT backup_mgmt.cron_parse('*/5 1-3 * JAN-MAR MON'), backup_mgmt.cron_next('30 2 * * *', $1, 'America/New_York')`, [new Date('2024-03-09T12:00:00Z')]);
    await q(`SELECT * FROM backup_mgmt.cron_next_n('@daily', $1, 3, 'Europe/Berlin')`, [new Date()]);
    await q(`SELECT backup_mgmt.wal_file_name(1, 300), backup_mgmt.wal_segno($1), backup_mgmt.wal_segno_of_lsn($2), backup_mgmt.wal_segment_start_lsn(5)`,
      [segName(300), '1/2000000']);
    await q('SELECT backup_mgmt.register_wal($1, $2)', [db.sysid, JSON.stringify([13, 14].map((k) => ({
      file_name: segName(k), timeline_id: 1, start_lsn: `0/${(k * 0x1000000).toString(16).toUpperCase()}`, bytes: 16777216, stored_bytes: 1000,
      sha256: k.toString(16).padStart(64, '0'), archived_at: db.at(60 * k + 55), first_commit_time: db.at(60 * k + 5), last_commit_time: db.at(60 * k + 50),
    })))]);

    // A full backup through the whole agent protocol, and its verification.
    const full = await one('SELECT * FROM backup_mgmt.create_full_backup()');
    let job = await claim(['BACKUP']);
    await q(`SELECT backup_mgmt.job_progress($1, 'agent-s', 5, 10, 'streaming'), backup_mgmt.agent_heartbeat('agent-s')`, [job.job_id]);
    await complete(job, fullBackupResult(job.plan, db.sysid, 13, db.at(13 * 60 + 20)));
    expect(await one(`SELECT * FROM backup_mgmt.await_backup($1, interval '5 seconds')`, [full.backup_id])).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
    await one('SELECT * FROM backup_mgmt.get_backup($1)', [full.backup_id.toString('hex')]);
    await q('SELECT * FROM backup_mgmt.backup_list');
    await one('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [full.backup_id]);
    job = await claim(['VERIFY']);
    await complete(job, { verification: { status: 'VERIFIED', detail: 'ok', verified_at: new Date().toISOString() } });

    // An incremental on top of it; one that fails; one released and one cancelled.
    const inc = await one('SELECT * FROM backup_mgmt.create_incremental_backup()');
    job = await claim(['BACKUP']);
    await complete(job, incrementalResult(job.plan, `0/${(14 * 0x1000000 + 0x100).toString(16).toUpperCase()}`, 14));
    expect(await one(`SELECT * FROM backup_mgmt.await_backup($1, interval '5 seconds')`, [inc.backup_id])).toMatchObject({ backup_status: 'COMPLETED' });
    expect(lsnValue(job.plan.range_start_lsn)).toBeGreaterThan(0n);
    await one('SELECT * FROM backup_mgmt.create_incremental_backup()');
    job = await claim(['BACKUP']);
    await q(`SELECT backup_mgmt.fail_job($1, 'agent-s', 'archive_command keeps failing', false)`, [job.job_id]);
    await one('SELECT * FROM backup_mgmt.create_full_backup(NULL, NULL, \'LOCAL\', false, false)');
    job = await claim(['BACKUP']);
    await q(`SELECT backup_mgmt.release_job($1, 'agent-s')`, [job.job_id]);
    const pending = await one('SELECT * FROM backup_mgmt.create_full_backup(NULL, NULL, \'LOCAL\', false, false)');
    await one('SELECT * FROM backup_mgmt.cancel_backup($1)', [pending.backup_id]);

    // Recoveries: planned, requested, approved by another person, restored;
    // rejected; a drill; a restore point; cancelled.
    await q(`SELECT backup_mgmt.plan_recovery('latest', NULL), backup_mgmt.plan_recovery('time', $1)`, [db.at(400)]);
    await q('SELECT * FROM backup_mgmt.recoverable_window()');
    const rec = await one(`SELECT * FROM backup_mgmt.initiate_recovery('immediate', NULL, NULL, true, $1)`, [full.backup_id]);
    await one(`SELECT * FROM backup_mgmt.approve_recovery($1, 'go ahead')`, [rec.recovery_id], sh2);
    job = await claim(['RESTORE']);
    await complete(job, restoreResult(job.plan));
    expect(await one(`SELECT * FROM backup_mgmt.await_recovery($1, interval '5 seconds')`, [rec.recovery_id])).toMatchObject({ recovery_status: 'COMPLETED' });
    await one('SELECT * FROM backup_mgmt.get_recovery($1)', [rec.recovery_bk]);
    const pitr = await one(`SELECT * FROM backup_mgmt.initiate_point_in_time_recovery(NULL, $1)`, [db.at(400)]);
    await one(`SELECT * FROM backup_mgmt.reject_recovery($1, 'wrong time')`, [pitr.recovery_id], sh2);
    const drill = await one('SELECT * FROM backup_mgmt.create_restore_drill($1)', [full.backup_id]);
    job = await claim(['RESTORE']);
    await complete(job, restoreResult(job.plan));
    expect(await one(`SELECT * FROM backup_mgmt.await_recovery($1, interval '5 seconds')`, [drill.recovery_id])).toMatchObject({ recovery_status: 'COMPLETED' });
    await one(`SELECT * FROM backup_mgmt.create_restore_point('shadow_point')`);
    const late = await one(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL)`);
    await one('SELECT * FROM backup_mgmt.cancel_recovery($1)', [late.recovery_id]);
    await q('SELECT * FROM backup_mgmt.recovery_list');

    // Schedules: defined, changed, paused, resumed, run when due, dropped.
    for (const [name, type] of [['shadow-verify', 'VERIFY'], ['shadow-drill', 'DRILL'], ['shadow-health', 'HEALTH_CHECK'], ['shadow-cleanup', 'CLEANUP'], ['shadow-full', 'FULL'], ['shadow-inc', 'INCREMENTAL']]) {
      await q(`SELECT backup_mgmt.create_backup_schedule($1, $2, '*/5 * * * *')`, [name, type]);
    }
    await q(`SELECT backup_mgmt.alter_backup_schedule('shadow-verify', p_timezone => 'Europe/Berlin', p_execution_window_start => '00:00', p_execution_window_end => '23:59', p_description => 'shadow')`);
    await q(`SELECT backup_mgmt.pause_backup_schedule('shadow-verify'), backup_mgmt.resume_backup_schedule('shadow-verify')`);
    await q('SELECT * FROM backup_mgmt.get_next_scheduled_backups(20)');
    // Make them due (as the clock would).
    await db.q(`SELECT backup_mgmt.backup_schedule_s_load(schedule_hk, pg_catalog.jsonb_build_object('next_execution_time', pg_catalog.now() - interval '1 minute'))
                  FROM backup_mgmt.backup_schedule_current WHERE schedule_name LIKE 'shadow-%'`);
    const ran = await one(`SELECT backup_mgmt.run_schedule('shadow-verify') AS r`);
    expect(ran.r).toMatch(/^(started|failed): /);
    await one('SELECT backup_mgmt.run_due_schedules() AS n');
    await q('SELECT * FROM backup_mgmt.create_default_schedules()');
    await q(`SELECT backup_mgmt.drop_backup_schedule('shadow-verify')`);
    // (Read as the superuser: this query's own operators would find the look-alikes.)
    const runs = await db.q(`SELECT schedule_name, tags->'last_run'->>'detail' AS detail FROM backup_mgmt.backup_schedule_current WHERE schedule_name LIKE 'shadow-%' ORDER BY 1`);
    expect(runs.filter((r) => r.detail !== null).length).toBeGreaterThanOrEqual(5);
    // The work functions ran (or failed cleanly for reasons of their own), none through a look-alike.
    for (const r of runs) expect(`${r.schedule_name}: ${r.detail}`).not.toMatch(/shadow .* called/);
    await q(`SELECT backup_mgmt.agent_stopped('agent-s')`);

    // Whatever other parts of the pack are installed (health checks, retention).
    const optional = await db.q<{ sql: string }>(`
      SELECT v.sql FROM (VALUES ('health_check', 'SELECT * FROM backup_mgmt.health_check()'),
                                ('cleanup_expired_backups', 'SELECT * FROM backup_mgmt.cleanup_expired_backups(NULL, true)')) AS v (fn, sql)
       WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_proc AS p WHERE p.pronamespace = 'backup_mgmt'::regnamespace AND p.proname = v.fn)`);
    for (const { sql } of optional) await q(sql);

    // Tenants: binding, and row-level security evaluated for a bound caller.
    await db.q('CREATE ROLE sec_shadow_other');
    await q(`SELECT backup_mgmt.bind_role_to_tenant('sec_shadow_other', backup_mgmt.hash_key('OTHER')), backup_mgmt.unbind_role_from_tenant('sec_shadow_other')`);
    for (const sql of ['SELECT * FROM backup_mgmt.backup_list', 'SELECT * FROM backup_mgmt.recovery_list', 'SELECT * FROM backup_mgmt.backup_schedule_current',
      'SELECT * FROM backup_mgmt.job', 'SELECT * FROM backup_mgmt.recoverability', 'SELECT * FROM backup_mgmt.get_next_scheduled_backups(5)']) {
      expect(await q(sql, [], tv), sql).toEqual([]);
    }
    expect(await sqlState(tv.query('SELECT * FROM backup_mgmt.get_backup($1)', [full.backup_id.toString('hex')]))).toBe('P0002');
    await q(`SELECT backup_mgmt.create_backup_schedule('shadow-tenant', 'VERIFY', '@hourly', backup_mgmt.hash_key('SHADOW_TENANT'))`, [], tv);

    expect(warnings).toEqual([]);
    expect(await shadowCalls()).toEqual({ n: '1', called: false });
  });
});
