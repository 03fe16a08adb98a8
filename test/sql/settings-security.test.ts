// Settings, repository paths, business keys, and the privileges and
// hardening of sql/90-security/grants.sql.
import { describe, expect, it } from 'vitest';
import { REPO, type Job, fullBackupResult, sqlError, sqlState, usePack } from './helpers.js';

const pack = usePack();

describe('settings', () => {
  it('returns documented defaults and validates changes', async () => {
    const db = await pack.freshDb();
    const get = async (name: string) => (await db.one<{ v: string | null }>('SELECT backup_mgmt.setting($1) AS v', [name])).v;
    const set = (name: string, value: string | null) => db.one<{ v: string | null }>('SELECT backup_mgmt.set_setting($1, $2) AS v', [name, value]);
    expect(await get('job.lease_seconds')).toBe('30');
    expect(await get('job.max_attempts')).toBe('3');
    expect(await get('backup.compression_level')).toBe('3');
    expect(await get('backup.max_rate')).toBeNull();
    expect(await get('backup.manifest_checksums')).toBe('CRC32C');
    expect(await get('backup.retention_period')).toBe('7 years');
    expect(await get('repository.roots')).toBeNull();
    expect(await get('repository.root')).toBeNull();

    expect(await set('job.lease_seconds', ' 007 ')).toEqual({ v: '7' });
    expect(await get('job.lease_seconds')).toBe('7');
    expect(await set('repository.roots', '/b/, /a//x ,/b')).toEqual({ v: '/a/x,/b' });
    expect(await set('backup.max_rate', '20480k')).toEqual({ v: '20480k' });
    expect(await set('backup.max_rate', null)).toEqual({ v: null });
    expect(await set('backup.manifest_checksums', 'sha256')).toEqual({ v: 'SHA256' });
    expect(await set('backup.manifest_checksums', null)).toEqual({ v: 'CRC32C' });
    expect(await set('job.lease_seconds', null)).toEqual({ v: '30' });
    const row = await db.one('SELECT * FROM backup_mgmt.setting WHERE name = $1', ['repository.roots']);
    expect(row.updated_by).toBe('postgres');
    expect(row.description).toMatch(/Comma-separated absolute directories/);

    const bad: [string | null, string][] = [
      ['job.lease_seconds', '0'],
      ['job.lease_seconds', '1.5'],
      ['job.max_attempts', '101'],
      ['backup.compression_level', '23'],
      ['backup.compression_level', 'high'],
      ['backup.max_rate', '10k'],
      ['backup.max_rate', '2G'],
      ['backup.manifest_checksums', 'MD5'],
      ['backup.manifest_checksums', 'NONE'],
      ['backup.retention_period', 'forever'],
      ['backup.retention_period', '-1 day'],
      ['repository.roots', 'relative'],
      ['repository.roots', ' , '],
      ['repository.root', '/a/../b'],
      ['no.such.setting', '1'],
    ];
    const before = await db.counts();
    for (const [name, value] of bad) {
      expect(await sqlState(set(name!, value)), `${name}=${value}`).toBe('22023');
    }
    expect(await sqlState(db.q(`SELECT backup_mgmt.setting('nope')`))).toBe('22023');
    expect(await sqlState(db.q(`SELECT backup_mgmt.setting(NULL)`))).toBe('22004');
    expect(await sqlState(db.q(`SELECT backup_mgmt.set_setting(NULL, '1')`))).toBe('22004');
    expect(await db.counts()).toEqual(before);
  });

  it('validates repository paths against the roots', async () => {
    const db = await pack.freshDb();
    const check = (p: string | null) => db.one<{ v: string }>('SELECT backup_mgmt.validate_repository_path($1) AS v', [p]);
    const none = await sqlError(check('/backup'));
    expect(none.code).toBe('22023');
    expect(none.detail).toBe('Allowed roots: (none).');
    expect(none.hint).toMatch(/repository\.roots|backup-mgmt agent/);

    await db.q(`SELECT backup_mgmt.set_setting('repository.roots', '/backup,/srv/pg')`);
    await db.q(`SELECT backup_mgmt.set_setting('repository.root', '/data/default')`);
    await db.registerAgent('agent-1', REPO);
    expect(await check('/backup')).toEqual({ v: '/backup' });
    expect(await check('//backup///full/./x/')).toEqual({ v: '/backup/full/x' });
    expect(await check('/data/default/sub')).toEqual({ v: '/data/default/sub' });
    expect(await check(`${REPO}/x`)).toEqual({ v: `${REPO}/x` });
    expect(await check('/backup/a..b')).toEqual({ v: '/backup/a..b' });
    const outside = await sqlError(check('/backupfoo'));
    expect(outside.detail).toBe(`Allowed roots: /backup, /srv/pg, /data/default, ${REPO}.`);
    for (const p of ['/backup/..', '/backup/../etc', 'backup', './backup', '/backup/\u0007', '/backup/\u0085x', `/backup/${'a'.repeat(1020)}`]) {
      expect(await sqlState(check(p)), JSON.stringify(p)).toBe('22023');
    }
    expect(await sqlState(check(null))).toBe('22004');
  });

  it('makes unique business keys in the hub format', async () => {
    const db = await pack.freshDb();
    // 200 in one statement: strictly increasing, even without inserts between.
    const rows = await db.q<{ k: string }>(`SELECT backup_mgmt.new_business_key('FULL_BACKUP_SYSTEM') AS k FROM generate_series(1, 200) ORDER BY 1`);
    const keys = rows.map((r) => r.k);
    expect(new Set(keys).size).toBe(200);
    for (const k of keys) expect(k).toMatch(/^FULL_BACKUP_SYSTEM_\d{8}_\d{6}_\d{6}$/);
    const [today] = await db.q<{ d: string }>(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD') AS d`);
    expect(keys[0]!.slice(19, 27)).toBe(today!.d);

    // A key already in a hub is skipped. Pin "the last key issued" a day
    // ahead so that the next candidate is known, and take that one first.
    const c = await db.connect();
    await c.query('BEGIN');
    const { rows: [pin] } = await c.query<{ us: string; next: string; after: string }>(`
      SELECT set_config('backup_mgmt.last_business_key_us', ((extract(epoch FROM now() + interval '1 day') * 1000000)::bigint)::text, true) AS us,
             'SKIP_TEST_' || to_char((now() + interval '1 day' + interval '1 microsecond') AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS_US') AS next,
             'SKIP_TEST_' || to_char((now() + interval '1 day' + interval '2 microseconds') AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS_US') AS after`);
    await c.query(`INSERT INTO backup_mgmt.backup_execution_h (backup_hk, backup_bk, record_source) VALUES (backup_mgmt.hash_key($1), $1, 'test')`, [pin!.next]);
    const { rows: [got] } = await c.query<{ k: string }>(`SELECT backup_mgmt.new_business_key('SKIP_TEST') AS k`);
    expect(got!.k).toBe(pin!.after);
    await c.query('ROLLBACK');

    expect(await sqlState(db.q(`SELECT backup_mgmt.new_business_key('lower')`))).toBe('22023');
    expect(await sqlState(db.q(`SELECT backup_mgmt.new_business_key('A-B')`))).toBe('22023');
    expect(await sqlState(db.q(`SELECT backup_mgmt.new_business_key(NULL)`))).toBe('22004');
  });
});

describe('privileges', () => {
  it('grants nothing to PUBLIC and each role what its job needs', async () => {
    const db = await pack.freshDb();
    await db.q(`CREATE ROLE nobody_special LOGIN`);
    await db.q(`CREATE ROLE viewer_vic LOGIN IN ROLE backup_viewer`);
    await db.q(`CREATE ROLE operator_olga LOGIN IN ROLE backup_operator`);
    await db.q(`CREATE ROLE agent_ann LOGIN IN ROLE backup_agent`);
    await db.q(`CREATE ROLE admin_ada LOGIN IN ROLE backup_mgmt_admin`);
    await db.q(`CREATE ROLE approver_al LOGIN IN ROLE recovery_approver`);

    const nobody = await db.connect('nobody_special');
    const viewer = await db.connect('viewer_vic');
    const operator = await db.connect('operator_olga');
    const agent = await db.connect('agent_ann');
    const admin = await db.connect('admin_ada');
    const approver = await db.connect('approver_al');

    await agent.query(`SELECT backup_mgmt.agent_register('agent-1', 'h', 1, $1, NULL, '{}')`, [REPO]);
    expect(await sqlState(nobody.query('SELECT * FROM backup_mgmt.backup_list'))).toBe('42501');
    expect(await sqlState(nobody.query(`SELECT backup_mgmt.setting('job.lease_seconds')`))).toBe('42501');

    // Viewers read; they cannot request.
    await viewer.query('SELECT * FROM backup_mgmt.backup_list');
    await viewer.query('SELECT * FROM backup_mgmt.backup_execution_current');
    await viewer.query('SELECT count(*) FROM backup_mgmt.backup_execution_s');
    await viewer.query(`SELECT backup_mgmt.setting('job.lease_seconds')`);
    expect(await sqlState(viewer.query('SELECT * FROM backup_mgmt.create_full_backup()'))).toBe('42501');
    expect(await sqlState(viewer.query(`SELECT * FROM backup_mgmt.claim_job('agent-1')`))).toBe('42501');
    expect(await sqlState(viewer.query(`INSERT INTO backup_mgmt.setting (name, value) VALUES ('x', 'y')`))).toBe('42501');
    expect(await sqlState(viewer.query('SELECT * FROM backup_mgmt.install_state'))).toBe('42501');
    await approver.query('SELECT * FROM backup_mgmt.backup_list');

    // Operators request, wait, verify and cancel, but cannot play the agent or write tables.
    const { rows: [row] } = await operator.query('SELECT * FROM backup_mgmt.create_full_backup()');
    expect(row.backup_status).toBe('PENDING');
    expect(await sqlState(operator.query(`SELECT * FROM backup_mgmt.await_backup($1, '0 s')`, [row.backup_id]))).toBe('57014');
    expect(await sqlState(operator.query(`SELECT * FROM backup_mgmt.claim_job('agent-1')`))).toBe('42501');
    expect(await sqlState(operator.query(`SELECT backup_mgmt.set_setting('job.lease_seconds', '5')`))).toBe('42501');
    expect(await sqlState(operator.query(`SELECT backup_mgmt.backup_execution_s_load($1, '{"backup_status": "COMPLETED"}')`, [row.backup_id]))).toBe('42501');
    expect(await sqlState(operator.query(`UPDATE backup_mgmt.job SET status = 'FAILED'`))).toBe('42501');
    expect(await sqlState(operator.query(`SELECT backup_mgmt._reclaim_expired_jobs()`))).toBe('42501');

    // The agent plays its part and nothing else.
    const { rows: [job] } = await agent.query<Job>(`SELECT * FROM backup_mgmt.claim_job('agent-1')`);
    await agent.query(`SELECT backup_mgmt.complete_job($1, 'agent-1', $2)`, [job!.job_id, JSON.stringify(fullBackupResult(job!.plan))]);
    expect(await sqlState(agent.query('SELECT * FROM backup_mgmt.create_full_backup()'))).toBe('42501');
    expect(await sqlState(agent.query('SELECT * FROM backup_mgmt.backup_list'))).toBe('42501');
    const { rows: [verify] } = await operator.query('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [row.backup_id]);
    expect(verify.verification_status).toBe('PENDING');

    const { rows: [shown] } = await viewer.query('SELECT * FROM backup_mgmt.get_backup($1)', [row.backup_id.toString('hex')]);
    expect(shown).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'PENDING' });

    // Admins can do all of it, but not call loaders or internals either.
    await admin.query(`SELECT backup_mgmt.set_setting('job.lease_seconds', '5')`);
    await admin.query('SELECT * FROM backup_mgmt.get_backup($1)', [row.backup_id.toString('hex')]);
    await admin.query(`SELECT backup_mgmt.agent_heartbeat('agent-1')`);
    await admin.query('SELECT * FROM backup_mgmt.install_state');
    expect(await sqlState(admin.query(`SELECT backup_mgmt._reclaim_expired_jobs()`))).toBe('42501');
    expect(await sqlState(admin.query(`SELECT backup_mgmt.backup_execution_s_load($1, '{}')`, [row.backup_id]))).toBe('42501');

    const memberships = await db.q<{ role: string; member: string }>(`
      SELECT r.rolname AS role, m.rolname AS member FROM pg_auth_members a
        JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
       WHERE r.rolname LIKE ANY ('{backup%,recovery%}') AND m.rolname LIKE ANY ('{backup%,recovery%}')
       ORDER BY 1, 2`);
    expect(memberships).toEqual([
      { role: 'backup_operator', member: 'backup_mgmt_admin' },
      { role: 'backup_viewer', member: 'backup_operator' },
      { role: 'backup_viewer', member: 'recovery_approver' },
    ]);
  });

  it('leaves no function, table or view to PUBLIC and pins search_path on every SECURITY DEFINER function', async () => {
    const db = await pack.freshDb();
    const publicFns = await db.q(`
      SELECT p.oid::regprocedure::text AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'backup_mgmt' AND has_function_privilege('public', p.oid, 'EXECUTE')`);
    expect(publicFns).toEqual([]);
    const publicRels = await db.q(`
      SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'backup_mgmt' AND c.relkind IN ('r', 'v', 'm', 'S')
         AND EXISTS (SELECT 1 FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a WHERE a.grantee = 0)`);
    expect(publicRels).toEqual([]);
    const unpinned = await db.q(`
      SELECT p.oid::regprocedure::text AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'backup_mgmt' AND p.prosecdef
         AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)`);
    expect(unpinned).toEqual([]);
    const definers = await db.q<{ fn: string }>(`
      SELECT p.proname AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'backup_mgmt' AND p.prosecdef ORDER BY 1`);
    expect(definers.map((d) => d.fn)).toEqual(
      expect.arrayContaining(['agent_heartbeat', 'agent_register', 'cancel_backup', 'claim_job', 'complete_job', 'create_full_backup', 'fail_job', 'job_progress', 'register_wal', 'release_job', 'set_setting', 'verify_backup_integrity']),
    );
    const uncommented = await db.q(`
      SELECT p.oid::regprocedure::text AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'backup_mgmt' AND obj_description(p.oid, 'pg_proc') IS NULL`);
    expect(uncommented).toEqual([]);
  });

  it('never calls a shadowing function from public', async () => {
    const db = await pack.freshDb();
    const c = await db.connect();
    for (const [name, args, ret] of [
      ['hash_key', 'VARIADIC text[]', 'bytea'],
      ['setting', 'text', 'text'],
      ['pg_notify', 'text, text', 'void'],
      ['new_business_key', 'text', 'text'],
      ['backup_execution_s_load', 'bytea, jsonb, text', 'boolean'],
    ] as const) {
      await c.query(`CREATE FUNCTION public.${name}(${args}) RETURNS ${ret} LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'shadow % called', '${name}'; END $$`);
    }
    await c.query(`SET search_path = public, backup_mgmt, pg_catalog`);
    await c.query(`SELECT backup_mgmt.agent_register('agent-1', 'h', 1, $1, NULL, '{}')`, [REPO]);
    const { rows: [row] } = await c.query('SELECT * FROM backup_mgmt.create_full_backup()');
    const { rows: [job] } = await c.query<Job>(`SELECT * FROM backup_mgmt.claim_job('agent-1')`);
    await c.query(`SELECT backup_mgmt.complete_job($1, 'agent-1', $2)`, [job!.job_id, JSON.stringify(fullBackupResult(job!.plan))]);
    const { rows: [done] } = await c.query('SELECT * FROM backup_mgmt.await_backup($1)', [row.backup_id]);
    expect(done).toMatchObject({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' });
  });

  it('lets the seed 001 Step 3.1 grants run', async () => {
    const db = await pack.freshDb();
    const c = await db.connect();
    await c.query(`
-- Grant necessary permissions
GRANT USAGE ON SCHEMA backup_mgmt TO backup_operator;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA backup_mgmt TO backup_operator;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA backup_mgmt TO backup_operator;`);
    const [r] = await db.q<{ ok: boolean }>(`SELECT has_function_privilege('backup_operator', 'backup_mgmt.create_full_backup(bytea,text,varchar,boolean,boolean)', 'EXECUTE') AS ok`);
    expect(r!.ok).toBe(true);
  });
});
