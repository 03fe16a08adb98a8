// Tenant isolation (DESIGN.md "Security", issue 5): a role bound to tenant A
// neither sees nor acts on tenant B's rows; system-wide rows are for roles
// bound to no tenant. Real logins on a real cluster: row-level security on
// hubs, links, satellites and the job queue, and the SECURITY DEFINER API
// functions (which bypass it) refusing other tenants' rows as if missing.
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrateUp } from '../../src/migrate/runner.js';
import { changedTables, fullBackupResult, PACK_ROLES, REPO, type Row, SecurityDb, segName, sqlError, sqlState, useSecurityPack } from './helpers.js';

const pack = useSecurityPack('security-tenants');

interface World {
  db: SecurityDb;
  A: Buffer;
  B: Buffer;
  aBackups: Buffer[];
  bBackups: Buffer[];
  sysBackups: Buffer[];
  recA: Buffer;
  recA2: Buffer;
  recB: Buffer;
  recSys: Buffer;
  /** Connections by login role. */
  as: Record<string, pg.Client>;
}

let w: World;

const hex = (b: Buffer) => b.toString('hex');

beforeAll(async () => {
  const db = await pack.freshDb();
  const { b1, b2, b3 } = await db.history();
  const A = await db.tenant('TENANT_A');
  const B = await db.tenant('TENANT_B');

  // Tenant A: a group role bound to A whose members are bound through it;
  // a viewer bound directly. Tenant B: one login bound directly. System
  // roles: bound to nothing.
  await db.groupRole('sec_tenant_a', ['backup_operator', 'recovery_approver']);
  await db.loginRole('sec_a_ops', ['sec_tenant_a']);
  await db.loginRole('sec_a_appr', ['sec_tenant_a']);
  await db.loginRole('sec_a_view', ['backup_viewer']);
  await db.loginRole('sec_b_ops', ['backup_operator', 'recovery_approver']);
  await db.loginRole('sec_sys', ['backup_operator', 'recovery_approver']);
  await db.loginRole('sec_admin', ['backup_mgmt_admin']);
  const as: Record<string, pg.Client> = {};
  for (const role of ['sec_a_ops', 'sec_a_appr', 'sec_a_view', 'sec_b_ops', 'sec_sys', 'sec_admin']) as[role] = await db.connect(role);

  for (const [role, tenant] of [['sec_tenant_a', A], ['sec_a_view', A], ['sec_b_ops', B]] as const) {
    const { rows: [r] } = await as.sec_admin!.query('SELECT backup_mgmt.bind_role_to_tenant($1, $2) AS bound', [role, tenant]);
    expect(r.bound).toBe(true);
  }

  // Tenant rows (logical backups and recoveries are not in the API yet).
  const aBackups = [await db.tenantBackup(A, 'LOGICAL_BACKUP_TENANT_A_20260101_000001'), await db.tenantBackup(A, 'LOGICAL_BACKUP_TENANT_A_20260101_000002')];
  const bBackups = [await db.tenantBackup(B, 'LOGICAL_BACKUP_TENANT_B_20260101_000001'), await db.tenantBackup(B, 'LOGICAL_BACKUP_TENANT_B_20260101_000002')];
  for (const [tenant, [p, c]] of [[A, aBackups], [B, bBackups]] as const) {
    await db.q(`INSERT INTO backup_mgmt.backup_dependency_l (link_backup_dependency_hk, source_backup_hk, dependent_backup_hk, tenant_hk, record_source)
                VALUES (backup_mgmt.hash_key(encode($1, 'hex'), encode($2, 'hex')), $1, $2, $3, 'test')`, [p, c, tenant]);
  }
  const recA = await db.tenantRecovery(A, 'RECOVERY_TENANT_A_20260101_000001', aBackups[0]!, 'sec_a_ops');
  const recA2 = await db.tenantRecovery(A, 'RECOVERY_TENANT_A_20260101_000002', aBackups[1]!, 'sec_a_ops');
  const recB = await db.tenantRecovery(B, 'RECOVERY_TENANT_B_20260101_000001', bBackups[0]!, 'sec_b_ops');

  // Schedules, each defined by a role of its own tenant; runs linked.
  await as.sec_a_ops!.query(`SELECT backup_mgmt.create_backup_schedule('sec-a-verify', 'VERIFY', '0 1 * * *', $1)`, [A]);
  await as.sec_b_ops!.query(`SELECT backup_mgmt.create_backup_schedule('sec-b-verify', 'VERIFY', '0 1 * * *', $1)`, [B]);
  await as.sec_sys!.query(`SELECT backup_mgmt.create_backup_schedule('sec-sys-full', 'FULL', '0 2 * * *')`);
  for (const [name, backup, tenant] of [['sec-a-verify', aBackups[0], A], ['sec-b-verify', bBackups[0], B], ['sec-sys-full', b1.hk, null]] as const) {
    await db.q(`INSERT INTO backup_mgmt.schedule_execution_l (link_schedule_execution_hk, schedule_hk, backup_hk, tenant_hk, record_source)
                VALUES (backup_mgmt.hash_key($1, encode($2, 'hex')), backup_mgmt.hash_key($1), $2, $3, 'test')`, [name, backup, tenant]);
  }
  // Jobs: a verification per tenant, queued by that tenant's own role.
  await as.sec_a_ops!.query('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [aBackups[0]]);
  await as.sec_b_ops!.query('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [bBackups[0]]);
  // A system recovery, requested by a system role.
  const { rows: [sys] } = await as.sec_sys!.query(`SELECT * FROM backup_mgmt.initiate_recovery('immediate', NULL, NULL, true, $1)`, [b2.hk]);

  w = { db, A, B, aBackups, bBackups, sysBackups: [b1.hk, b2.hk, b3.hk], recA, recA2, recB, recSys: sys.recovery_id, as };
});

/** Every table and view of the schema (name, kind). */
async function relations(db: SecurityDb): Promise<{ relname: string; relkind: string }[]> {
  return db.q(`SELECT c.relname, c.relkind FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
                WHERE n.nspname = 'backup_mgmt' AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY c.relname`);
}

/** Strings that must not appear anywhere in what a role of tenant `tenant` reads: keys of every other hub row. */
async function foreignMarkers(db: SecurityDb, tenant: Buffer): Promise<string[]> {
  const rows = await db.q<{ m: string }>(`
    SELECT m FROM (
        SELECT encode(backup_hk, 'hex') AS m, tenant_hk FROM backup_mgmt.backup_execution_h
        UNION ALL SELECT backup_bk, tenant_hk FROM backup_mgmt.backup_execution_h
        UNION ALL SELECT encode(recovery_hk, 'hex'), tenant_hk FROM backup_mgmt.recovery_operation_h
        UNION ALL SELECT recovery_bk, tenant_hk FROM backup_mgmt.recovery_operation_h
        UNION ALL SELECT encode(schedule_hk, 'hex'), tenant_hk FROM backup_mgmt.backup_schedule_h
        UNION ALL SELECT schedule_bk, tenant_hk FROM backup_mgmt.backup_schedule_h
        UNION ALL SELECT DISTINCT encode(tenant_hk, 'hex'), tenant_hk FROM backup_mgmt.backup_schedule_h WHERE tenant_hk IS NOT NULL
    ) AS x WHERE tenant_hk IS DISTINCT FROM $1`, [tenant]);
  return rows.map((r) => r.m);
}

describe('binding roles to tenants', () => {
  it('is for system admins only and refuses roles that must stay system-wide', async () => {
    const { db, as, A, B } = w;
    await db.loginRole('sec_spare', ['backup_viewer']);
    await db.q('CREATE ROLE sec_super SUPERUSER').catch(() => undefined);
    await db.q('CREATE ROLE sec_bypass BYPASSRLS').catch(() => undefined);
    const bind = (c: pg.Client, role: string | null, tenant: Buffer | null) => c.query('SELECT backup_mgmt.bind_role_to_tenant($1, $2)', [role, tenant]);
    const before = await db.fingerprint();

    // Only admins may call it; viewers may not even read who is bound.
    expect(await sqlState(bind(as.sec_sys!, 'sec_spare', A))).toBe('42501');
    expect(await sqlState(as.sec_sys!.query('SELECT * FROM backup_mgmt.tenant_role'))).toBe('42501');
    expect(await sqlState(as.sec_sys!.query(`SELECT backup_mgmt.unbind_role_from_tenant('sec_b_ops')`))).toBe('42501');

    for (const role of [...PACK_ROLES, 'postgres', 'sec_super', 'sec_bypass']) {
      expect(await sqlState(bind(as.sec_admin!, role, A)), role).toBe('22023');
    }
    // sec_tenant_a's members are operators: binding backup_operator itself
    // would bind every operator; binding a group that holds a pack role is fine.
    expect(await sqlState(bind(as.sec_admin!, 'no_such_role', A))).toBe('42704');
    expect(await sqlState(bind(as.sec_admin!, null, A))).toBe('22004');
    expect(await sqlState(bind(as.sec_admin!, 'sec_spare', null))).toBe('22004');
    expect(await sqlState(bind(as.sec_admin!, 'sec_spare', Buffer.from('short')))).toBe('22023');
    expect(await sqlState(bind(as.sec_admin!, 'x'.repeat(64), A))).toBe('22023');
    expect(await sqlState(bind(as.sec_admin!, 'sec_b_ops', A))).toBe('23505');
    const { rows: [again] } = await bind(as.sec_admin!, 'sec_b_ops', B);
    expect(again.bind_role_to_tenant).toBe(false);
    expect(changedTables(before, await db.fingerprint())).toEqual([]);

    // A bound admin is a tenant's admin: it may not (un)bind, not even itself.
    await db.loginRole('sec_a_admin', ['backup_mgmt_admin']);
    await bind(as.sec_admin!, 'sec_a_admin', A);
    const aAdmin = await db.connect('sec_a_admin');
    expect(await sqlState(aAdmin.query(`SELECT backup_mgmt.unbind_role_from_tenant('sec_a_admin')`))).toBe('42501');
    expect(await sqlState(bind(aAdmin, 'sec_spare', A))).toBe('42501');
    expect(await sqlState(aAdmin.query(`SELECT backup_mgmt.set_setting('job.lease_seconds', '5')`))).toBe('42501');
    const { rows: [gone] } = await as.sec_admin!.query(`SELECT backup_mgmt.unbind_role_from_tenant('sec_a_admin') AS removed`);
    expect(gone.removed).toBe(true);
    const { rows: [none] } = await as.sec_admin!.query(`SELECT backup_mgmt.unbind_role_from_tenant('sec_a_admin') AS removed`);
    expect(none.removed).toBe(false);

    const bound = await db.q('SELECT role_name, tenant_hk, bound_by FROM backup_mgmt.tenant_role ORDER BY role_name');
    expect(bound).toEqual([
      { role_name: 'sec_a_view', tenant_hk: A, bound_by: 'sec_admin' },
      { role_name: 'sec_b_ops', tenant_hk: B, bound_by: 'sec_admin' },
      { role_name: 'sec_tenant_a', tenant_hk: A, bound_by: 'sec_admin' },
    ]);
  });
});

describe('reading', () => {
  it('shows a tenant role nothing of another tenant and nothing system-wide, in any table or view', async () => {
    const { db, as, A } = w;
    const forbidden = await foreignMarkers(db, A);
    expect(forbidden.length).toBeGreaterThanOrEqual(19);
    for (const role of ['sec_a_ops', 'sec_a_view']) {
      const c = as[role]!;
      const seen: Record<string, number> = {};
      for (const { relname } of await relations(db)) {
        const { rows: [p] } = await c.query(`SELECT has_table_privilege('backup_mgmt.${relname}', 'SELECT') AS ok`);
        if (!p.ok) continue;
        const { rows } = await c.query(`SELECT to_jsonb(r)::text AS j FROM backup_mgmt.${relname} AS r`);
        seen[relname] = rows.length;
        for (const { j } of rows) {
          const leak = forbidden.find((m) => (j as string).includes(m));
          expect(leak, `${role} reads ${relname}: ${j}`).toBeUndefined();
        }
      }
      // Its own tenant's rows are there: hubs, satellites, links, views, jobs.
      expect(seen).toMatchObject({
        backup_execution_h: 2, backup_execution_s: expect.any(Number), backup_lsn_s: 2, backup_storage_s: 2,
        recovery_operation_h: 2, recovery_operation_s: 2, backup_schedule_h: 1, backup_schedule_s: 1,
        backup_dependency_l: 1, schedule_execution_l: 1, recovery_backup_l: 2, job: 1,
        backup_list: 2, recovery_list: 2, backup_execution_current: 2, backup_schedule_current: 1,
        // System-wide operational rows: none.
        setting: 0, agent: 0, wal_archive: 0, restore_point: 0,
      });
      expect(seen.backup_execution_s).toBeGreaterThanOrEqual(2);
    }
    const { rows: next } = await as.sec_a_ops!.query('SELECT * FROM backup_mgmt.get_next_scheduled_backups(100)');
    expect(next.map((r: Row) => r.schedule_name)).toEqual(['sec-a-verify']);
    const { rows: windows } = await as.sec_a_ops!.query('SELECT * FROM backup_mgmt.recoverable_window()');
    // Only what its own backups say: the (system-wide) WAL archive is not its to see.
    for (const win of windows) expect(win).toMatchObject({ newest_segment: null, newest_archived_at: null, earliest_backup_bk: null });
  });

  it('shows tenant B only its own rows, and system roles everything', async () => {
    const { db, as, B } = w;
    const forbidden = await foreignMarkers(db, B);
    const { rows } = await as.sec_b_ops!.query(`SELECT to_jsonb(r)::text AS j FROM backup_mgmt.backup_list AS r
                                                UNION ALL SELECT to_jsonb(r)::text FROM backup_mgmt.recovery_list AS r
                                                UNION ALL SELECT to_jsonb(r)::text FROM backup_mgmt.job AS r`);
    expect(rows).toHaveLength(2 + 1 + 1);
    for (const { j } of rows) expect(forbidden.find((m) => (j as string).includes(m)), j).toBeUndefined();

    for (const { relname } of await relations(db)) {
      const { rows: [p] } = await as.sec_sys!.query(`SELECT has_table_privilege('backup_mgmt.${relname}', 'SELECT') AS ok`);
      if (!p.ok) continue;
      const [all] = await db.q(`SELECT count(*)::int AS n FROM backup_mgmt.${relname}`);
      const { rows: [mine] } = await as.sec_sys!.query(`SELECT count(*)::int AS n FROM backup_mgmt.${relname}`);
      expect(mine.n, relname).toBe(all!.n);
    }
  });

  it('cannot be widened with SET ROLE, and follows SET ROLE from a superuser', async () => {
    const { db, as } = w;
    const c = as.sec_a_ops!;
    for (const role of ['backup_operator', 'backup_viewer', 'sec_tenant_a']) {
      await c.query(`SET ROLE ${role}`);
      const { rows: [r] } = await c.query(`SELECT (SELECT count(*) FROM backup_mgmt.backup_list)::int AS backups,
                                                   (SELECT count(*) FROM backup_mgmt.backup_execution_s WHERE backup_hk = $1)::int AS system_versions`, [w.sysBackups[0]]);
      expect(r, role).toEqual({ backups: 2, system_versions: 0 });
      expect(await sqlState(c.query('SELECT * FROM backup_mgmt.get_backup($1)', [hex(w.sysBackups[0]!)])), role).toBe('P0002');
      if (role !== 'backup_viewer') {
        // SECURITY DEFINER: the session's binding counts, not the role's.
        expect(await sqlState(c.query('SELECT * FROM backup_mgmt.cancel_backup($1)', [w.sysBackups[0]])), role).toBe('P0002');
      }
      await c.query('RESET ROLE');
    }
    const su = await db.connect();
    await su.query('SET ROLE sec_a_ops');
    const { rows: [r] } = await su.query('SELECT count(*)::int AS n FROM backup_mgmt.backup_list');
    expect(r.n).toBe(2);
    expect(await sqlState(su.query(`SELECT * FROM backup_mgmt.await_backup($1, interval '0')`, [w.bBackups[0]]))).toBe('P0002');
    await su.query('RESET ROLE');
    const { rows: [all] } = await su.query('SELECT count(*)::int AS n FROM backup_mgmt.backup_list');
    expect(all.n).toBe(7);
  });

  it('checks a satellite row through its hub by primary key', async () => {
    const { db, as, B } = w;
    // Enough hubs that the planner prefers an index probe to a scan.
    await db.q(`INSERT INTO backup_mgmt.backup_execution_h (backup_hk, backup_bk, tenant_hk, record_source)
                SELECT backup_mgmt.hash_key(bk), bk, $1, 'test'
                  FROM (SELECT 'BULK_' || to_char(i, 'FM000000') || '_20260101_000000' AS bk FROM generate_series(1, 5000) AS i) AS s`, [B]);
    await db.q('ANALYZE backup_mgmt.backup_execution_h');
    await db.q('ANALYZE backup_mgmt.backup_execution_s');
    const { rows } = await as.sec_a_view!.query('EXPLAIN SELECT * FROM backup_mgmt.backup_execution_s');
    const plan = rows.map((r: Row) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Index (Only )?Scan using backup_execution_h_pkey on backup_execution_h h/);
    expect(plan).toMatch(/InitPlan/);
    await db.q(`DELETE FROM backup_mgmt.backup_execution_h WHERE backup_bk LIKE 'BULK_%'`);
  });
});

/**
 * Each call fails on the `others` keys exactly as on an unknown key: P0002
 * with the same message but for the key.
 */
async function expectLikeUnknown(calls: [string, (hk: Buffer) => Promise<unknown>][], unknownKey: Buffer, others: Buffer[]): Promise<void> {
  for (const [name, call] of calls) {
    const unknown = await sqlError(call(unknownKey));
    expect(unknown.code, name).toBe('P0002');
    for (const hk of others) {
      const e = await sqlError(call(hk));
      expect(e.code, `${name} ${hex(hk)}`).toBe('P0002');
      expect(e.message.replace(hex(hk), '<id>'), name).toBe(unknown.message.replace(hex(unknownKey), '<id>'));
    }
  }
}

describe('acting', () => {
  it('treats other tenants\' and system rows as missing, exactly like unknown ones', async () => {
    const { db, as, B, bBackups, sysBackups, recB, recSys } = w;
    const c = as.sec_a_ops!;
    const bBk = (await db.one<{ bk: string }>('SELECT backup_bk AS bk FROM backup_mgmt.backup_execution_h WHERE backup_hk = $1', [bBackups[0]])).bk;
    const recBBk = (await db.one<{ bk: string }>('SELECT recovery_bk AS bk FROM backup_mgmt.recovery_operation_h WHERE recovery_hk = $1', [recB])).bk;
    const unknownBackup = Buffer.alloc(32, 7);
    const unknownRecovery = Buffer.alloc(32, 9);
    const before = await db.fingerprint();

    const byBackup: [string, (hk: Buffer) => Promise<unknown>][] = [
      ['verify_backup_integrity', (hk) => c.query('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [hk])],
      ['cancel_backup', (hk) => c.query('SELECT * FROM backup_mgmt.cancel_backup($1)', [hk])],
      ['await_backup', (hk) => c.query(`SELECT * FROM backup_mgmt.await_backup($1, interval '0')`, [hk])],
      ['get_backup(hex)', (hk) => c.query('SELECT * FROM backup_mgmt.get_backup($1)', [hex(hk)])],
    ];
    await expectLikeUnknown(byBackup, unknownBackup, [bBackups[0]!, sysBackups[0]!]);
    expect(await sqlState(c.query('SELECT * FROM backup_mgmt.get_backup($1)', [bBk]))).toBe('P0002');

    const byRecovery: [string, (hk: Buffer) => Promise<unknown>][] = [
      ['approve_recovery', (hk) => c.query(`SELECT * FROM backup_mgmt.approve_recovery($1, 'ok')`, [hk])],
      ['reject_recovery', (hk) => c.query(`SELECT * FROM backup_mgmt.reject_recovery($1, 'no')`, [hk])],
      ['cancel_recovery', (hk) => c.query('SELECT * FROM backup_mgmt.cancel_recovery($1)', [hk])],
      ['await_recovery', (hk) => c.query(`SELECT * FROM backup_mgmt.await_recovery($1, interval '0')`, [hk])],
      ['get_recovery(hex)', (hk) => c.query('SELECT * FROM backup_mgmt.get_recovery($1)', [hex(hk)])],
    ];
    await expectLikeUnknown(byRecovery, unknownRecovery, [recB, recSys]);
    expect(await sqlState(c.query('SELECT * FROM backup_mgmt.get_recovery($1)', [recBBk]))).toBe('P0002');

    for (const fn of ['pause_backup_schedule', 'resume_backup_schedule', 'drop_backup_schedule', 'run_schedule']) {
      const unknown = await sqlError(c.query(`SELECT backup_mgmt.${fn}('sec-nope')`));
      expect(unknown.code, fn).toBe('42704');
      for (const name of ['sec-b-verify', 'sec-sys-full']) {
        const e = await sqlError(c.query(`SELECT backup_mgmt.${fn}($1)`, [name]));
        expect(e.code, `${fn} ${name}`).toBe('42704');
        expect(e.message.replace(name, '<name>'), fn).toBe(unknown.message.replace('sec-nope', '<name>'));
      }
    }
    expect(await sqlState(c.query(`SELECT backup_mgmt.alter_backup_schedule('sec-b-verify', p_cron_expression => '5 1 * * *')`))).toBe('42704');
    // Defining: only for its own tenant (B's, or system-wide: 42501).
    expect(await sqlState(c.query(`SELECT backup_mgmt.create_backup_schedule('sec-a-other', 'VERIFY', '0 3 * * *', $1)`, [B]))).toBe('42501');
    expect(await sqlState(c.query(`SELECT backup_mgmt.create_backup_schedule('sec-a-other', 'CLEANUP', '0 3 * * *')`))).toBe('42501');
    expect(await sqlState(c.query(`SELECT backup_mgmt.create_default_schedules()`))).toBe('42501');

    // Whole-cluster actions are for system roles.
    for (const sql of [
      'SELECT * FROM backup_mgmt.create_full_backup()',
      'SELECT * FROM backup_mgmt.create_incremental_backup()',
      `SELECT * FROM backup_mgmt.initiate_point_in_time_recovery(NULL, now() - interval '1 hour')`,
      `SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL)`,
      `SELECT * FROM backup_mgmt.create_restore_drill()`,
      `SELECT backup_mgmt.plan_recovery('latest', NULL)`,
      `SELECT * FROM backup_mgmt.create_restore_point('sec_a_point')`,
    ]) {
      expect(await sqlState(c.query(sql)), sql).toBe('42501');
    }
    expect(changedTables(before, await db.fingerprint())).toEqual([]);
  });

  it('lets a tenant role act on its own rows', async () => {
    const { as, recA, recA2, aBackups } = w;
    // Four eyes within the tenant: sec_a_ops asked, sec_a_appr decides.
    expect(await sqlState(as.sec_a_ops!.query(`SELECT * FROM backup_mgmt.approve_recovery($1)`, [recA]))).toBe('42501');
    const { rows: [approved] } = await as.sec_a_appr!.query(`SELECT * FROM backup_mgmt.approve_recovery($1, 'go')`, [recA]);
    expect(approved).toMatchObject({ recovery_status: 'APPROVED', approved_by: 'sec_a_appr', job_status: 'QUEUED' });
    const { rows: [rejected] } = await as.sec_a_appr!.query(`SELECT * FROM backup_mgmt.reject_recovery($1, 'not now')`, [recA2]);
    expect(rejected.recovery_status).toBe('REJECTED');
    const { rows: [cancelled] } = await as.sec_a_ops!.query('SELECT * FROM backup_mgmt.cancel_recovery($1)', [recA]);
    expect(cancelled.recovery_status).toBe('CANCELLED');
    const { rows: [done] } = await as.sec_a_ops!.query(`SELECT * FROM backup_mgmt.await_recovery($1, interval '0')`, [recA]);
    expect(done.recovery_status).toBe('CANCELLED');
    const { rows: [b] } = await as.sec_a_view!.query('SELECT * FROM backup_mgmt.get_backup($1)', [hex(aBackups[1]!)]);
    expect(b.backup_status).toBe('COMPLETED');
    const { rows: [v] } = await as.sec_a_ops!.query('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [aBackups[1]]);
    expect(v.verification_status).toBe('PENDING');

    for (const sql of [
      `SELECT backup_mgmt.alter_backup_schedule('sec-a-verify', p_cron_expression => '15 1 * * *', p_description => 'tenant A')`,
      `SELECT backup_mgmt.pause_backup_schedule('sec-a-verify')`,
      `SELECT backup_mgmt.resume_backup_schedule('sec-a-verify')`,
    ]) {
      await as.sec_a_ops!.query(sql);
    }
    const { rows: [s] } = await as.sec_a_view!.query(`SELECT schedule_expression, is_active, changed_by FROM backup_mgmt.backup_schedule_current`);
    expect(s).toEqual({ schedule_expression: '15 1 * * *', is_active: true, changed_by: 'sec_a_ops' });
    await as.sec_a_ops!.query(`SELECT backup_mgmt.drop_backup_schedule('sec-a-verify')`);
    // The name of another tenant's schedule stays taken, but says no more.
    const taken = await sqlError(as.sec_a_ops!.query(`SELECT backup_mgmt.create_backup_schedule('sec-b-verify', 'VERIFY', '0 1 * * *', $1)`, [w.A]));
    expect(taken.code).toBe('42710');
  });

  it('lets system roles see and act on every tenant', async () => {
    const { as, recB } = w;
    const { rows: [r] } = await as.sec_sys!.query(`SELECT * FROM backup_mgmt.approve_recovery($1, 'ok')`, [recB]);
    expect(r).toMatchObject({ recovery_status: 'APPROVED', approved_by: 'sec_sys' });
    const { rows: jobs } = await as.sec_b_ops!.query(`SELECT job_type, subject_hk FROM backup_mgmt.job ORDER BY job_id`);
    expect(jobs.map((j: Row) => j.job_type)).toEqual(['VERIFY', 'RESTORE']);
    await as.sec_sys!.query(`SELECT backup_mgmt.pause_backup_schedule('sec-b-verify')`);
    const { rows: [s] } = await as.sec_b_ops!.query(`SELECT is_active, changed_by FROM backup_mgmt.backup_schedule_current`);
    expect(s).toEqual({ is_active: false, changed_by: 'sec_sys' });
  });

  it('makes an unbound role a system role again', async () => {
    const { as } = w;
    await as.sec_admin!.query(`SELECT backup_mgmt.unbind_role_from_tenant('sec_a_view')`);
    const { rows: [r] } = await as.sec_a_view!.query('SELECT count(*)::int AS n FROM backup_mgmt.backup_list');
    expect(r.n).toBe(7);
  });
});

describe('with a non-superuser owner', () => {
  // FORCE ROW LEVEL SECURITY filters the tables' owner too, and the SECURITY
  // DEFINER functions run as that owner: the policies must let it through
  // (superusers, the harness's usual installer, bypass row security anyway).
  it('keeps the SECURITY DEFINER functions working under forced row security, and isolates tenants', async () => {
    const c = pack.cluster();
    await c.query('CREATE ROLE sec_owner LOGIN CREATEROLE');
    await c.query('CREATE DATABASE sec_owned OWNER sec_owner');
    await migrateUp(c.connectionString('sec_owned', 'sec_owner'));
    const as = async (role: string) => {
      const client = await c.connect('sec_owned', role);
      client.on('error', () => {});
      return client;
    };
    const owner = await as('sec_owner');
    try {
      await owner.query(`CREATE ROLE sec_o_sys LOGIN IN ROLE backup_operator, recovery_approver, backup_agent`);
      await owner.query(`CREATE ROLE sec_o_a LOGIN IN ROLE backup_operator`);
      const { rows: [t] } = await owner.query(`SELECT backup_mgmt.hash_key('OWNED_TENANT_A') AS a`);
      await owner.query(`SELECT backup_mgmt.bind_role_to_tenant('sec_o_a', $1)`, [t.a]);
      expect(await sqlState(owner.query(`SELECT backup_mgmt.bind_role_to_tenant('sec_owner', $1)`, [t.a]))).toBe('22023');
      const [{ sysid }] = await c.query<{ sysid: string }>('SELECT system_identifier::text AS sysid FROM pg_control_system()');

      // A system role: a backup through the agent protocol.
      const sys = await as('sec_o_sys');
      await sys.query(`SELECT backup_mgmt.agent_register('agent-o', 'host-o', 1, $1, NULL, '{}')`, [REPO]);
      const { rows: [b] } = await sys.query('SELECT * FROM backup_mgmt.create_full_backup()');
      const { rows: [job] } = await sys.query(`SELECT * FROM backup_mgmt.claim_job('agent-o')`);
      await sys.query(`SELECT backup_mgmt.complete_job($1, 'agent-o', $2)`, [job.job_id, fullBackupResult(job.plan, sysid!, 3, new Date().toISOString())]);
      const { rows: [done] } = await sys.query(`SELECT * FROM backup_mgmt.await_backup($1, interval '0')`, [b.backup_id]);
      expect(done).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
      await sys.query(`SELECT backup_mgmt.create_backup_schedule('o-sys', 'FULL', '0 2 * * *')`);

      // A tenant role: its own schedule works end to end; system rows are missing.
      const a = await as('sec_o_a');
      await a.query(`SELECT backup_mgmt.create_backup_schedule('o-a', 'VERIFY', '0 1 * * *', $1)`, [t.a]);
      await a.query(`SELECT backup_mgmt.alter_backup_schedule('o-a', p_timezone => 'Europe/Berlin')`);
      await a.query(`SELECT backup_mgmt.pause_backup_schedule('o-a'), backup_mgmt.resume_backup_schedule('o-a')`);
      const { rows: next } = await a.query('SELECT schedule_name FROM backup_mgmt.get_next_scheduled_backups(10)');
      expect(next).toEqual([{ schedule_name: 'o-a' }]);
      const { rows: [seen] } = await a.query(`SELECT (SELECT count(*) FROM backup_mgmt.backup_list)::int AS backups,
                                                     (SELECT count(*) FROM backup_mgmt.job)::int AS jobs,
                                                     (SELECT count(*) FROM backup_mgmt.agent)::int AS agents`);
      expect(seen).toEqual({ backups: 0, jobs: 0, agents: 0 });
      expect(await sqlState(a.query('SELECT * FROM backup_mgmt.get_backup($1)', [b.backup_id.toString('hex')]))).toBe('P0002');
      expect(await sqlState(a.query('SELECT * FROM backup_mgmt.cancel_backup($1)', [b.backup_id]))).toBe('P0002');
      expect(await sqlState(a.query(`SELECT backup_mgmt.pause_backup_schedule('o-sys')`))).toBe('42704');

      // Definer code run for a tenant reads system-wide rows it cannot see
      // itself: approving A's recovery checks the (system-wide) WAL archive.
      await owner.query(`CREATE ROLE sec_o_a2 LOGIN IN ROLE recovery_approver`);
      await owner.query(`SELECT backup_mgmt.bind_role_to_tenant('sec_o_a2', $1)`, [t.a]);
      await sys.query('SELECT backup_mgmt.register_wal($1, $2)', [sysid, JSON.stringify([{
        file_name: segName(1), timeline_id: 1, start_lsn: '0/1000000', bytes: 16777216, stored_bytes: 1000,
        sha256: '1'.padStart(64, '0'), archived_at: new Date().toISOString() }])]);
      const seed = await new SecurityDb(c, 'sec_owned').init();
      const backupA = await seed.tenantBackup(t.a, 'LOGICAL_BACKUP_OWNED_20260101_000001');
      const recoveryA = await seed.tenantRecovery(t.a, 'RECOVERY_OWNED_20260101_000001', backupA, 'sec_o_a');
      const a2 = await as('sec_o_a2');
      const { rows: [approved] } = await a2.query(`SELECT * FROM backup_mgmt.approve_recovery($1, 'ok')`, [recoveryA]);
      expect(approved).toMatchObject({ recovery_status: 'APPROVED', job_status: 'QUEUED' });
      await a2.end();

      // The owner reads everything itself, forced or not.
      const { rows: [all] } = await owner.query(`SELECT (SELECT count(*) FROM backup_mgmt.backup_schedule_h)::int AS schedules,
                                                         (SELECT count(*) FROM backup_mgmt.backup_list)::int AS backups`);
      expect(all).toEqual({ schedules: 2, backups: 2 });
      await Promise.all([sys.end(), a.end()]);
    } finally {
      await owner.end();
      await c.query('DROP DATABASE sec_owned WITH (FORCE)');
    }
  });
});
