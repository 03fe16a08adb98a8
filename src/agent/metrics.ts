// The agent's monitoring side: it reports the free space of its repository to
// the catalog (agent_report_storage, for the repository_space health check)
// and, when a port is configured, serves Prometheus metrics on /metrics. The
// numbers come from one SQL call, backup_mgmt.metrics_snapshot(); this module
// only turns them into metric families; prom-client writes the text
// exposition format (version 0.0.4).
import { statfs } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Registry, validateMetricName, type Metric } from 'prom-client';
import { z } from 'zod';
import { errorText, stderrLogger, type Logger } from './log.js';
import { PINNED_OPTIONS } from './conninfo.js';

export const DEFAULT_METRICS_HOST = '127.0.0.1';
export const DEFAULT_STORAGE_INTERVAL_MS = 60_000;
export const CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

// ------------------------------------------------------------------ configuration

export interface MetricsFlags {
  metricsPort?: string;
  metricsHost?: string;
}

export interface MetricsListen {
  /** undefined: no HTTP endpoint (the default; metrics are opt-in). */
  port?: number;
  host: string;
}

export class MetricsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricsConfigError';
  }
}

const ListenSchema = z.object({
  port: z.coerce
    .number({ error: 'metrics port: a number from 0 to 65535' })
    .int('metrics port: a whole number')
    .min(0, 'metrics port: a number from 0 to 65535')
    .max(65535, 'metrics port: a number from 0 to 65535')
    .optional(),
  host: z
    .string()
    .min(1, 'metrics host: an address to bind, e.g. 127.0.0.1')
    .regex(/^[A-Za-z0-9.:_-]+$/, 'metrics host: an IP address or host name, e.g. 127.0.0.1'),
});

/** Flags win over BACKUP_MGMT_METRICS_PORT / BACKUP_MGMT_METRICS_HOST; port 0 asks the OS for one. */
export function resolveMetricsListen(flags: MetricsFlags, env: NodeJS.ProcessEnv = process.env): MetricsListen {
  const port = flags.metricsPort ?? (env.BACKUP_MGMT_METRICS_PORT || undefined);
  const parsed = ListenSchema.safeParse({
    port: port === undefined ? undefined : port.trim() === '' ? 'x' : port,
    host: flags.metricsHost ?? (env.BACKUP_MGMT_METRICS_HOST || DEFAULT_METRICS_HOST),
  });
  if (!parsed.success) throw new MetricsConfigError(parsed.error.issues[0]!.message);
  return parsed.data;
}

// ------------------------------------------------------------------ the snapshot

const num = z.number().nullable();
const count = z.number();

/** What backup_mgmt.metrics_snapshot() returns (see its COMMENT). */
export const MetricsSnapshotSchema = z.object({
  at: z.number(),
  system_identifier: z.string().nullable(),
  backups: z.array(z.object({ status: z.string(), count })),
  last_success: z.array(
    z.object({
      type: z.string(),
      backup_bk: z.string(),
      end_time: num,
      age_seconds: num,
      duration_seconds: num,
      size_bytes: num,
      stored_bytes: num,
    }),
  ),
  wal: z.object({ segments: count, bytes: count, stored_bytes: count, newest_archived_at: num }),
  archiver: z.object({
    archive_mode: z.string(),
    archived_count: count,
    failed_count: count,
    last_archived_time: num,
    last_failed_time: num,
    stats_reset: num,
  }),
  rpo_seconds: num,
  recovery_window_seconds: num,
  jobs: z.array(z.object({ type: z.string(), status: z.string(), count })),
  job_pickup: z.object({ sample: count, sum_seconds: num, p50_seconds: num, p95_seconds: num, max_seconds: num }),
  agents: z.array(
    z.object({
      agent_id: z.string(),
      live: z.boolean(),
      heartbeat_age_seconds: num,
      free_bytes: num.optional(),
      total_bytes: num.optional(),
    }),
  ),
  copies: z
    .array(z.object({ repository: z.string(), waiting: count, failed: count, oldest_wait_seconds: num, wal_behind: count }))
    .optional(),
  health: z.array(z.object({ check: z.string(), status: z.enum(['OK', 'WARNING', 'CRITICAL']), value: z.string().nullable() })).nullable(),
});
export type MetricsSnapshot = z.infer<typeof MetricsSnapshotSchema>;

export async function readSnapshot(db: pg.Pool | pg.Client): Promise<MetricsSnapshot> {
  const { rows } = await db.query<{ m: unknown }>('SELECT backup_mgmt.metrics_snapshot() AS m');
  const parsed = MetricsSnapshotSchema.safeParse(rows[0]?.m);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`metrics_snapshot() returned an unexpected shape at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

// ------------------------------------------------------------------ exposition format

type Labels = Record<string, string>;
type MetricType = 'gauge' | 'counter' | 'summary';
type Sample = { value: number; labels: Labels; metricName?: string };

/**
 * Metric families in order, written by prom-client's registry. The values are
 * a snapshot of the catalog, not counts this process keeps, so each family is
 * a plain metric object (name, help, type, samples) rather than a prom-client
 * Gauge or Summary: those keep their own state, write 0 for an unset unlabelled
 * gauge (a value unknown here is left out) and compute quantiles from their
 * own observations (here the catalog computed them).
 */
export class Exposition {
  private readonly registry = new Registry();
  private readonly families = new Map<string, Sample[]>();

  family(name: string, type: MetricType, help: string): this {
    if (!validateMetricName(name)) throw new Error(`invalid metric name ${name}`);
    if (this.families.has(name)) return this;
    const values: Sample[] = [];
    this.families.set(name, values);
    const metric = { name, help, type, get: async () => ({ name, help, type, aggregator: 'sum' as const, values }) };
    this.registry.registerMetric(metric as unknown as Metric);
    return this;
  }

  /** A sample of family `name` (or of its _sum/_count series); null or undefined values are left out. */
  sample(name: string, value: number | null | undefined, labels: Labels = {}, series = name): this {
    const values = this.families.get(name);
    if (!values) throw new Error(`metric family ${name} was not declared`);
    if (value === null || value === undefined) return this;
    for (const k of Object.keys(labels)) if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) throw new Error(`invalid label name ${k}`);
    values.push(series === name ? { value, labels } : { value, labels, metricName: series });
    return this;
  }

  /** The text format; prom-client separates families by a blank line, left out here (both are valid). */
  async text(): Promise<string> {
    // Escaped help and label text hold no raw new line, so an empty line is only ever a separator.
    return (await this.registry.metrics()).replace(/\n\n/g, '\n');
  }
}

const P = 'backup_mgmt_';
const SEVERITY = { OK: 0, WARNING: 1, CRITICAL: 2 } as const;

export interface ScrapeInfo {
  agentId: string;
  /** Seconds the snapshot took. */
  durationSeconds: number;
}

/** The exposition text of one scrape; without a snapshot only backup_mgmt_up 0 and the scrape duration. */
export function renderMetrics(snap: MetricsSnapshot | undefined, info: ScrapeInfo): Promise<string> {
  const e = new Exposition();
  e.family(`${P}up`, 'gauge', 'Whether the agent could read metrics_snapshot() from the catalog (1) or not (0).');
  e.sample(`${P}up`, snap ? 1 : 0, { agent_id: info.agentId });
  e.family(`${P}scrape_duration_seconds`, 'gauge', 'Seconds this scrape spent reading the catalog.');
  e.sample(`${P}scrape_duration_seconds`, Math.round(info.durationSeconds * 1e6) / 1e6, { agent_id: info.agentId });
  if (!snap) return e.text();

  e.family(`${P}backups`, 'gauge', 'Backups in the catalog by current status.');
  for (const b of snap.backups) e.sample(`${P}backups`, b.count, { status: b.status });

  e.family(`${P}last_success_timestamp_seconds`, 'gauge', 'End time of the newest completed backup of each type (Unix time).');
  e.family(`${P}last_success_age_seconds`, 'gauge', 'Seconds since the newest completed backup of each type ended.');
  e.family(`${P}last_backup_duration_seconds`, 'gauge', 'Duration of the newest completed backup of each type.');
  e.family(`${P}last_backup_size_bytes`, 'gauge', 'Database bytes in the newest completed backup of each type (WAL bytes for incrementals).');
  e.family(`${P}last_backup_stored_bytes`, 'gauge', 'Bytes the newest completed backup of each type occupies in the repository.');
  for (const s of snap.last_success) {
    const l = { type: s.type };
    e.sample(`${P}last_success_timestamp_seconds`, s.end_time, l);
    e.sample(`${P}last_success_age_seconds`, s.age_seconds, l);
    e.sample(`${P}last_backup_duration_seconds`, s.duration_seconds, l);
    e.sample(`${P}last_backup_size_bytes`, s.size_bytes, l);
    e.sample(`${P}last_backup_stored_bytes`, s.stored_bytes, l);
  }

  e.family(`${P}wal_archived_segments`, 'gauge', 'Archived WAL segments of this cluster registered in the catalog and still in the repository.');
  e.sample(`${P}wal_archived_segments`, snap.wal.segments);
  e.family(`${P}wal_archived_bytes`, 'gauge', 'WAL bytes of those segments (uncompressed).');
  e.sample(`${P}wal_archived_bytes`, snap.wal.bytes);
  e.family(`${P}wal_archived_stored_bytes`, 'gauge', 'Bytes those segments occupy in the repository.');
  e.sample(`${P}wal_archived_stored_bytes`, snap.wal.stored_bytes);
  e.family(`${P}wal_newest_archived_timestamp_seconds`, 'gauge', 'When the newest registered segment was archived (Unix time).');
  e.sample(`${P}wal_newest_archived_timestamp_seconds`, snap.wal.newest_archived_at);

  e.family(`${P}archiver_archived_total`, 'counter', 'WAL files archive_command archived since the statistics reset (pg_stat_archiver).');
  e.sample(`${P}archiver_archived_total`, snap.archiver.archived_count);
  e.family(`${P}archiver_failed_total`, 'counter', 'Failed archive_command runs since the statistics reset (pg_stat_archiver).');
  e.sample(`${P}archiver_failed_total`, snap.archiver.failed_count);
  e.family(`${P}archiver_last_archived_timestamp_seconds`, 'gauge', 'Last successful archive_command run (Unix time).');
  e.sample(`${P}archiver_last_archived_timestamp_seconds`, snap.archiver.last_archived_time);
  e.family(`${P}archiver_last_failed_timestamp_seconds`, 'gauge', 'Last failed archive_command run (Unix time).');
  e.sample(`${P}archiver_last_failed_timestamp_seconds`, snap.archiver.last_failed_time);
  e.family(`${P}archive_mode_enabled`, 'gauge', 'Whether archive_mode is on or always (1) or off (0).');
  e.sample(`${P}archive_mode_enabled`, snap.archiver.archive_mode === 'off' ? 0 : 1);

  e.family(`${P}rpo_seconds`, 'gauge', 'Recovery point objective now: seconds of WAL not yet archived (0 when all WAL is archived); absent when unknown.');
  e.sample(`${P}rpo_seconds`, snap.rpo_seconds);
  e.family(`${P}recovery_window_seconds`, 'gauge', 'Length of the point-in-time recovery window; absent when there is none.');
  e.sample(`${P}recovery_window_seconds`, snap.recovery_window_seconds);

  e.family(`${P}jobs`, 'gauge', 'Agent jobs queued or running, by type and status.');
  for (const j of snap.jobs) e.sample(`${P}jobs`, j.count, { type: j.type, status: j.status });

  const pickup = `${P}job_pickup_latency_seconds`;
  e.family(pickup, 'summary', 'Seconds from a job being due to an agent claiming it, over the newest claimed jobs.');
  if (snap.job_pickup.sample > 0) {
    e.sample(pickup, snap.job_pickup.p50_seconds, { quantile: '0.5' });
    e.sample(pickup, snap.job_pickup.p95_seconds, { quantile: '0.95' });
    e.sample(pickup, snap.job_pickup.max_seconds, { quantile: '1' });
  }
  e.sample(pickup, snap.job_pickup.sum_seconds ?? 0, {}, `${pickup}_sum`);
  e.sample(pickup, snap.job_pickup.sample, {}, `${pickup}_count`);

  e.family(`${P}agent_live`, 'gauge', 'Whether a (not stopped) agent heartbeated within the live window.');
  e.family(`${P}agent_heartbeat_age_seconds`, 'gauge', 'Seconds since an agent last heartbeated.');
  e.family(`${P}repository_free_bytes`, 'gauge', 'Free bytes an agent reported for the file system of its repository.');
  e.family(`${P}repository_size_bytes`, 'gauge', 'Total bytes an agent reported for the file system of its repository.');
  for (const a of snap.agents) {
    const l = { agent_id: a.agent_id };
    e.sample(`${P}agent_live`, a.live ? 1 : 0, l);
    e.sample(`${P}agent_heartbeat_age_seconds`, a.heartbeat_age_seconds, l);
    e.sample(`${P}repository_free_bytes`, a.free_bytes, l);
    e.sample(`${P}repository_size_bytes`, a.total_bytes, l);
  }

  e.family(`${P}repository_copies_waiting`, 'gauge', 'Completed backups not yet copied into a repository (PENDING, COPYING or FAILED).');
  e.family(`${P}repository_copies_failed`, 'gauge', 'Completed backups whose copy into a repository FAILED (retried with backoff).');
  e.family(`${P}repository_copy_oldest_wait_seconds`, 'gauge', 'Seconds the oldest backup waiting for its copy has waited since it ended; absent when none waits.');
  e.family(`${P}repository_wal_behind_files`, 'gauge', 'WAL files of the local repository a repository lacked at the last catch-up pass.');
  for (const c of snap.copies ?? []) {
    const l = { repository: c.repository };
    e.sample(`${P}repository_copies_waiting`, c.waiting, l);
    e.sample(`${P}repository_copies_failed`, c.failed, l);
    e.sample(`${P}repository_copy_oldest_wait_seconds`, c.oldest_wait_seconds, l);
    e.sample(`${P}repository_wal_behind_files`, c.wal_behind, l);
  }

  e.family(`${P}health_check_status`, 'gauge', 'Status of each health_check() check: 1 for its current status, 0 for the others.');
  e.family(`${P}health_check_severity`, 'gauge', 'Status of each health_check() check as a number: 0 OK, 1 WARNING, 2 CRITICAL.');
  for (const h of snap.health ?? []) {
    for (const s of Object.keys(SEVERITY) as (keyof typeof SEVERITY)[]) {
      e.sample(`${P}health_check_status`, h.status === s ? 1 : 0, { check: h.check, status: s });
    }
    e.sample(`${P}health_check_severity`, SEVERITY[h.status], { check: h.check });
  }
  return e.text();
}

// ------------------------------------------------------------------ the monitor

export interface AgentMonitorOptions {
  databaseUrl: string;
  agentId: string;
  /** The agent's repository root: its file system's free space is reported. */
  repository: string;
  listen?: MetricsListen;
  storageIntervalMs?: number;
  log?: Logger;
}

/** Repository space reporting (always) and the /metrics endpoint (when listen.port is set). */
export class AgentMonitor {
  private readonly pool: pg.Pool;
  private readonly log: Logger;
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reporting: Promise<void> | undefined;
  private lastStorageError: string | undefined;

  constructor(private readonly opts: AgentMonitorOptions) {
    this.log = opts.log ?? stderrLogger;
    this.pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: 2,
      application_name: 'backup-mgmt agent metrics',
      options: PINNED_OPTIONS,
      statement_timeout: 30_000,
      connectionTimeoutMillis: 10_000,
    });
    this.pool.on('error', (e) => this.log('warn', `metrics database connection lost: ${e.message}`));
  }

  /** Where /metrics listens, once started with a port. */
  get address(): AddressInfo | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  async start(): Promise<void> {
    const listen = this.opts.listen;
    if (listen?.port !== undefined) {
      const server = createServer((req, res) => void this.handle(req, res));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listen.port, listen.host, () => {
          server.off('error', reject);
          resolve();
        });
      }).catch((e: unknown) => {
        throw new Error(`cannot serve metrics on ${listen.host}:${listen.port}: ${errorText(e)}`);
      });
      this.server = server;
      const a = this.address!;
      this.log('info', `metrics on http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`);
    }
    await this.reportStorage();
    this.timer = setInterval(() => this.reportStorage(), this.opts.storageIntervalMs ?? DEFAULT_STORAGE_INTERVAL_MS);
  }

  /** Reports the repository's free space now (unless a report is under way); never throws. */
  reportStorage(): Promise<void> {
    this.reporting ??= this.doReportStorage().finally(() => {
      this.reporting = undefined;
    });
    return this.reporting;
  }

  private async doReportStorage(): Promise<void> {
    try {
      const fs = await statfs(this.opts.repository, { bigint: true });
      const free = fs.bavail * fs.bsize;
      const total = fs.blocks * fs.bsize;
      await this.pool.query('SELECT backup_mgmt.agent_report_storage($1, $2, $3)', [this.opts.agentId, free.toString(), total.toString()]);
      this.lastStorageError = undefined;
    } catch (e) {
      // Once per distinct problem: a report every minute must not flood the log.
      const msg = errorText(e);
      if (msg !== this.lastStorageError) this.log('warn', `repository space report failed: ${msg}`);
      this.lastStorageError = msg;
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('backup-mgmt agent: metrics at /metrics\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n');
      return;
    }
    const started = process.hrtime.bigint();
    let snap: MetricsSnapshot | undefined;
    try {
      snap = await readSnapshot(this.pool);
    } catch (e) {
      // backup_mgmt_up 0 tells Prometheus; the log says why.
      this.log('warn', `metrics scrape failed: ${errorText(e)}`);
    }
    const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const body = await renderMetrics(snap, { agentId: this.opts.agentId, durationSeconds });
    res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.reporting;
    await this.pool.end().catch(() => {});
  }
}
