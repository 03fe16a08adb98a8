// Backup policy as code in SQL: policy_plan() / policy_apply() on a real
// cluster with pg_cron in the pack's database (the harness preloads it; the
// pack is installed into postgres, where the extension lives), so every
// schedule change is checked against its satellite history and its pg_cron job.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyBackupPolicy, planBackupPolicy, type BackupPolicy, type PolicyChange } from '../../src/client/policy/index.js';
import { usePackWithPgCron } from '../harness/pack.js';

const pack = usePackWithPgCron({ name: 'policy' });
const cluster = pack.cluster;
let client: pg.Client;

beforeAll(async () => {
  client = await pack.connect();
});

const q = async <T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = [], c: pg.Client = client) =>
  (await c.query<T>(sql, params)).rows;
async function failure(sql: string, params: unknown[] = [], c: pg.Client = client): Promise<{ code?: string; message: string; detail?: string }> {
  try {
    await c.query(sql, params);
  } catch (e) {
    return e as { code?: string; message: string; detail?: string };
  }
  throw new Error(`expected an error from: ${sql}`);
}
const plan = (doc: unknown) => q<PolicyChange & pg.QueryResultRow>('SELECT * FROM backup_mgmt.policy_plan($1::jsonb)', [JSON.stringify(doc)]);
const apply = (doc: unknown, c: pg.Client = client) =>
  q<PolicyChange & pg.QueryResultRow>('SELECT * FROM backup_mgmt.policy_apply($1::jsonb)', [JSON.stringify(doc)], c);

interface Job {
  jobname: string;
  schedule: string;
  active: boolean;
}
const job = async (name: string) =>
  (await q<Job>('SELECT jobname, schedule, active FROM cron.job WHERE jobname = $1', [`backup_mgmt:${name}`]))[0];
const current = async (name: string) =>
  (await q('SELECT * FROM backup_mgmt.backup_schedule_current WHERE schedule_name = $1', [name]))[0]!;
const versions = async (name: string) =>
  Number((await q<{ n: string }>('SELECT count(*) AS n FROM backup_mgmt.backup_schedule_s WHERE schedule_hk = backup_mgmt.hash_key($1)', [name]))[0]!.n);
const drift = async () => (await q<{ status: string; value: string; detail: string }>(
  `SELECT status, value, detail FROM backup_mgmt.health_check() WHERE check_name = 'policy_drift'`))[0]!;
/** Everything an apply could write: any change shows here. */
const fingerprint = async () =>
  (await q<{ f: string }>(`SELECT md5(concat_ws('|',
      (SELECT string_agg(md5(s::text), ',' ORDER BY s.schedule_hk, s.load_date) FROM backup_mgmt.backup_schedule_s AS s),
      (SELECT string_agg(md5(h::text), ',' ORDER BY h.schedule_hk) FROM backup_mgmt.backup_schedule_h AS h),
      (SELECT string_agg(md5(t::text), ',' ORDER BY t.name) FROM backup_mgmt.setting AS t),
      (SELECT string_agg(md5(o::text), ',' ORDER BY o.object_kind, o.object_name) FROM backup_mgmt.policy_object AS o),
      (SELECT count(*) FROM backup_mgmt.policy_apply),
      (SELECT string_agg(md5(row(j.jobname, j.schedule, j.command, j.active)::text), ',' ORDER BY j.jobname) FROM cron.job AS j))) AS f`))[0]!.f;

const POLICY = {
  version: 1,
  schedules: [
    {
      name: 'nightly-full', type: 'FULL', cron: '0 2 * * *', timezone: 'Europe/Berlin', window: { start: '01:00', end: '05:00' },
      description: 'the nightly base backup',
      retention: { period: '30 days', min_redundancy: 2 },
      notifications: { on_failure: true, recipients: ['dba@example.com'] },
    },
    { name: 'hourly-incr', type: 'INCREMENTAL', cron: '0 * * * *' },
    { name: 'weekly-cleanup', type: 'CLEANUP', cron: '0 3 * * 0', paused: true },
  ],
  retention: { min_redundancy: 3, recovery_window: '14 days' },
  health: { rpo_warning: '10 minutes', schedule_warning_factor: 2 },
} satisfies BackupPolicy;

const withCron = (doc: typeof POLICY, name: string, cron: string) =>
  ({ ...doc, schedules: doc.schedules.map((s) => (s.name === name ? { ...s, cron } : s)) });

describe('plan and apply', () => {
  it('plans the whole policy on a fresh install, applies it, and a second run has nothing to do', async () => {
    await q(`SELECT backup_mgmt.create_backup_schedule('manual-verify', 'VERIFY', '0 5 * * *')`);
    const first = await plan(POLICY);
    const objects = [...new Set(first.map((r) => `${r.action} ${r.object_kind} ${r.object_name}`))];
    expect(objects).toEqual([
      'create schedule hourly-incr', 'create schedule nightly-full', 'create schedule weekly-cleanup',
      'set setting health.rpo_warning', 'set setting health.schedule_warning_factor',
      'set setting retention.min_redundancy', 'set setting retention.recovery_window',
    ]);
    expect(first.find((r) => r.object_name === 'retention.min_redundancy')).toMatchObject({ old_value: '2', new_value: '3', drift: false });
    // The plan wrote nothing.
    expect(await q(`SELECT 1 FROM backup_mgmt.backup_schedule_h WHERE schedule_bk = 'nightly-full'`)).toEqual([]);

    const applied = await apply(POLICY);
    expect(applied).toEqual(first);
    expect(await current('nightly-full')).toMatchObject({
      backup_type: 'FULL', schedule_expression: '0 2 * * *', timezone: 'Europe/Berlin', execution_window_start: '01:00:00',
      execution_window_end: '05:00:00', is_active: true, schedule_description: 'the nightly base backup', min_redundancy: 2,
      max_backup_count: null, notify_on_failure: true, notification_recipients: ['dba@example.com'], cron_job_name: 'backup_mgmt:nightly-full',
    });
    expect(await current('weekly-cleanup')).toMatchObject({ is_active: false });
    expect(await job('nightly-full')).toMatchObject({ active: true });
    expect(await job('hourly-incr')).toEqual({ jobname: 'backup_mgmt:hourly-incr', schedule: '0 * * * *', active: true });
    expect(await job('weekly-cleanup')).toMatchObject({ active: false });
    expect((await q(`SELECT backup_mgmt.setting('retention.min_redundancy') AS v`))[0]!.v).toBe('3');
    // Hand-made schedules are left alone without prune.
    expect(await current('manual-verify')).toMatchObject({ is_active: true });

    const before = await fingerprint();
    expect(await plan(POLICY)).toEqual([]);
    expect(await apply(POLICY)).toEqual([]);
    expect(await fingerprint()).toBe(before);
    expect(await drift()).toMatchObject({ status: 'OK', value: '0 of 7 managed objects changed by hand' });
  });

  it('a changed cron alters the schedule: one new satellite version, the pg_cron job follows', async () => {
    const changed = withCron(POLICY, 'hourly-incr', '30 */2 * * *');
    const rows = await plan(changed);
    expect(rows).toEqual([{
      object_kind: 'schedule', object_name: 'hourly-incr', action: 'alter', field: 'cron',
      old_value: '0 * * * *', new_value: '30 */2 * * *', drift: false, detail: null,
    }]);
    const n = await versions('hourly-incr');
    await apply(changed);
    expect(await versions('hourly-incr')).toBe(n + 1);
    expect(await current('hourly-incr')).toMatchObject({ schedule_expression: '30 */2 * * *' });
    expect(await job('hourly-incr')).toMatchObject({ schedule: '30 */2 * * *', active: true });
    expect(await plan(changed)).toEqual([]);
    await apply(POLICY);
  });

  it('a schedule removed from the file is released without prune, dropped with it (history kept, job gone)', async () => {
    const without = { ...POLICY, schedules: POLICY.schedules.filter((s) => s.name !== 'weekly-cleanup') };
    expect((await plan(without)).map((r) => `${r.action} ${r.object_name}`)).toEqual(['release weekly-cleanup']);

    const pruned = { ...without, prune: true };
    expect((await plan(pruned)).map((r) => `${r.action} ${r.object_name}`)).toEqual(['drop manual-verify', 'drop weekly-cleanup']);
    const n = await versions('weekly-cleanup');
    await apply(pruned);
    for (const name of ['weekly-cleanup', 'manual-verify']) {
      const s = await current(name);
      expect(s.tags?.dropped_at).toBeTruthy();
      expect(await job(name)).toBeUndefined();
    }
    expect(await versions('weekly-cleanup')).toBe(n + 1);
    // The history before the drop is still there.
    expect(await q(`SELECT schedule_expression, is_active FROM backup_mgmt.backup_schedule_s
                     WHERE schedule_hk = backup_mgmt.hash_key('weekly-cleanup') ORDER BY load_date LIMIT 1`))
      .toEqual([{ schedule_expression: '0 3 * * 0', is_active: true }]);
    expect((await q(`SELECT object_name FROM backup_mgmt.policy_object WHERE object_kind = 'schedule' ORDER BY 1`)).map((r) => r.object_name))
      .toEqual(['hourly-incr', 'nightly-full']);
    expect(await plan(pruned)).toEqual([]);
    await apply(POLICY);
  });

  it('prune resets retention and health settings set by hand that the file does not declare', async () => {
    await q(`SELECT backup_mgmt.set_setting('health.drill_max_age', '60 days')`);
    expect(await plan(POLICY)).toEqual([]);
    const rows = await plan({ ...POLICY, prune: true });
    expect(rows).toEqual([{
      object_kind: 'setting', object_name: 'health.drill_max_age', action: 'reset', field: 'value', old_value: '60 days',
      new_value: '30 days', drift: false, detail: 'not in the file (prune): back to the default',
    }]);
    await apply({ ...POLICY, prune: true });
    expect((await q(`SELECT backup_mgmt.setting('health.drill_max_age') AS v`))[0]!.v).toBe('30 days');
  });

  it('equal values in another spelling are no change (14 days and 336 hours differ across a DST change)', async () => {
    const respelt = { ...POLICY, retention: { min_redundancy: 3, recovery_window: '2 weeks' }, health: { rpo_warning: '00:10:00', schedule_warning_factor: 2.0 } };
    expect(await plan(respelt)).toEqual([]);
  });
});

describe('drift: manual changes to managed objects', () => {
  it('alter_backup_schedule by hand is drift in health_check(); plan shows the change that undoes it', async () => {
    await q(`SELECT backup_mgmt.alter_backup_schedule('nightly-full', p_cron_expression => '15 4 * * *')`);
    await q(`SELECT backup_mgmt.set_setting('retention.min_redundancy', '5')`);
    const d = await drift();
    expect(d.status).toBe('WARNING');
    expect(d.value).toBe('2 of 7 managed objects changed by hand');
    expect(d.detail).toContain('schedule nightly-full: cron');
    expect(d.detail).toContain('setting retention.min_redundancy: 5 (applied: 3)');

    const rows = await plan(POLICY);
    expect(rows).toEqual([
      {
        object_kind: 'schedule', object_name: 'nightly-full', action: 'alter', field: 'cron', old_value: '15 4 * * *', new_value: '0 2 * * *',
        drift: true, detail: 'changed by hand since the last apply (applied: 0 2 * * *)',
      },
      {
        object_kind: 'setting', object_name: 'retention.min_redundancy', action: 'set', field: 'value', old_value: '5', new_value: '3',
        drift: true, detail: 'changed by hand since the last apply',
      },
    ]);
    await apply(POLICY);
    expect(await drift()).toMatchObject({ status: 'OK' });
    expect(await job('nightly-full')).toMatchObject({ active: true });
  });

  it('pausing or dropping a managed schedule by hand is drift too', async () => {
    await q(`SELECT backup_mgmt.pause_backup_schedule('hourly-incr')`);
    expect((await drift()).detail).toContain('schedule hourly-incr: paused');
    expect(await plan(POLICY)).toMatchObject([{ object_name: 'hourly-incr', action: 'resume', field: 'paused', drift: true }]);
    await q(`SELECT backup_mgmt.drop_backup_schedule('hourly-incr')`);
    expect((await drift()).detail).toContain('schedule hourly-incr: dropped');
    const rows = await plan(POLICY);
    expect(new Set(rows.map((r) => `${r.action} ${r.object_name} ${r.drift}`))).toEqual(new Set(['create hourly-incr true']));
    await apply(POLICY);
    expect(await drift()).toMatchObject({ status: 'OK' });
    expect(await job('hourly-incr')).toMatchObject({ schedule: '0 * * * *', active: true });
  });
});

describe('a dropped schedule defined again starts from its declaration', () => {
  const overrides = async (name: string) =>
    (await q(`SELECT execution_count, max_backup_count, min_redundancy, recovery_window, retention_period, notify_on_success,
                     notify_on_failure, notification_recipients, schedule_description, tags
                FROM backup_mgmt.backup_schedule_current WHERE schedule_name = $1`, [name]))[0]!;
  const runOnce = async (name: string) => {
    await q(`SELECT backup_mgmt.backup_schedule_s_load(backup_mgmt.hash_key($1), jsonb_build_object('next_execution_time', now() - interval '1 minute'), 'test')`, [name]);
    return (await q<{ r: string }>('SELECT backup_mgmt.run_schedule($1) AS r', [name]))[0]!.r;
  };

  it('by hand: no old retention overrides, counters or notifications come back; the history stays readable', async () => {
    await q(`SELECT backup_mgmt.create_backup_schedule('recreate-me', 'HEALTH_CHECK', '*/30 * * * *')`);
    await q(`SELECT backup_mgmt.set_schedule_retention('recreate-me', p_max_backup_count => 5, p_min_redundancy => 3, p_recovery_window => '30 days')`);
    await q(`SELECT backup_mgmt.set_schedule_notifications('recreate-me', true, true, ARRAY['ops@example.com'])`);
    await q(`SELECT backup_mgmt.alter_backup_schedule('recreate-me', p_description => 'old one')`);
    expect(await runOnce('recreate-me')).toMatch(/^started|^completed/);
    expect((await overrides('recreate-me')).execution_count).toBeGreaterThan(0);

    await q(`SELECT backup_mgmt.drop_backup_schedule('recreate-me')`);
    await q(`SELECT backup_mgmt.create_backup_schedule('recreate-me', 'HEALTH_CHECK', '*/30 * * * *')`);
    expect(await overrides('recreate-me')).toEqual({
      execution_count: 0, max_backup_count: null, min_redundancy: null, recovery_window: null, retention_period: { years: 7 },
      notify_on_success: null, notify_on_failure: null, notification_recipients: null, schedule_description: null, tags: null,
    });
    expect(await q(`SELECT schedule_name, max_backup_count FROM backup_mgmt.retention_policy() WHERE schedule_name = 'recreate-me'`))
      .toEqual([{ schedule_name: 'recreate-me', max_backup_count: null }]);
    // The dropped definition is still in the history.
    expect(await q(`SELECT max_backup_count, min_redundancy, schedule_description FROM backup_mgmt.backup_schedule_s
                     WHERE schedule_hk = backup_mgmt.hash_key('recreate-me') AND tags ? 'dropped_at'`))
      .toEqual([{ max_backup_count: 5, min_redundancy: 3, schedule_description: 'old one' }]);
  });

  it('through the file: a schedule dropped and declared again without overrides gets none', async () => {
    const withOverrides = {
      ...POLICY,
      schedules: [...POLICY.schedules, { name: 'file-check', type: 'HEALTH_CHECK', cron: '*/15 * * * *',
                                         retention: { max_backup_count: 7, recovery_window: '3 days' }, notifications: { on_success: true } }],
    };
    await apply(withOverrides);
    expect(await runOnce('file-check')).toMatch(/^started|^completed/);
    expect(await overrides('file-check')).toMatchObject({ max_backup_count: 7, notify_on_success: true });
    await apply({ ...POLICY, prune: true });
    expect((await current('file-check')).tags?.dropped_at).toBeTruthy();

    const plain = { ...POLICY, schedules: [...POLICY.schedules, { name: 'file-check', type: 'HEALTH_CHECK', cron: '*/15 * * * *' }] };
    expect(new Set((await plan(plain)).map((r) => `${r.action} ${r.object_name}`))).toEqual(new Set(['create file-check']));
    await apply(plain);
    expect(await overrides('file-check')).toMatchObject({
      execution_count: 0, max_backup_count: null, min_redundancy: null, recovery_window: null, notify_on_success: null, tags: null,
    });
    expect(await job('file-check')).toMatchObject({ schedule: '*/15 * * * *', active: true });
    expect(await plan(plain)).toEqual([]);
    await apply({ ...POLICY, prune: true });
  });
});

describe('bad input changes nothing', () => {
  const cases: [string, unknown, string][] = [
    ['an unknown type', { schedules: [{ name: 'a', type: 'WEEKLY', cron: '0 1 * * *' }] }, 'schedules[0].type'],
    ['an invalid cron', { schedules: [{ name: 'a', type: 'FULL', cron: '0 1 * * *' }, { name: 'b', type: 'FULL', cron: '61 * * * *' }] }, 'schedules[1].cron'],
    ['a negative retention', { schedules: [{ name: 'a', type: 'FULL', cron: '0 1 * * *', retention: { period: '-3 days' } }] }, 'schedules[0].retention.period'],
    ['a duplicate name', { schedules: [{ name: 'a', type: 'FULL', cron: '0 1 * * *' }, { name: 'b', type: 'VERIFY', cron: '0 2 * * *' }, { name: 'A', type: 'DRILL', cron: '0 3 * * *' }] }, 'schedules[2].name'],
    ['an unknown setting', { health: { rpo_warnings: '5 minutes' } }, 'health.rpo_warnings'],
    ['a bad setting value', { retention: { min_redundancy: 0 } }, 'retention.min_redundancy'],
    ['an unknown field', { schedules: [{ name: 'a', type: 'FULL', cron: '0 1 * * *', crom: 'x' }] }, 'schedules[0].crom'],
    ['a bad window', { schedules: [{ name: 'a', type: 'FULL', cron: '0 1 * * *', window: { start: '01:00', end: '01:00' } }] }, 'schedules[0].window'],
    ['an unknown time zone', { schedules: [{ name: 'a', type: 'FULL', cron: '0 1 * * *', timezone: 'Mars/Olympus' }] }, 'schedules[0].timezone'],
  ];
  it.each(cases)('%s: one error naming the field and its path, in plan and apply', async (_what, doc, path) => {
    const before = await fingerprint();
    for (const fn of ['policy_plan', 'policy_apply']) {
      const e = await failure(`SELECT * FROM backup_mgmt.${fn}($1::jsonb)`, [JSON.stringify(doc)]);
      expect(e.code).toBe('22023');
      expect(e.message.startsWith(`${path}: `)).toBe(true);
      expect(e.detail?.startsWith(`path: ${path}`)).toBe(true);
    }
    expect(await fingerprint()).toBe(before);
  });

  it('the TypeScript validation names the same paths before anything is sent', async () => {
    for (const [, doc, path] of cases) {
      if (path === 'retention.min_redundancy' || path === 'schedules[0].timezone' || path === 'schedules[0].window') continue;
      const e = await planBackupPolicy(client, doc as BackupPolicy).then(() => null, (err: Error) => err);
      if (path === 'schedules[1].cron') {
        // 61 has five fields: only the database's cron grammar refuses it.
        expect((e as { code?: string }).code).toBe('22023');
      } else {
        expect(e?.name).toBe('BackupPolicyError');
      }
      expect(e?.message.startsWith(`${path}: `)).toBe(true);
    }
  });

  it('a statement refused half-way leaves everything as it was', async () => {
    // A real refusal from inside the transaction: settings are applied after
    // the schedules, so the schedule changes are already made when it fires.
    await q(`CREATE FUNCTION public.refuse_setting() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'refused by the test' USING ERRCODE = 'P0001'; END $$`);
    await q(`CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON backup_mgmt.setting FOR EACH ROW
             WHEN (NEW.name = 'health.drill_max_age') EXECUTE FUNCTION public.refuse_setting()`);
    try {
      const doc = {
        ...withCron(POLICY, 'nightly-full', '0 1 * * *'),
        schedules: [...withCron(POLICY, 'nightly-full', '0 1 * * *').schedules, { name: 'halfway', type: 'FULL', cron: '0 6 * * *' }],
        health: { ...POLICY.health, drill_max_age: '10 days' },
        prune: true,
      };
      await q(`SELECT backup_mgmt.create_backup_schedule('hand-made', 'VERIFY', '0 7 * * *')`);
      const before = await fingerprint();
      expect((await plan(doc)).map((r) => r.action)).toEqual(expect.arrayContaining(['create', 'alter', 'drop', 'set']));
      const e = await failure('SELECT * FROM backup_mgmt.policy_apply($1::jsonb)', [JSON.stringify(doc)]);
      expect(e).toMatchObject({ code: 'P0001', message: 'refused by the test' });
      expect(await fingerprint()).toBe(before);
      expect(await job('halfway')).toBeUndefined();
      expect(await job('hand-made')).toBeDefined();
    } finally {
      await q('DROP TRIGGER refuse ON backup_mgmt.setting');
      await q('DROP FUNCTION public.refuse_setting()');
      await q(`SELECT backup_mgmt.drop_backup_schedule('hand-made')`);
    }
  });

  it('a schedule name that belongs to a tenant is refused (42710), nothing applied', async () => {
    await q(`SELECT backup_mgmt.create_backup_schedule('tenant-verify', 'VERIFY', '0 8 * * *', backup_mgmt.hash_key('TENANT_A'))`);
    const before = await fingerprint();
    const e = await failure('SELECT * FROM backup_mgmt.policy_apply($1::jsonb)',
      [JSON.stringify({ ...POLICY, schedules: [...POLICY.schedules, { name: 'tenant-verify', type: 'VERIFY', cron: '0 9 * * *' }] })]);
    expect(e.code).toBe('42710');
    expect(e.message.startsWith('schedules[3].name: ')).toBe(true);
    expect(await fingerprint()).toBe(before);
    // prune never touches a tenant's schedule
    expect(await plan({ ...POLICY, prune: true })).toEqual([]);
  });
});

describe('concurrent applies', () => {
  const A = { ...withCron(POLICY, 'hourly-incr', '5 * * * *'), retention: { min_redundancy: 4, recovery_window: '10 days' }, prune: true };
  const B = { ...withCron(POLICY, 'hourly-incr', '10 * * * *'), retention: { min_redundancy: 6, recovery_window: '20 days' }, prune: true };
  let other: pg.Client;
  beforeAll(async () => {
    other = await cluster().connect('postgres');
  });
  afterAll(async () => {
    await other?.end();
  });
  const waitingForLock = async () => {
    // Polls until the second apply is queued behind the first one's lock.
    for (;;) {
      const [r] = await q<{ n: string }>(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
      if (Number(r!.n) > 0) return;
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  it('the second waits for the first and then applies completely after it: never a mix', async () => {
    await q('BEGIN');
    await apply(A);
    const second = apply(B, other);
    await waitingForLock();
    await q('COMMIT');
    const rows = await second;
    // B planned from A's committed state: it undoes exactly A's differences.
    expect(rows.map((r) => [r.object_name, r.field, r.old_value, r.new_value])).toEqual([
      ['hourly-incr', 'cron', '5 * * * *', '10 * * * *'],
      ['retention.min_redundancy', 'value', '4', '6'],
      ['retention.recovery_window', 'value', '10 days', '20 days'],
    ]);
    expect(await plan(B)).toEqual([]);
    expect(await job('hourly-incr')).toMatchObject({ schedule: '10 * * * *' });
  });

  it('without waiting the second is refused (55P03) and applies nothing', async () => {
    await q('BEGIN');
    await apply(A);
    const e = await failure('SELECT * FROM backup_mgmt.policy_apply($1::jsonb, false)', [JSON.stringify(B)], other);
    expect(e.code).toBe('55P03');
    await q('COMMIT');
    expect(await plan(A)).toEqual([]);
  });

  it('the client API applies through the same functions', async () => {
    const rows = await applyBackupPolicy(client, POLICY);
    expect(rows.length).toBeGreaterThan(0);
    expect(await planBackupPolicy(client, POLICY)).toEqual([]);
  });
});

describe('who may plan and apply', () => {
  it('a viewer may plan (a CI gate with a read-only role) but not apply; apply needs READ COMMITTED', async () => {
    await q(`CREATE ROLE policy_ci LOGIN IN ROLE backup_viewer`);
    const ci = await cluster().connect('postgres', 'policy_ci');
    try {
      expect(await q('SELECT * FROM backup_mgmt.policy_plan($1::jsonb)', [JSON.stringify(POLICY)], ci)).toEqual([]);
      const e = await failure('SELECT * FROM backup_mgmt.policy_apply($1::jsonb)', [JSON.stringify(POLICY)], ci);
      expect(e.code).toBe('42501');
    } finally {
      await ci.end();
    }
    await q('BEGIN ISOLATION LEVEL REPEATABLE READ');
    try {
      expect((await failure('SELECT * FROM backup_mgmt.policy_apply($1::jsonb)', [JSON.stringify(POLICY)])).code).toBe('25001');
    } finally {
      await q('ROLLBACK');
    }
  });
});

describe('the TypeScript schema knows every retention and health setting', () => {
  it('its keys are the catalog\'s retention.* and health.* settings', async () => {
    const { PolicyRetentionSettings, PolicyHealthSettings } = await import('../../src/client/policy/schema.js');
    const catalog = (await q<{ name: string }>(`SELECT name FROM backup_mgmt._setting_catalog()
                                                 WHERE name LIKE 'retention.%' OR name LIKE 'health.%' ORDER BY name`)).map((r) => r.name);
    const declared = [
      ...Object.keys(PolicyHealthSettings.shape).map((k) => `health.${k}`),
      ...Object.keys(PolicyRetentionSettings.shape).map((k) => `retention.${k}`),
    ].sort();
    expect(declared).toEqual(catalog);
  });
});
