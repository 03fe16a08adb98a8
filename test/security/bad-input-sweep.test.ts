// The bad-input sweep (issue 5, acceptance 5): every API function of the
// schema (not internal "_*", not a loader "*_s_load"), found in pg_proc with
// its argument types, gets each of its arguments replaced in turn by hostile
// values of that type (NULL, empty and 10,000-character strings, control
// characters, ../ paths, quotes, SQL and format() fragments, short or unknown
// hash keys, extreme numbers, intervals and times) while the other arguments
// keep valid values, so the call gets as far as it can. Every call must end in
// success that changed nothing, or a clean error with an SQLSTATE of ALLOWED
// that changed nothing (fingerprint of every table before and after each
// call); never a syntax error (injection), an unknown function, an internal
// error or a bare RAISE; never a hang. New functions are swept automatically.
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { changedTables, fullBackupResult, REPO, RESTORE_ROOT, restoreResult, type Row, type SecurityDb, segName, useSecurityPack } from './helpers.js';

const pack = useSecurityPack('security-sweep');

/** Clean refusals: data exceptions (22xxx) and these. */
const ALLOWED = new Set(['0A000', '42501', '42704', '42710', '55000', 'P0002', '23505', '57014']);
const allowed = (code: string) => code.startsWith('22') || ALLOWED.has(code);

/**
 * Functions that legitimately change state when their input is valid. They
 * are swept like every other function, but a value their documentation
 * accepts would do real work, so those values are left out for them: NULL
 * where the argument's default is NULL ("use the default"), and the (function,
 * argument) values of LEGIT. Any other function must never change anything.
 */
const STATE_CHANGING = new Set([
  // agent protocol
  'agent_register', 'agent_heartbeat', 'agent_stopped', 'claim_job', 'complete_job', 'fail_job', 'job_progress', 'release_job',
  'register_wal', 'sync_wal_presence',
  // settings, tenants
  'set_setting', 'bind_role_to_tenant', 'unbind_role_from_tenant',
  // backups
  'create_full_backup', 'create_incremental_backup', 'verify_backup_integrity', 'cancel_backup',
  // recoveries
  'initiate_recovery', 'initiate_point_in_time_recovery', 'create_restore_drill', 'create_restore_point',
  'approve_recovery', 'reject_recovery', 'cancel_recovery',
  // schedules
  'create_backup_schedule', 'alter_backup_schedule', 'pause_backup_schedule', 'resume_backup_schedule', 'drop_backup_schedule',
  'run_schedule', 'run_due_schedules', 'create_default_schedules',
  // retention (sql/60-retention): a real run queues deletions; per-schedule policy
  'cleanup_expired_backups', 'set_schedule_retention',
  // health (sql/50-health): the agent reports its repository's free space
  'agent_report_storage',
  // reliability (issue 19): the agent's presence check of stored backup files
  'report_backup_presence',
  // policy as code (sql/70-policy); a schedule's notification settings
  'policy_apply', 'set_schedule_notifications',
  // disaster recovery (sql/70-dr): catalog sync imports what the repository describes
  'import_repository_backup', 'import_restore_point', 'mark_backup_files_missing', 'record_disaster_recovery',
  // repository copies (sql/65-copies): the agent's replicator
  'agent_report_repositories', 'agent_report_wal_copies', 'copy_claim', 'copy_report',
]);

/** Labels of TEXT values that are free text elsewhere (error messages, comments, labels). */
const ANY_TEXT = ['shell', 'backtick', 'dash', 'path_shell', 'path_dash', 'path_space'];

/**
 * Values a state-changing function accepts on purpose, by "function.argument":
 * free text stored as data (a comment, an error message) may hold quotes,
 * SQL-looking text and paths; p_timeout may be long.
 */
const LEGIT: Record<string, string[]> = {
  // The agent's own error text (tool output): anything but blank.
  'fail_job.p_error': ['long', 'ctrl', 'newline', 'traversal', 'abs_traversal', 'quotes', 'sql', 'format', ...ANY_TEXT],
  // An approver's free-text comment (at most 1000 characters, line breaks allowed), kept in approval_comment.
  'approve_recovery.p_comment': ['empty', 'blank', 'newline', 'traversal', 'abs_traversal', 'quotes', 'sql', 'format', ...ANY_TEXT],
  'reject_recovery.p_comment': ['newline', 'traversal', 'abs_traversal', 'quotes', 'sql', 'format', ...ANY_TEXT],
  // A schedule's description (at most 1000 characters, line breaks allowed).
  'alter_backup_schedule.p_description': ['empty', 'blank', 'newline', 'traversal', 'abs_traversal', 'quotes', 'sql', 'format', ...ANY_TEXT],
  // NULL = unchanged, like every argument of alter_backup_schedule; any positive retention.
  'alter_backup_schedule.p_clear_execution_window': ['null'],
  'alter_backup_schedule.p_retention_period': ['tiny'],
  // 0 to 100 years (0: the schedule's backups expire when they end; no window).
  'set_schedule_retention.p_retention_period': ['zero', 'tiny'],
  'set_schedule_retention.p_recovery_window': ['zero', 'tiny'],
  // What the presence check found: the agent's own text naming files (like fail_job.p_error), never blank.
  'report_backup_presence.p_missing': ['long', 'ctrl', 'newline', 'traversal', 'abs_traversal', 'quotes', 'sql', 'format', ...ANY_TEXT],
  'report_backup_presence.p_changed': ['long', 'ctrl', 'newline', 'traversal', 'abs_traversal', 'quotes', 'sql', 'format', ...ANY_TEXT],
  // A progress phase is a label (NULL when unknown); counters are any byte counts.
  'job_progress.p_phase': ['null', 'empty', 'blank', 'traversal', 'abs_traversal', 'quotes', 'sql', 'format', ...ANY_TEXT],
  'job_progress.p_done': ['null', 'zero', 'max'],
  'job_progress.p_total': ['null', 'zero', 'max'],
  // Free and total bytes of a repository: any non-negative count.
  'agent_report_storage.p_free_bytes': ['zero', 'max'],
  'agent_report_storage.p_total_bytes': ['zero', 'max'],
  // A registration: the pid is positive or NULL, no restore root, any JSON object of facts.
  'agent_register.p_pid': ['null', 'max'],
  'agent_register.p_restore_root': ['null'],
  'agent_register.p_info': ['null', 'empty_object', 'object'],
  // A tenant is a 32-byte hash key: one not seen before is a new tenant.
  'bind_role_to_tenant.p_tenant_hk': ['unknown'],
  'create_backup_schedule.p_tenant_hk': ['unknown'],
  // No retention of its own: the retention settings apply (sql/60-retention).
  'create_backup_schedule.p_retention_period': ['null', 'tiny'],
  // The seed's signature has no default, but NULL is its "system-wide".
  'initiate_point_in_time_recovery.p_tenant_hk': ['null'],
  // The repository holds no WAL file at all: every registered one is purged.
  'sync_wal_presence.p_present': ['empty'],
  // WAL files a repository lacks: any count.
  'agent_report_wal_copies.p_wal_behind': ['zero', 'max'],
  // Recipients are addresses or channel names for a notifier, stored as data ('{}': none).
  'set_schedule_notifications.p_recipients': ['empty', 'traversal', 'sql'],
};

interface Value {
  label: string;
  value: unknown;
}

const TEXT: Value[] = [
  { label: 'null', value: null },
  { label: 'empty', value: '' },
  { label: 'blank', value: '   ' },
  { label: 'long', value: 'x'.repeat(10_000) },
  { label: 'ctrl', value: 'ab\u0001cd' },
  { label: 'newline', value: 'a\nb' },
  { label: 'traversal', value: '../../etc/passwd' },
  { label: 'abs_traversal', value: `${REPO}/../../../etc` },
  { label: 'quotes', value: `'"` },
  { label: 'sql', value: `'; DROP TABLE backup_mgmt.job; --` },
  { label: 'format', value: '%s %I %L %1$s %%' },
  // What a shell or an option parser would act on (issue 12).
  { label: 'shell', value: '$(touch /tmp/bm-sweep-pwned)' },
  { label: 'backtick', value: '`touch /tmp/bm-sweep-pwned`' },
  { label: 'dash', value: '-rf' },
  { label: 'path_shell', value: `${REPO}/x$(id)` },
  { label: 'path_dash', value: `${REPO}/-x` },
  { label: 'path_space', value: `${REPO}/a b` },
];
const BYTEA: Value[] = [
  { label: 'null', value: null },
  { label: 'empty', value: Buffer.alloc(0) },
  { label: 'short', value: Buffer.from([0xde, 0xad, 0xbe, 0xef]) },
  { label: 'long', value: Buffer.alloc(33, 0x5a) },
  { label: 'unknown', value: Buffer.alloc(32, 0xab) },
];
const int = (min: string, max: string): Value[] => [
  { label: 'null', value: null },
  { label: 'negative', value: -1 },
  { label: 'zero', value: 0 },
  { label: 'min', value: min },
  { label: 'max', value: max },
];
const INTERVAL: Value[] = [
  { label: 'null', value: null },
  { label: 'negative', value: '-1 day' },
  { label: 'zero', value: '0' },
  { label: 'tiny', value: '1 microsecond' },
  { label: 'huge', value: '100000 years' },
];
const TIMESTAMP: Value[] = [
  { label: 'null', value: null },
  { label: '-infinity', value: '-infinity' },
  { label: 'infinity', value: 'infinity' },
  { label: 'far_past', value: '4713-01-01 00:00:00+00 BC' },
  { label: 'far_future', value: '294276-12-30 00:00:00+00' },
  { label: 'epoch', value: '1970-01-01 00:00:00+00' },
];
const TIME: Value[] = [
  { label: 'null', value: null },
  { label: 'midnight', value: '00:00' },
  { label: 'odd', value: '23:59:59.999999' },
  { label: '24h', value: '24:00' },
];
const JSON_VALUES: Value[] = [
  { label: 'null', value: null },
  { label: 'json_null', value: 'null' },
  { label: 'array', value: '[]' },
  { label: 'string', value: '"x"' },
  { label: 'empty_object', value: '{}' },
  { label: 'object', value: '{"x": 1, "../../etc/passwd": "\'; DROP TABLE x; --"}' },
  { label: 'bad_entries', value: '[{"file_name": "../../etc/passwd"}, 1, null]' },
];
const TEXT_ARRAY: Value[] = [
  { label: 'null', value: null },
  { label: 'empty', value: '{}' },
  { label: 'null_element', value: '{NULL}' },
  { label: 'empty_element', value: '{""}' },
  { label: 'traversal', value: ['../../etc/passwd'] },
  { label: 'sql', value: [`'; DROP TABLE backup_mgmt.job; --`] },
];
const LSN: Value[] = [
  { label: 'null', value: null },
  { label: 'zero', value: '0/0' },
  { label: 'max', value: 'FFFFFFFF/FFFFFFFF' },
];

function valuesOf(type: string): Value[] {
  switch (type) {
    case 'text': case 'character varying': case 'name': case 'character': return TEXT;
    case 'bytea': return BYTEA;
    case 'smallint': return int('-32768', '32767');
    case 'integer': return int('-2147483648', '2147483647');
    case 'bigint': return int('-9223372036854775808', '9223372036854775807');
    case 'numeric': case 'double precision': return int('-1e300', '1e300');
    case 'interval': return INTERVAL;
    case 'timestamp with time zone': case 'timestamp without time zone': case 'date': return TIMESTAMP;
    case 'time without time zone': return TIME;
    case 'jsonb': case 'json': return JSON_VALUES;
    case 'text[]': case 'character varying[]': return TEXT_ARRAY;
    case 'pg_lsn': return LSN;
    default: return [{ label: 'null', value: null }];
  }
}

interface Fn {
  oid: number;
  name: string;
  variadic: boolean;
  args: { name: string; type: string; hasDefault: boolean; defaultNull: boolean }[];
}

interface Finding {
  call: string;
  problem: string;
}

/** The repositories an agent reports (repository copies, sql/65-copies). */
const SWEEP_REPOSITORIES = [
  { name: 'local', storage_type: 'LOCAL', location: REPO, encryption: null },
  { name: 's3', storage_type: 'S3', location: 's3://sweep-bucket/p', encryption: { format: 'age-v1', fingerprints: ['age-x25519:00112233445566778899aabbccddeeff'] } },
];

/** Everything the sweep needs that a valid call refers to. */
interface Fixture {
  b2: Buffer;
  b2bk: string;
  pendingBackup: Buffer;
  pendingRecovery: Buffer;
  pendingRecoveryBk: string;
  verifyJob: Row;
  backupJob: Row;
  restoreJob: Row;
  tenant: Buffer;
}

/** Valid values by argument name (for every function), and per function where they differ. */
function baselines(db: SecurityDb, f: Fixture): { byName: Record<string, unknown>; byFunction: Record<string, Record<string, unknown>[]> } {
  const byName: Record<string, unknown> = {
    p_backup_hk: f.b2, p_base_backup_hk: f.b2, p_recovery_hk: f.pendingRecovery, p_schedule_name: 'sweep-verify',
    p_agent_id: 'agent-v', p_job_id: f.verifyJob.job_id, p_name: 'job.lease_seconds', p_value: '50M', p_path: `${REPO}/sweep`,
    p_prefix: 'SWEEP', p_expr: '*/5 * * * *', p_cron_expression: '0 4 * * *', p_after: new Date(), p_timezone: 'UTC', p_n: 3, p_limit: 5,
    p_timeout: '0', p_target_kind: 'immediate', p_target_value: null, p_target_timestamp: db.at(400), p_file_name: segName(3),
    p_timeline: 1, p_segno: 3, p_lsn: '0/3000000', p_system_identifier: db.sysid, p_files: '[]', p_error: 'boom', p_retryable: false,
    p_done: 1, p_total: 2, p_phase: 'streaming', p_comment: 'ok', p_hostname: 'sweep-host', p_pid: 1, p_repository_root: REPO,
    p_restore_root: RESTORE_ROOT, p_info: '{}', p_job_types: ['VERIFY'], p_parts: ['a', 'b'], p_role: 'sec_bindable',
    p_tenant_hk: null, p_backup_type: 'VERIFY', p_retention_period: '30 days', p_description: 'nightly', p_id: f.b2bk,
    p_present: Array.from({ length: 12 }, (_, i) => segName(i + 1)), p_dry_run: true, p_free_bytes: 1000, p_total_bytes: 2000,
    p_repository: 's3', p_wal_behind: 0, p_file_names: [segName(1)], p_repositories: JSON.stringify(SWEEP_REPOSITORIES),
  };
  const byFunction: Record<string, Record<string, unknown>[]> = {
    // One held job of each type, each with its valid result.
    complete_job: [
      { p_job_id: f.verifyJob.job_id, p_agent_id: 'agent-v', p_result: { verification: { status: 'VERIFIED', detail: 'ok' } } },
      { p_job_id: f.backupJob.job_id, p_agent_id: 'agent-b', p_result: fullBackupResult(f.backupJob.plan, db.sysid, 20, db.at(20 * 60)) },
      { p_job_id: f.restoreJob.job_id, p_agent_id: 'agent-x', p_result: restoreResult(f.restoreJob.plan) },
    ],
    get_recovery: [{ p_id: f.pendingRecoveryBk }],
    copy_report: [{ p_backup_bk: f.b2bk, p_status: 'EXPIRED', p_result: { reason: 'sweep' } }],
    cancel_backup: [{ p_backup_hk: f.pendingBackup }],
    // An agent that holds no job: re-registering one that does hands its jobs back.
    agent_register: [{ p_agent_id: 'agent-new' }],
    set_setting: [{ p_name: 'backup.max_rate', p_value: '50M' }],
    create_backup_schedule: [{ p_schedule_name: 'sweep-new', p_backup_type: 'VERIFY', p_cron_expression: '0 4 * * *' }],
    bind_role_to_tenant: [{ p_role: 'sec_bindable', p_tenant_hk: f.tenant }],
    plan_recovery: [{ p_target_kind: 'immediate', p_target_value: null, p_backup_hk: f.b2 }, { p_target_kind: 'time', p_target_value: db.at(400) }],
    initiate_recovery: [{ p_target_kind: 'time', p_target_value: db.at(400) }],
    initiate_point_in_time_recovery: [{ p_tenant_hk: null, p_target_timestamp: db.at(400) }],
    create_restore_drill: [{ p_backup_hk: f.b2 }],
    cron_next: [{ p_expr: '0 2 * * *', p_after: new Date(), p_timezone: 'Europe/Berlin' }],
    // The existing schedule declared with other fields: a plan with changes, an apply that makes them.
    policy_plan: [{ p_policy: { version: 1, schedules: [{ name: 'sweep-verify', type: 'VERIFY', cron: '0 5 * * *' }] } }],
    policy_apply: [{ p_policy: { version: 1, schedules: [{ name: 'sweep-verify', type: 'VERIFY', cron: '0 5 * * *' }] }, p_wait: true }],
  };
  return { byName, byFunction };
}

describe('bad-input sweep', () => {
  let db: SecurityDb;
  let fixture: Fixture;

  beforeAll(async () => {
    db = await pack.freshDb();
    const { b1, b2 } = await db.history();
    await db.q(`SELECT backup_mgmt.set_setting('job.lease_seconds', '86400')`);
    await db.loginRole('sec_sweeper', ['backup_mgmt_admin', 'recovery_approver', 'backup_agent']);
    await db.loginRole('sec_requester', ['backup_operator']);
    await db.loginRole('sec_bindable', ['backup_viewer']);
    await db.q(`SELECT backup_mgmt.create_backup_schedule('sweep-verify', 'VERIFY', '0 3 * * *')`);
    // Jobs held by agents: a verification, a full backup, a restore.
    for (const agent of ['agent-v', 'agent-b', 'agent-x']) {
      await db.q('SELECT backup_mgmt.agent_register($1, $2, 1, $3, $4, $5)', [agent, 'sweep-host', REPO, RESTORE_ROOT, {}]);
    }
    await db.q('SELECT backup_mgmt.agent_report_repositories($1, $2::jsonb)', ['agent-v', JSON.stringify(SWEEP_REPOSITORIES)]);
    await db.q('SELECT * FROM backup_mgmt.verify_backup_integrity($1)', [b1.hk]);
    const [verifyJob] = await db.q(`SELECT * FROM backup_mgmt.claim_job('agent-v', '{VERIFY}')`);
    await db.q('SELECT * FROM backup_mgmt.create_full_backup()');
    const [backupJob] = await db.q(`SELECT * FROM backup_mgmt.claim_job('agent-b', '{BACKUP}')`);
    // A second one stays queued behind it (one backup runs at a time).
    const [queued] = await db.q('SELECT * FROM backup_mgmt.create_full_backup(NULL, NULL, $1, false, false)', ['LOCAL']);
    const requester = await db.connect('sec_requester');
    const { rows: [toRun] } = await requester.query(`SELECT * FROM backup_mgmt.initiate_recovery('immediate', NULL, NULL, true, $1)`, [b2.hk]);
    await db.q(`SELECT * FROM backup_mgmt.approve_recovery($1)`, [toRun.recovery_id]);
    const [restoreJob] = await db.q(`SELECT * FROM backup_mgmt.claim_job('agent-x', '{RESTORE}')`);
    const { rows: [pending] } = await requester.query(`SELECT * FROM backup_mgmt.initiate_recovery('latest', NULL)`);
    expect([verifyJob, backupJob, restoreJob].every((j) => j?.status === 'RUNNING')).toBe(true);
    fixture = {
      b2: b2.hk, b2bk: b2.bk, pendingBackup: queued!.backup_id, pendingRecovery: pending.recovery_id, pendingRecoveryBk: pending.recovery_bk,
      verifyJob: verifyJob!, backupJob: backupJob!, restoreJob: restoreJob!, tenant: await db.tenant('SWEEP_TENANT'),
    };
  });

  /** The API functions of the schema whose name matches `pattern`, with their IN arguments. */
  async function discover(pattern: string): Promise<Fn[]> {
    const fns = (await db.q<{ oid: number; name: string; variadic: boolean; argnames: string[] | null; argmodes: string[] | null; types: string[]; ndefaults: number }>(`
      SELECT p.oid, p.proname AS name, p.provariadic <> 0 AS variadic, p.proargnames AS argnames, p.proargmodes::text[] AS argmodes,
             ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) WITH ORDINALITY AS u (t, i) ORDER BY i) AS types,
             p.pronargdefaults AS ndefaults
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
       WHERE n.nspname = 'backup_mgmt' AND p.prokind = 'f' AND p.proname !~ '^_' AND p.proname !~ '_s_load$' AND p.proname ~ $1
       ORDER BY p.proname, p.oid`, [pattern])).map((r): Fn => {
      const names = r.argmodes ? (r.argnames ?? []).filter((_, i) => ['i', 'b', 'v'].includes(r.argmodes![i]!)) : (r.argnames ?? []);
      return {
        oid: r.oid, name: r.name, variadic: r.variadic,
        args: r.types.map((type, i) => ({ name: names[i] ?? `$${i + 1}`, type, hasDefault: i >= r.types.length - r.ndefaults, defaultNull: false })),
      };
    });
    const defaults = await db.q<{ fn: string; name: string; def: string | null }>(`
      SELECT p.proname AS fn, x.parameter_name AS name, x.parameter_default AS def
        FROM information_schema.parameters AS x
        JOIN pg_proc AS p ON x.specific_name = p.proname || '_' || p.oid
       WHERE x.specific_schema = 'backup_mgmt' AND x.parameter_mode IN ('IN', 'INOUT')`);
    for (const f of fns) {
      for (const a of f.args) {
        const d = defaults.find((x) => x.fn === f.name && x.name === a.name);
        a.defaultNull = !!d?.def && /^NULL(::|$)/.test(d.def);
      }
    }
    return fns;
  }

  /** Sweeps `fns` as sec_sweeper (a system role with every pack role). */
  async function sweep(fns: Fn[]) {
    const { byName, byFunction } = baselines(db, fixture);
    const sweeper = await db.connect('sec_sweeper');
    await sweeper.query(`SET statement_timeout = '5s'`);
    const watcher = await db.connect();
    const findings: Finding[] = [];
    const coverage: Record<string, number> = {};
    const weakBaselines: string[] = [];
    let calls = 0;
    let prev = await db.fingerprint(watcher);

    /** Runs one call; returns its SQLSTATE ('' = success) and how long it took. */
    const run = async (f: Fn, values: Record<string, unknown>, omit: Set<string>) => {
      const params: unknown[] = [];
      const parts: string[] = [];
      for (const a of f.args) {
        if (omit.has(a.name)) continue;
        params.push(values[a.name] ?? null);
        const variadic = f.variadic && a === f.args[f.args.length - 1];
        parts.push(`${variadic ? 'VARIADIC ' : ''}${a.name} => $${params.length}::${a.type}`);
      }
      const sql = `SELECT * FROM backup_mgmt.${f.name}(${parts.join(', ')})`;
      const t0 = Date.now();
      try {
        await sweeper.query(sql, params);
        return { code: '', ms: Date.now() - t0, message: '' };
      } catch (e) {
        const err = e as pg.DatabaseError;
        return { code: err.code ?? 'none', ms: Date.now() - t0, message: err.message };
      }
    };

    for (const f of fns) {
      if (f.args.length === 0) continue;
      const variants = byFunction[f.name] ?? [{}];
      for (const variant of variants) {
        const valid: Record<string, unknown> = { ...byName, ...variant };
        // Arguments with a default and no valid value of their own are left out.
        const omitted = new Set(f.args.filter((a) => a.hasDefault && !(a.name in variant) && !(a.name in byName)).map((a) => a.name));
        // Is the valid call valid? (Rolled back: it may do real work.)
        await sweeper.query('BEGIN');
        const base = await run(f, valid, omitted);
        await sweeper.query('ROLLBACK');
        if (base.code !== '' && base.code !== '57014') weakBaselines.push(`${f.name} ${JSON.stringify(Object.keys(variant))}: ${base.code} ${base.message}`);

        for (const a of f.args) {
          for (const v of valuesOf(a.type)) {
            if (STATE_CHANGING.has(f.name)) {
              if (v.label === 'null' && a.defaultNull) continue;
              if ((LEGIT[`${f.name}.${a.name}`] ?? []).includes(v.label)) continue;
            }
            if (/timeout/.test(a.name) && v.label === 'huge') continue;
            const omit = new Set([...omitted].filter((n) => n !== a.name));
            const label = `${f.name}(${a.name} = ${v.label})${variants.length > 1 ? ` [variant ${variants.indexOf(variant) + 1}]` : ''}`;
            const r = await run(f, { ...valid, [a.name]: v.value }, omit);
            const after = await db.fingerprint(watcher);
            const changed = changedTables(prev, after);
            prev = after;
            calls += 1;
            coverage[f.name] = (coverage[f.name] ?? 0) + 1;
            if (r.code === '57014' && r.ms >= 4500) findings.push({ call: label, problem: `hangs (${r.ms} ms)` });
            else if (r.code !== '' && !allowed(r.code)) findings.push({ call: label, problem: `SQLSTATE ${r.code}: ${r.message}` });
            if (changed.length > 0) findings.push({ call: label, problem: `${r.code === '' ? 'succeeded' : `failed (${r.code})`} and changed ${changed.join(', ')}` });
          }
        }
      }
    }
    await sweeper.end();
    await watcher.end();
    return { findings, coverage, weakBaselines, calls };
  }

  it('gives every public function a clean SQLSTATE or a harmless success, and never changes the catalog on bad input', async () => {
    const fns = await discover('');
    const { findings, coverage, weakBaselines, calls } = await sweep(fns);
    const skipped = fns.filter((f) => f.args.length === 0).map((f) => f.name);
    console.log(`bad-input sweep: ${calls} calls over ${Object.keys(coverage).length} functions (${skipped.length} without arguments: ${skipped.join(', ')})\n`
      + Object.entries(coverage).map(([fn, n]) => `  ${fn}: ${n}`).join('\n')
      + (weakBaselines.length ? `\nvalid calls that were refused (their other arguments were swept less deeply):\n  ${weakBaselines.join('\n  ')}` : ''));
    expect(findings).toEqual([]);
    expect(Object.keys(coverage).length).toBeGreaterThanOrEqual(40);
    // The lists above are not stale: every function they name exists.
    const names = new Set(fns.map((f) => f.name));
    expect([...STATE_CHANGING].filter((n) => !names.has(n))).toEqual([]);
    expect(Object.keys(LEGIT).map((k) => k.split('.')[0]!).filter((n) => !STATE_CHANGING.has(n))).toEqual([]);
  });

  it('refuses (22xxx) every hostile value of every string the catalog hands the agent or a tool, changing nothing', async () => {
    // Shell metacharacters, quotes, line breaks, a leading '-', overlong values.
    const hostile = ['$(touch /tmp/bm-sweep-pwned)', '`id`', 'a;b', 'a|b', 'a&b', "a'b", 'a"b', 'a\nb', 'a\tb', '-rf', 'a b', 'a*', '~a', 'a\\b',
      'a'.repeat(5000)];
    const asPath = (v: string) => (v.startsWith('-') ? [`${REPO}/${v}`, v] : [`${REPO}/${v}`, `${RESTORE_ROOT}/${v}`]);
    // (statement, what it hands on): every parameter ends up in a plan, a setting the agent reads, a file name or a tool's argument.
    const targets: [string, (v: string) => unknown[][]][] = [
      ['SELECT * FROM backup_mgmt.create_full_backup(NULL, $1)', (v) => asPath(v).map((p) => [p])],
      ['SELECT * FROM backup_mgmt.create_incremental_backup(NULL, NULL, $1)', (v) => asPath(v).map((p) => [p])],
      ['SELECT * FROM backup_mgmt.validate_repository_path($1)', (v) => asPath(v).map((p) => [p])],
      [`SELECT * FROM backup_mgmt.initiate_recovery('immediate', NULL, $1, false)`, (v) => asPath(v).map((p) => [p])],
      [`SELECT * FROM backup_mgmt.initiate_recovery('name', $1, NULL, false)`, (v) => [[v]]],
      [`SELECT * FROM backup_mgmt.initiate_recovery('time', $1, NULL, false)`, (v) => [[v]]],
      [`SELECT * FROM backup_mgmt.initiate_recovery('lsn', $1, NULL, false)`, (v) => [[v]]],
      [`SELECT * FROM backup_mgmt.initiate_recovery('xid', $1, NULL, false)`, (v) => [[v]]],
      [`SELECT * FROM backup_mgmt.initiate_recovery($1, NULL, NULL, false)`, (v) => [[v]]],
      ['SELECT * FROM backup_mgmt.create_restore_point($1)', (v) => [[v]]],
      ['SELECT backup_mgmt.set_setting($1, $2)', (v) => [
        ...['repository.roots', 'repository.root', 'restore.root'].flatMap((n) => asPath(v).map((p) => [n, p])),
        ['repository.roots', `${REPO},${REPO}/${v}`],
        ...['backup.max_rate', 'backup.manifest_checksums', 'backup.retention_period', 'backup.compression_level', 'job.lease_seconds'].map((n) => [n, v]),
      ]],
      [`SELECT backup_mgmt.agent_register($1, 'h', 1, $2, $3, '{}')`, (v) => [
        [v, REPO, null], ['agent-hostile', `${REPO}/${v}`, null], ['agent-hostile', REPO, `${RESTORE_ROOT}/${v}`]]],
      [`SELECT backup_mgmt.agent_register('agent-hostile', $1, 1, $2, NULL, '{}')`, (v) => [[v, REPO]]],
      [`SELECT backup_mgmt.create_backup_schedule($1, 'VERIFY', '0 4 * * *')`, (v) => [[v]]],
      [`SELECT backup_mgmt.create_backup_schedule('hostile', 'VERIFY', $1)`, (v) => [[v]]],
      [`SELECT backup_mgmt.create_backup_schedule('hostile', $1, '0 4 * * *')`, (v) => [[v]]],
      [`SELECT backup_mgmt.alter_backup_schedule('sweep-verify', p_timezone => $1)`, (v) => [[v]]],
    ];
    const sweeper = await db.connect('sec_sweeper');
    const watcher = await db.connect();
    const before = await db.fingerprint(watcher);
    const findings: string[] = [];
    let calls = 0;
    try {
      for (const [sql, params] of targets) {
        for (const v of hostile) {
          for (const p of params(v)) {
            calls += 1;
            try {
              await sweeper.query(sql, p);
              findings.push(`${sql} ${JSON.stringify(p).slice(0, 120)}: accepted`);
            } catch (e) {
              const code = (e as pg.DatabaseError).code ?? 'none';
              if (!code.startsWith('22')) findings.push(`${sql} ${JSON.stringify(p).slice(0, 120)}: SQLSTATE ${code} ${(e as Error).message}`);
            }
          }
        }
      }
      expect(findings).toEqual([]);
      expect(changedTables(before, await db.fingerprint(watcher))).toEqual([]);
      expect(calls).toBeGreaterThan(400);
    } finally {
      await sweeper.end();
      await watcher.end();
    }
  });

  it('catches what it is meant to catch: injection, bare errors and writes on bad input', async () => {
    // Three functions written the way the pack must not be.
    await db.q(`
      CREATE FUNCTION backup_mgmt.zz_canary_injectable(p_name text) RETURNS bigint LANGUAGE plpgsql
      SET search_path = pg_catalog, pg_temp AS $$
      DECLARE v_n bigint;
      BEGIN
          -- Concatenated into SQL: a quote makes a syntax error, a fragment runs.
          EXECUTE 'SELECT count(*) FROM backup_mgmt.setting WHERE name = ''' || p_name || '''' INTO v_n;
          RETURN v_n;
      END $$;
      CREATE FUNCTION backup_mgmt.zz_canary_writer(p_note text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
      SET search_path = pg_catalog, pg_temp AS $$
      BEGIN
          -- Stores whatever it gets.
          INSERT INTO backup_mgmt.setting (name, value) VALUES ('zz.note.' || left(md5(coalesce(p_note, '')), 8), coalesce(p_note, ''))
          ON CONFLICT (name) DO NOTHING;
      END $$;
      CREATE FUNCTION backup_mgmt.zz_canary_sloppy(p_count integer) RETURNS integer LANGUAGE plpgsql
      SET search_path = pg_catalog, pg_temp AS $$
      BEGIN
          -- No validation: a bare RAISE.
          IF p_count IS NULL OR p_count < 0 THEN RAISE EXCEPTION 'bad count'; END IF;
          RETURN p_count;
      END $$;
      GRANT EXECUTE ON FUNCTION backup_mgmt.zz_canary_injectable(text), backup_mgmt.zz_canary_writer(text),
                                backup_mgmt.zz_canary_sloppy(integer) TO sec_sweeper`);
    try {
      const { findings } = await sweep(await discover('^zz_canary_'));
      const problems = (fn: string) => findings.filter((f) => f.call.startsWith(fn)).map((f) => f.problem);
      expect(problems('zz_canary_injectable')).toContainEqual(expect.stringMatching(/^SQLSTATE 42601/));
      expect(problems('zz_canary_writer')).toContainEqual(expect.stringMatching(/^succeeded and changed setting/));
      expect(problems('zz_canary_sloppy')).toContainEqual(expect.stringMatching(/^SQLSTATE P0001/));
    } finally {
      await db.q(`DROP FUNCTION backup_mgmt.zz_canary_injectable(text), backup_mgmt.zz_canary_writer(text), backup_mgmt.zz_canary_sloppy(integer)`);
      await db.q(`DELETE FROM backup_mgmt.setting WHERE name LIKE 'zz.note.%'`);
    }
  });
});
