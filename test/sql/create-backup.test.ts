// create_full_backup(): the request side of a full backup, against a real
// cluster. No agent runs here; where one is needed the test registers one.
import { describe, expect, it } from 'vitest';
import { REPO, type BackupRow, type Job, sqlError, sqlState, usePack } from './helpers.js';
import { seedQuery } from '../harness/seed-queries.js';

const pack = usePack();

describe('create_full_backup', () => {
  it('queues a PENDING backup with its job and plan, and notifies the agents', async () => {
    const db = await pack.freshDb();
    await db.registerAgent('agent-1', `${REPO}/`, { cpu_count: 3 });
    const listener = await db.connect();
    const notes: { channel: string; payload?: string }[] = [];
    listener.on('notification', (n) => notes.push({ channel: n.channel, payload: n.payload }));
    await listener.query('LISTEN backup_mgmt_jobs');

    const row = await db.createFullBackup();
    expect(Object.keys(row)).toEqual(['backup_id', 'backup_status', 'backup_size_bytes', 'duration_seconds', 'verification_status', 'error_message']);
    expect(row).toMatchObject({ backup_status: 'PENDING', verification_status: 'PENDING', backup_size_bytes: null, error_message: null });

    const hub = await db.one('SELECT * FROM backup_mgmt.backup_execution_h WHERE backup_hk = $1', [row.backup_id]);
    expect(hub.backup_bk).toMatch(/^FULL_BACKUP_SYSTEM_\d{8}_\d{6}_\d{6}$/);
    expect(hub.tenant_hk).toBeNull();
    expect(hub.record_source).toBe('backup_mgmt.create_full_backup');
    const [hk] = await db.q('SELECT backup_mgmt.hash_key($1) AS hk', [hub.backup_bk]);
    expect(hk!.hk).toEqual(row.backup_id);

    const sat = await db.current(row.backup_id);
    expect(sat).toMatchObject({
      backup_type: 'FULL',
      backup_scope: 'SYSTEM',
      backup_method: 'PG_BASEBACKUP',
      backup_status: 'PENDING',
      backup_location: REPO,
      storage_type: 'LOCAL',
      compression_algorithm: 'zstd',
      verification_status: 'PENDING',
      initiated_by: 'postgres',
      changed_by: 'postgres',
      retry_count: 0,
      max_retries: 2,
      record_source: 'backup_mgmt.create_full_backup',
    });
    expect(sat.backup_start_time).toEqual(sat.requested_at);
    const [exp] = await db.q(`SELECT (now() AT TIME ZONE 'UTC' + interval '7 years')::date = $1::date AS ok`, [sat.expiration_date]);
    expect(exp!.ok).toBe(true);

    const job = await db.jobFor(row.backup_id);
    expect(job).toMatchObject({ job_type: 'BACKUP', status: 'QUEUED', attempts: 0, max_attempts: 3, locked_by: null });
    expect(job.plan).toEqual({
      kind: 'full',
      backup_hk: row.backup_id.toString('hex'),
      backup_bk: hub.backup_bk,
      label: `backup_mgmt ${hub.backup_bk}`,
      repository_root: REPO,
      compression: { enabled: true, method: 'server-zstd', level: 3, workers: 3 },
      checkpoint: 'fast',
      manifest_checksums: 'CRC32C',
      wal_method: 'fetch',
      verify: true,
      max_rate: null,
    });

    for (let i = 0; i < 50 && notes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(notes).toEqual([{ channel: 'backup_mgmt_jobs', payload: String(job.job_id) }]);
  });

  it('carries the options and settings into the plan', async () => {
    const db = await pack.freshDb();
    await db.q(`SELECT backup_mgmt.set_setting('repository.roots', '/srv/a, /srv/b/')`);
    await db.q(`SELECT backup_mgmt.set_setting('backup.compression_level', '7')`);
    await db.q(`SELECT backup_mgmt.set_setting('backup.max_rate', '50M')`);
    await db.q(`SELECT backup_mgmt.set_setting('job.max_attempts', '5')`);
    await db.q(`SELECT backup_mgmt.set_setting('backup.retention_period', '30 days')`);

    const plain = await db.createFullBackup({ location: '/srv/b//nightly/./full/', compress: false, verify: false });
    expect(plain).toMatchObject({ backup_status: 'PENDING', verification_status: 'SKIPPED' });
    const job = await db.jobFor(plain.backup_id);
    expect(job.max_attempts).toBe(5);
    // A location names the repository it lies in; the sub-directory is a label.
    expect(job.plan).toMatchObject({
      repository_root: '/srv/b',
      compression: { enabled: false, method: null, level: null, workers: null },
      verify: false,
      max_rate: '50M',
    });
    const sat = await db.current(plain.backup_id);
    expect(sat).toMatchObject({ compression_algorithm: null, backup_location: '/srv/b', max_retries: 4 });
    expect(sat.additional_metadata).toMatchObject({ location: '/srv/b/nightly/full' });
    expect(sat.retention_period).toMatchObject({ days: 30 });

    // No live agent: one zstd worker.
    const zstd = await db.createFullBackup({ location: '/srv/a' });
    expect((await db.jobFor(zstd.backup_id)).plan.compression).toEqual({ enabled: true, method: 'server-zstd', level: 7, workers: 1 });
  });

  it('uses repository.root, then the newest live agent, for a NULL location', async () => {
    const db = await pack.freshDb();
    await db.registerAgent('old-agent', '/srv/old');
    await db.q(`UPDATE backup_mgmt.agent SET started_at = now() - interval '1 hour' WHERE agent_id = 'old-agent'`);
    await db.registerAgent('new-agent', '/srv/new');
    const a = await db.createFullBackup();
    expect((await db.jobFor(a.backup_id)).plan.repository_root).toBe('/srv/new');

    // A stopped agent is not live: the other one is.
    await db.q(`SELECT backup_mgmt.agent_stopped('new-agent')`);
    await db.q(`UPDATE backup_mgmt.agent SET heartbeat_at = now() - interval '1 day' WHERE agent_id = 'new-agent'`);
    const b = await db.createFullBackup();
    expect((await db.jobFor(b.backup_id)).plan.repository_root).toBe('/srv/old');

    // No live agent at all: the one seen last still names the target.
    await db.q(`UPDATE backup_mgmt.agent SET heartbeat_at = now() - interval '2 days' WHERE agent_id = 'old-agent'`);
    const c = await db.createFullBackup();
    expect((await db.jobFor(c.backup_id)).plan.repository_root).toBe('/srv/new');
    // ... where the first request still waits: coalesced onto it.
    expect(c.backup_id).toEqual(a.backup_id);

    await db.q(`SELECT backup_mgmt.set_setting('repository.root', '/srv/configured/')`);
    const d = await db.createFullBackup();
    expect((await db.jobFor(d.backup_id)).plan.repository_root).toBe('/srv/configured');
    expect(new Set([a, b, d].map((r) => r.backup_id.toString('hex'))).size).toBe(3);
  });

  it('refuses a tenant with 0A000 and writes nothing', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const before = await db.counts();
    const err = await sqlError(db.q(`SELECT * FROM backup_mgmt.create_full_backup('\\x0102'::bytea)`));
    expect(err.code).toBe('0A000');
    expect(err.message).toMatch(/cannot be scoped to a tenant/);
    expect(err.hint).toMatch(/p_tenant_hk => NULL/);
    expect(await db.counts()).toEqual(before);
  });

  it('refuses bad locations with 22023 and writes nothing', async () => {
    const db = await pack.freshDb();
    await db.registerAgent('agent-1', REPO);
    await db.q(`SELECT backup_mgmt.set_setting('repository.roots', '/backup,/mnt/bk')`);
    const before = await db.counts();
    const bad = [
      '../etc',
      `${REPO}/../../etc`,
      '/backup/x/../../etc/passwd',
      'relative/dir',
      '',
      '/etc/postgresql',
      '/backupx',
      '/mnt/bk2/x',
      '/backup/a\nb',
      '/backup/tab\there',
      '/backup/esc\u001b[31m',
      `/backup/${'x'.repeat(1100)}`,
    ];
    for (const location of bad) {
      const err = await sqlError(db.q('SELECT * FROM backup_mgmt.create_full_backup(NULL, $1)', [location]));
      expect(err.code, JSON.stringify(location)).toBe('22023');
    }
    const outside = await sqlError(db.q(`SELECT * FROM backup_mgmt.create_full_backup(NULL, '/etc/postgresql')`));
    expect(outside.detail).toBe(`Allowed roots: /backup, /mnt/bk, ${REPO}.`);
    expect(outside.hint).toMatch(/set_setting\('repository\.roots'/);
    expect(await db.counts()).toEqual(before);

    // Inside a root is fine, the root itself too.
    for (const location of ['/backup', '/backup/full/', '/mnt/bk/a/b', `${REPO}/other`]) {
      const row = await db.createFullBackup({ location, verify: location.length % 2 === 0 });
      expect(row.backup_status).toBe('PENDING');
    }
  });

  it('refuses other storage types and NULL arguments, and needs a repository', async () => {
    const db = await pack.freshDb();
    const before = await db.counts();
    const none = await sqlError(db.q('SELECT * FROM backup_mgmt.create_full_backup()'));
    expect(none.code).toBe('55000');
    expect(none.hint).toMatch(/start `backup-mgmt agent` or set repository\.root/);

    await db.registerAgent();
    const afterAgent = await db.counts();
    // S3 without an agent reporting an off-host repository: test/sql/storage-s3.test.ts.
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.create_full_backup(NULL, NULL, 'S3')`))).toBe('55000');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.create_full_backup(NULL, NULL, 'azure')`))).toBe('0A000');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.create_full_backup(NULL, NULL, 'TAPE')`))).toBe('22023');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.create_full_backup(NULL, NULL, NULL)`))).toBe('22004');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.create_full_backup(NULL, NULL, 'LOCAL', NULL)`))).toBe('22004');
    expect(await sqlState(db.q(`SELECT * FROM backup_mgmt.create_full_backup(NULL, NULL, 'LOCAL', true, NULL)`))).toBe('22004');
    expect(await db.counts()).toEqual(afterAgent);
    expect(afterAgent.hubs).toBe(before.hubs);
    // 'local' is LOCAL.
    expect((await db.one<BackupRow>(`SELECT * FROM backup_mgmt.create_full_backup(NULL, NULL, ' local ')`)).backup_status).toBe('PENDING');
  });

  it('runs the seed 001 Step 4.1 statements unchanged', async () => {
    const db = await pack.freshDb();
    await db.q(`SELECT backup_mgmt.set_setting('repository.roots', '/backup')`);
    const [created] = await db.q(`
-- Test full backup creation
SELECT * FROM backup_mgmt.create_full_backup(
    NULL::BYTEA,  -- system-wide backup
    '/backup/full/',
    'LOCAL',
    true,  -- compression enabled
    true   -- verify backup
);`);
    expect(created).toMatchObject({ backup_status: 'PENDING', verification_status: 'PENDING' });
    const status = await db.q(seedQuery('Step 4.1: Check backup status'));
    expect(status).toHaveLength(1);
    expect(status[0]).toMatchObject({ backup_status: 'PENDING', backup_size_bytes: null, verification_status: 'PENDING' });
    // '/backup/full/' names the repository /backup (WAL and backups together); 'full' is a label.
    expect((await db.jobFor(created!.backup_id)).plan.repository_root).toBe('/backup');
    expect((await db.current(created!.backup_id)).additional_metadata).toMatchObject({ location: '/backup/full' });
    // The seed's backup script calls the shortest form; with repository.root
    // naming the same repository it coalesces onto the queued request.
    await db.q(`SELECT backup_mgmt.set_setting('repository.root', '/backup')`);
    const [short] = await db.q<{ create_full_backup: string }>('SELECT backup_mgmt.create_full_backup();');
    expect(short!.create_full_backup).toContain(created!.backup_id.toString('hex'));
    expect(short!.create_full_backup).toContain(',PENDING,,,PENDING,)');
  });
});

describe('create_full_backup under concurrency', () => {
  async function concurrentCalls(db: Awaited<ReturnType<typeof pack.freshDb>>, n: number): Promise<BackupRow[]> {
    const clients = await Promise.all(Array.from({ length: n }, () => db.connect()));
    // All connected first, then all calls at once.
    const results = await Promise.all(clients.map((c) => c.query<BackupRow>('SELECT * FROM backup_mgmt.create_full_backup()')));
    return results.map((r) => {
      expect(r.rows).toHaveLength(1);
      return r.rows[0]!;
    });
  }

  it('20 concurrent calls with nothing queued coalesce onto one PENDING backup', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const rows = await concurrentCalls(db, 20);
    const ids = new Set(rows.map((r) => r.backup_id.toString('hex')));
    expect(ids.size).toBe(1);
    expect(rows.every((r) => r.backup_status === 'PENDING')).toBe(true);
    const counts = await db.counts();
    expect(counts).toMatchObject({ hubs: 1, execution_versions: 1, jobs: 1 });
  });

  it('20 concurrent calls while one runs queue exactly one more: 1 running + 1 pending', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const first = await db.createFullBackup();
    const job = (await db.claim()) as Job;
    expect(job.subject_hk).toEqual(first.backup_id);

    const rows = await concurrentCalls(db, 20);
    const ids = new Set(rows.map((r) => r.backup_id.toString('hex')));
    expect(ids.size).toBe(1);
    expect(ids.has(first.backup_id.toString('hex'))).toBe(false);
    expect(rows.every((r) => r.backup_status === 'PENDING')).toBe(true);

    const states = await db.q<{ backup_status: string; n: string }>(
      'SELECT backup_status, count(*) AS n FROM backup_mgmt.backup_execution_current GROUP BY backup_status ORDER BY 1',
    );
    expect(states).toEqual([
      { backup_status: 'PENDING', n: '1' },
      { backup_status: 'RUNNING', n: '1' },
    ]);
    expect((await db.counts()).jobs).toBe(2);
    // The queued one cannot start while the first runs.
    expect(await db.claim('agent-1')).toBeUndefined();
  });

  it('does not coalesce requests with different options', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const a = await db.createFullBackup();
    const b = await db.createFullBackup({ verify: false });
    const c = await db.createFullBackup({ compress: false });
    const a2 = await db.createFullBackup();
    expect(new Set([a, b, c].map((r) => r.backup_id.toString('hex'))).size).toBe(3);
    expect(a2.backup_id).toEqual(a.backup_id);
  });

  it('refuses to wait for the request lock outside READ COMMITTED (40001)', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    const holder = await db.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM backup_mgmt.create_full_backup()');
    const other = await db.connect();
    await other.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    expect(await sqlState(other.query('SELECT * FROM backup_mgmt.create_full_backup()'))).toBe('40001');
    await other.query('ROLLBACK');
    await holder.query('COMMIT');
  });
});
