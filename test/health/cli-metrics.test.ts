// The health checks from the outside: with pg_cron in the same database (the
// cron_jobs check), `backup-mgmt check` and its Nagios exit codes, the
// Prometheus endpoint served in-process and by a real agent with
// --metrics-port, and the exposition format itself.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentMonitor, Exposition, renderMetrics, resolveMetricsListen, MetricsConfigError, type MetricsSnapshot } from '../../src/agent/metrics.js';
import { migrateUp } from '../../src/migrate/runner.js';
import { AgentProcess, ensureBuilt, freePort, postgresDir, runCli, stopAllAgents } from '../e2e/support.js';
import { useCluster } from '../harness/cluster.js';
import { AGENT, HealthDb, waitFor } from './helpers.js';

const cluster = useCluster({ name: 'health-cli', settings: { archive_mode: 'on', archive_command: 'true' } });
let db: HealthDb;
let url: string;
let work: string;

beforeAll(async () => {
  // pg_cron lives in the postgres database of the harness's clusters: the pack goes there.
  await cluster().query('CREATE EXTENSION pg_cron');
  url = cluster().connectionString('postgres');
  await Promise.all([migrateUp(url), ensureBuilt()]);
  db = await HealthDb.open(url);
  await db.baseline();
  work = await mkdtemp(join(tmpdir(), 'bm-health-'));
});
afterAll(async () => {
  await stopAllAgents();
  await db?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const cronJob = async () =>
  (await db.q<{ jobid: string; active: boolean }>(`SELECT jobid, active FROM cron.job WHERE jobname = 'backup_mgmt:hc-cron'`))[0];

/** `backup-mgmt check …` against the test database (after a heartbeat, as a running agent would). */
async function check(...args: string[]) {
  await db.q('SELECT backup_mgmt.agent_heartbeat($1)', [AGENT]);
  return runCli(['check', '--database-url', url, ...args]);
}

// ------------------------------------------------------------------ a small exposition-format parser

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses text format 0.0.4 strictly enough to catch what Prometheus would reject. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      expect(helps.has(m[1]!), `HELP twice for ${m[1]}`).toBe(false);
      helps.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram|untyped)$/.exec(line);
    if (m) {
      expect(types.has(m[1]!), `TYPE twice for ${m[1]}`).toBe(false);
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `not a sample line: ${JSON.stringify(line)}`).not.toBeNull();
    const [, name, labelText, valueText] = m!;
    const labels: Record<string, string> = {};
    if (labelText) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(,|$)/gy;
      let lm: RegExpExecArray | null;
      let end = 0;
      while ((lm = re.exec(labelText))) {
        labels[lm[1]!] = lm[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
        end = re.lastIndex;
      }
      expect(end, `bad labels in ${line}`).toBe(labelText.length);
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    expect(/^nan$/i.test(valueText!) || !Number.isNaN(value), `bad value in ${line}`).toBe(true);
    const family = types.has(name!) ? name! : name!.replace(/_(sum|count)$/, '');
    expect(types.has(family), `sample ${name} before its TYPE`).toBe(true);
    samples.push({ name: name!, labels, value });
  }
  return { types, samples };
}

const sample = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

// ------------------------------------------------------------------ tests

describe('cron_jobs (pg_cron in this database)', () => {
  it('an active schedule whose job was removed or disabled behind the pack\'s back is WARNING; re-synced, OK', async () => {
    // Fires only on 29 February at midnight: never during the test.
    await db.q(`SELECT backup_mgmt.create_backup_schedule('hc-cron', 'VERIFY', '0 0 29 2 *')`);
    expect(await db.check('cron_jobs')).toMatchObject({ status: 'OK', value: '0 of 1 jobs missing, 0 inactive, 0 failing' });

    await db.q(`SELECT cron.unschedule('backup_mgmt:hc-cron')`);
    let c = await db.check('cron_jobs');
    expect(c).toMatchObject({ status: 'WARNING', value: '1 of 1 jobs missing, 0 inactive, 0 failing', threshold: 'job missing or inactive: warning' });
    expect(c.detail).toMatch(/^missing: hc-cron \(job backup_mgmt:hc-cron\); the schedules do not run from pg_cron/);
    await db.q(`SELECT backup_mgmt.alter_backup_schedule('hc-cron', p_description => 're-synced')`);
    expect((await cronJob())?.active).toBe(true);
    expect((await db.check('cron_jobs')).status).toBe('OK');

    await db.q(`SELECT cron.alter_job($1, active => false)`, [(await cronJob())!.jobid]);
    c = await db.check('cron_jobs');
    expect(c).toMatchObject({ status: 'WARNING', value: '0 of 1 jobs missing, 1 inactive, 0 failing' });
    expect(c.detail).toMatch(/^inactive: hc-cron \(job backup_mgmt:hc-cron\)/);
    await db.q(`SELECT backup_mgmt.alter_backup_schedule('hc-cron', p_description => 're-synced again')`);
    expect((await db.check('cron_jobs')).status).toBe('OK');

    // A paused schedule needs no active job.
    await db.q(`SELECT backup_mgmt.pause_backup_schedule('hc-cron')`);
    expect(await db.check('cron_jobs')).toMatchObject({ status: 'OK', value: '0 of 0 jobs missing, 0 inactive, 0 failing' });
    await db.q(`SELECT backup_mgmt.resume_backup_schedule('hc-cron')`);
    await db.expectAllOk();
  });
});

describe('backup-mgmt check', () => {
  it('exits 0 when all is OK, with a verdict line, a table and --json', async () => {
    const r = await check();
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('backup_mgmt OK - all 17 checks OK');
    expect(lines[1]).toMatch(/^status\s+check\s+value\s+threshold\s+detail$/);
    expect(lines).toHaveLength(3 + 17);
    expect(lines[3]).toMatch(/^OK\s+full_backup_age\s+/);

    const j = await check('--json');
    expect(j.code).toBe(0);
    const out = JSON.parse(j.stdout);
    expect(out).toMatchObject({ status: 'OK', exit_code: 0, summary: 'backup_mgmt OK - all 17 checks OK' });
    expect(out.checks).toHaveLength(17);
    expect(out.checks[0]).toEqual({ check_name: 'full_backup_age', status: 'OK', value: expect.any(String), threshold: expect.any(String), detail: expect.any(String) });
  });

  it('exits 1 on a WARNING and 2 on a CRITICAL, and 0 again once fixed', async () => {
    await db.q(`SELECT cron.unschedule('backup_mgmt:hc-cron')`);
    let r = await check();
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe('backup_mgmt WARNING - cron_jobs WARNING (16 of 17 OK)');

    await db.reportStorage(1, 100);
    r = await check('--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'CRITICAL', exit_code: 2, summary: 'backup_mgmt CRITICAL - repository_space CRITICAL, cron_jobs WARNING (15 of 17 OK)' });

    await db.reportStorage(50, 100);
    await db.q(`SELECT backup_mgmt.alter_backup_schedule('hc-cron', p_description => 'fixed')`);
    expect((await check()).code).toBe(0);
  });

  it('exits 3 (UNKNOWN) with one line when it cannot tell', async () => {
    const port = await freePort();
    const bad = await runCli(['check', '--database-url', `postgresql://postgres@127.0.0.1:${port}/postgres`, '--timeout', '5']);
    expect(bad).toMatchObject({ code: 3, stdout: '' });
    expect(bad.stderr).toMatch(/^backup-mgmt: UNKNOWN: cannot connect to the database: .*ECONNREFUSED.*\n$/);

    await cluster().query('CREATE DATABASE health_nopack');
    const nopack = await runCli(['check', '--database-url', cluster().connectionString('health_nopack')]);
    expect(nopack).toMatchObject({ code: 3, stdout: '' });
    expect(nopack.stderr).toMatch(/^backup-mgmt: UNKNOWN: backup_mgmt is not installed in this database \(run: backup-mgmt migrate up\): .*\[SQLSTATE 3F000\]\n$/);

    const noUrl = await runCli(['check'], { env: { DATABASE_URL: '' } });
    expect(noUrl).toMatchObject({ code: 3, stderr: 'backup-mgmt: UNKNOWN: no database: pass --database-url or set DATABASE_URL\n' });
    const usage = await runCli(['check', '--database-url', url, '--verbose']);
    expect(usage).toMatchObject({ code: 3, stderr: "backup-mgmt: UNKNOWN: unknown option '--verbose'\n" });
    const timeout = await runCli(['check', '--database-url', url, '--timeout', '0']);
    expect(timeout).toMatchObject({ code: 3, stderr: 'backup-mgmt: UNKNOWN: --timeout: at least 1 second\n' });
    expect((await runCli(['check', '--help'])).code).toBe(0);
  });
});

describe('Prometheus metrics', () => {
  it('the agent monitor reports repository space and serves /metrics in the text format', async () => {
    const monitor = new AgentMonitor({
      databaseUrl: url, agentId: AGENT, repository: work, listen: { port: 0, host: '127.0.0.1' }, log: () => {},
    });
    await monitor.start();
    try {
      const storage = (await db.one(`SELECT info->'storage' AS s FROM backup_mgmt.agent WHERE agent_id = $1`, [AGENT])).s;
      expect(storage).toMatchObject({ free_bytes: expect.any(Number), total_bytes: expect.any(Number), reported_at: expect.any(String) });
      expect(storage.free_bytes).toBeLessThanOrEqual(storage.total_bytes);
      expect(monitor.address).toMatchObject({ address: '127.0.0.1' });

      // A job picked up: the pickup latency has a sample.
      await db.q('SELECT * FROM backup_mgmt.verify_backup_integrity((SELECT backup_hk FROM backup_mgmt.backup_execution_current ORDER BY backup_end_time DESC NULLS LAST LIMIT 1))');
      const job = await db.claim(['VERIFY']);
      await db.complete(job, { verification: { status: 'VERIFIED', detail: 'ok', verified_at: new Date().toISOString() } });
      await db.q('SELECT backup_mgmt.agent_heartbeat($1)', [AGENT]);

      const base = `http://127.0.0.1:${monitor.address!.port}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const { types, samples } = parseExposition(await res.text());
      for (const name of [
        'backup_mgmt_up', 'backup_mgmt_backups', 'backup_mgmt_last_success_age_seconds', 'backup_mgmt_last_success_timestamp_seconds',
        'backup_mgmt_last_backup_duration_seconds', 'backup_mgmt_last_backup_size_bytes', 'backup_mgmt_last_backup_stored_bytes',
        'backup_mgmt_wal_archived_segments', 'backup_mgmt_wal_archived_bytes', 'backup_mgmt_archiver_archived_total',
        'backup_mgmt_archiver_failed_total', 'backup_mgmt_rpo_seconds', 'backup_mgmt_recovery_window_seconds',
        'backup_mgmt_job_pickup_latency_seconds', 'backup_mgmt_agent_live', 'backup_mgmt_repository_free_bytes',
        'backup_mgmt_health_check_status', 'backup_mgmt_health_check_severity',
      ]) {
        expect(types.has(name), name).toBe(true);
      }
      expect(types.get('backup_mgmt_archiver_archived_total')).toBe('counter');
      expect(types.get('backup_mgmt_job_pickup_latency_seconds')).toBe('summary');
      expect(sample(samples, 'backup_mgmt_up')?.value).toBe(1);
      expect(sample(samples, 'backup_mgmt_backups', { status: 'COMPLETED' })?.value).toBe(2);
      expect(sample(samples, 'backup_mgmt_last_success_age_seconds', { type: 'FULL' })?.value).toBeGreaterThan(3000);
      expect(sample(samples, 'backup_mgmt_last_backup_size_bytes', { type: 'FULL' })?.value).toBe(100 * 1024 * 1024);
      expect(sample(samples, 'backup_mgmt_wal_archived_segments')?.value).toBe(6);
      expect(sample(samples, 'backup_mgmt_archiver_archived_total')?.value).toBeGreaterThan(0);
      expect(sample(samples, 'backup_mgmt_rpo_seconds')?.value).toBeLessThan(300);
      expect(sample(samples, 'backup_mgmt_recovery_window_seconds')?.value).toBeGreaterThan(86400);
      expect(sample(samples, 'backup_mgmt_job_pickup_latency_seconds_count')?.value).toBeGreaterThanOrEqual(4);
      expect(sample(samples, 'backup_mgmt_job_pickup_latency_seconds', { quantile: '0.95' })?.value).toBeGreaterThanOrEqual(0);
      expect(sample(samples, 'backup_mgmt_agent_live', { agent_id: AGENT })?.value).toBe(1);
      expect(sample(samples, 'backup_mgmt_repository_free_bytes', { agent_id: AGENT })?.value).toBe(storage.free_bytes);
      expect(sample(samples, 'backup_mgmt_health_check_status', { check: 'rpo', status: 'OK' })?.value).toBe(1);
      expect(sample(samples, 'backup_mgmt_health_check_status', { check: 'rpo', status: 'CRITICAL' })?.value).toBe(0);
      expect(samples.filter((s) => s.name === 'backup_mgmt_health_check_severity')).toHaveLength(17);

      expect((await fetch(`${base}/nothing`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await monitor.stop();
    }
  });

  it('says backup_mgmt_up 0 when the catalog cannot be read', async () => {
    const port = await freePort();
    const monitor = new AgentMonitor({
      databaseUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`, agentId: 'lost', repository: work,
      listen: { port: 0, host: '127.0.0.1' }, log: () => {},
    });
    await monitor.start();
    try {
      const { samples } = parseExposition(await (await fetch(`http://127.0.0.1:${monitor.address!.port}/metrics`)).text());
      expect(sample(samples, 'backup_mgmt_up', { agent_id: 'lost' })?.value).toBe(0);
      expect(samples.map((s) => s.name)).toEqual(['backup_mgmt_up', 'backup_mgmt_scrape_duration_seconds']);
    } finally {
      await monitor.stop();
    }
  });

  it('backup-mgmt agent --metrics-port serves them (opt-in, 127.0.0.1) and reports the repository space', async () => {
    // The agent runs as the postgres OS user, in the cluster's directory (as the e2e tests do).
    const repo = await postgresDir(join(cluster().baseDir, 'repo'));
    const port = await freePort();
    const agent = await AgentProcess.start({
      databaseUrl: url, repo, agentId: 'agent-metrics', logFile: join(cluster().baseDir, 'agent.log'), extraArgs: ['--metrics-port', String(port)],
    });
    try {
      const text = await waitFor('the metrics endpoint', async () => {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/metrics`);
          return r.status === 200 && (await r.text());
        } catch {
          return false;
        }
      });
      const { samples } = parseExposition(text);
      expect(sample(samples, 'backup_mgmt_up', { agent_id: 'agent-metrics' })?.value).toBe(1);
      expect(sample(samples, 'backup_mgmt_agent_live', { agent_id: 'agent-metrics' })?.value).toBe(1);
      await waitFor('the agent to report its repository space', async () =>
        (await db.one(`SELECT info ? 'storage' AS ok FROM backup_mgmt.agent WHERE agent_id = 'agent-metrics'`)).ok);
    } finally {
      expect(await agent.stop()).toEqual({ code: 0, signal: null });
    }
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    expect(agent.log()).toContain(`metrics on http://127.0.0.1:${port}/metrics`);
  });
});

describe('the exposition format', () => {
  it('escapes label values and help text, leaves out unknown values and writes NaN and infinities as Prometheus does', async () => {
    const e = new Exposition()
      .family('x_info', 'gauge', 'a help with a \\ backslash\nand a new line')
      .sample('x_info', 1, { path: 'C:\\dir "quoted"\nnext' })
      .sample('x_info', null, { skipped: 'yes' })
      .sample('x_info', NaN, { v: 'nan' })
      .sample('x_info', Infinity, { v: 'inf' });
    expect(await e.text()).toBe(
      '# HELP x_info a help with a \\\\ backslash\\nand a new line\n# TYPE x_info gauge\n' +
        'x_info{path="C:\\\\dir \\"quoted\\"\\nnext"} 1\nx_info{v="nan"} Nan\nx_info{v="inf"} +Inf\n',
    );
    expect(() => new Exposition().sample('undeclared', 1)).toThrow(/not declared/);
    expect(() => new Exposition().family('bad-name', 'gauge', '')).toThrow(/invalid metric name/);
    const { samples } = parseExposition(await e.text());
    expect(samples[0]!.labels.path).toBe('C:\\dir "quoted"\nnext');
  });

  it('renders a snapshot without optional numbers', async () => {
    const snap: MetricsSnapshot = {
      at: 1, system_identifier: '1', backups: [], last_success: [],
      wal: { segments: 0, bytes: 0, stored_bytes: 0, newest_archived_at: null },
      archiver: { archive_mode: 'off', archived_count: 0, failed_count: 0, last_archived_time: null, last_failed_time: null, stats_reset: null },
      rpo_seconds: null, recovery_window_seconds: null, jobs: [],
      job_pickup: { sample: 0, sum_seconds: 0, p50_seconds: null, p95_seconds: null, max_seconds: null },
      agents: [], health: [{ check: 'rpo', status: 'CRITICAL', value: 'unknown' }],
    };
    const { samples } = parseExposition(await renderMetrics(snap, { agentId: 'a', durationSeconds: 0.0012345 }));
    expect(sample(samples, 'backup_mgmt_rpo_seconds')).toBeUndefined();
    expect(sample(samples, 'backup_mgmt_archive_mode_enabled')?.value).toBe(0);
    expect(sample(samples, 'backup_mgmt_job_pickup_latency_seconds_count')?.value).toBe(0);
    expect(sample(samples, 'backup_mgmt_health_check_severity', { check: 'rpo' })?.value).toBe(2);
    expect(sample(samples, 'backup_mgmt_scrape_duration_seconds')?.value).toBe(0.001235);
  });

  it('metrics port and host come from flags or the environment and are checked', () => {
    expect(resolveMetricsListen({}, {})).toEqual({ port: undefined, host: '127.0.0.1' });
    expect(resolveMetricsListen({}, { BACKUP_MGMT_METRICS_PORT: '9187' })).toEqual({ port: 9187, host: '127.0.0.1' });
    expect(resolveMetricsListen({ metricsPort: '9188', metricsHost: '0.0.0.0' }, { BACKUP_MGMT_METRICS_PORT: '9187' })).toEqual({ port: 9188, host: '0.0.0.0' });
    expect(() => resolveMetricsListen({ metricsPort: '70000' }, {})).toThrow(MetricsConfigError);
    expect(() => resolveMetricsListen({ metricsPort: 'http' }, {})).toThrow(/metrics port/);
    expect(() => resolveMetricsListen({ metricsPort: '9187', metricsHost: 'a b' }, {})).toThrow(/metrics host/);
  });
});
