// The agent's pure parts: reading pg_basebackup's output, turning tool errors
// into catalog messages, connection strings into tool arguments, plans and
// configuration into validated values. No cluster needed.
import { describe, expect, it } from 'vitest';
import { LineSplitter, parseEndPoint, parseProgressLine, parseStartPoint } from '../../src/agent/basebackup-output.js';
import { baseBackupArgs } from '../../src/agent/basebackup.js';
import { parseBackupLabel } from '../../src/agent/backup-label.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { isLocalHost, parseConnectionString, toolConnection } from '../../src/agent/conninfo.js';
import { isConnectionError } from '../../src/agent/job-runner.js';
import { FullBackupPlan, parsePlan, VerifyPlan } from '../../src/agent/protocol.js';
import { isRetryable, toolReason } from '../../src/agent/tool-errors.js';
import { parseCommitTimes } from '../../src/agent/wal-commit-times.js';
import { BackupId } from '../../src/client/inputs.js';
import { isSettled } from '../../src/client/types.js';

const plan = (over: Record<string, unknown> = {}) =>
  parsePlan(
    FullBackupPlan,
    {
      kind: 'full',
      backup_hk: 'ab'.repeat(32),
      backup_bk: 'FULL_BACKUP_SYSTEM_20261122_010203_123456',
      label: 'backup_mgmt FULL_BACKUP_SYSTEM_20261122_010203_123456',
      repository_root: '/srv/repo',
      compression: { enabled: true, method: 'server-zstd', level: 3, workers: 2 },
      checkpoint: 'fast',
      manifest_checksums: 'SHA256',
      wal_method: 'fetch',
      verify: true,
      max_rate: null,
      ...over,
    },
    'full backup',
  );

describe('pg_basebackup output', () => {
  it('reads progress, start and end points, with \\r or \\n line ends split across chunks', () => {
    const s = new LineSplitter();
    const lines = [
      ...s.push('pg_basebackup: write-ahead log start point: 0/4000028 on timeline 1\n  257'),
      ...s.push('15/42952 kB (59%), 0/1 tablespace\r59348/59348 kB (100%), 1/1 tablespace\n'),
      ...s.push('pg_basebackup: write-ahead log end point: 0/4000100\n'),
    ];
    expect(lines).toHaveLength(4);
    expect(parseStartPoint(lines[0]!)).toEqual({ lsn: '0/4000028', timeline: 1 });
    expect(parseProgressLine(lines[1]!)).toEqual({ doneBytes: 25715 * 1024, totalBytes: 42952 * 1024 });
    expect(parseProgressLine(lines[2]!)).toEqual({ doneBytes: 59348 * 1024, totalBytes: 59348 * 1024 });
    expect(parseEndPoint(lines[3]!)).toEqual({ lsn: '0/4000100' });
    expect(parseProgressLine('pg_basebackup: checkpoint completed')).toBeUndefined();
  });

  it('builds the command line from the plan, password kept off it', () => {
    const { args, env } = baseBackupArgs(
      { plan: plan({ max_rate: '50M' }), stagingDir: '/srv/repo/1/staging/x', databaseUrl: 'postgresql://agent:s3cret@db.example:5433/app?sslmode=require' },
      'backup-mgmt agent',
    );
    expect(args.join(' ')).not.toContain('s3cret');
    expect(env).toEqual({ PGPASSWORD: 's3cret' });
    expect(args).toEqual(
      expect.arrayContaining(['-h', 'db.example', '-p', '5433', '-U', 'agent', '-Ft', '-X', 'fetch', '--checkpoint=fast', '--progress', '--verbose']),
    );
    expect(args).toContain('--compress=server-zstd:level=3,workers=2');
    expect(args).toContain('--manifest-checksums=SHA256');
    expect(args).toContain('--max-rate=50M');
    expect(args[args.indexOf('-d') + 1]).toBe("sslmode='require' application_name='backup-mgmt agent'");
  });

  it('without compression there is no --compress; the host --max-rate applies only when the plan has none', () => {
    const p = plan({ compression: { enabled: false, method: null, level: null, workers: null } });
    const { args } = baseBackupArgs({ plan: p, stagingDir: '/s', databaseUrl: 'postgresql://localhost/x', defaultMaxRate: '1M' }, 'a');
    expect(args.some((a) => a.startsWith('--compress'))).toBe(false);
    expect(args).toContain('--max-rate=1M');
  });
});

describe('tool errors', () => {
  it('keeps the explanatory lines, drops progress and narration and the tool prefix', () => {
    const stderr = [
      'pg_basebackup: initiating base backup, waiting for checkpoint to complete',
      '1234/5678 kB (21%), 0/1 tablespace',
      'pg_basebackup: error: connection to server at "127.0.0.1", port 5432 failed: FATAL:  must be superuser or replication role to start walsender',
      'pg_basebackup: removing contents of data directory "/x"',
    ].join('\n');
    expect(toolReason(stderr)).toBe(
      'connection to server at "127.0.0.1", port 5432 failed: FATAL: must be superuser or replication role to start walsender',
    );
  });

  it('retries lost connections only, never permission or configuration problems', () => {
    expect(isRetryable('could not receive data from WAL stream: server closed the connection unexpectedly')).toBe(true);
    expect(isRetryable('connection to server at "h", port 1 failed: Connection refused')).toBe(true);
    expect(isRetryable('FATAL: the database system is shutting down')).toBe(true);
    expect(isRetryable('connection to server failed: FATAL: no pg_hba.conf entry for replication connection from host "10.0.0.1"')).toBe(false);
    expect(isRetryable('FATAL: must be superuser or replication role to start walsender')).toBe(false);
    expect(isRetryable('could not create directory "/r": Permission denied')).toBe(false);
    expect(isRetryable('could not write to file "/r/x": No space left on device')).toBe(false);
    expect(isRetryable('something nobody expected')).toBe(false);
  });

  it('tells connection errors from SQL errors when reporting to the catalog', () => {
    expect(isConnectionError(Object.assign(new Error('Connection terminated unexpectedly'), {}))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('x'), { code: '57P01' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('bad result'), { code: '22023' }))).toBe(false);
    expect(isConnectionError(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }))).toBe(false);
  });
});

describe('commit times from pg_waldump', () => {
  it('takes the first and last COMMIT (and COMMIT_PREPARED), ignores aborts, keeps microseconds', () => {
    const out = [
      'rmgr: Transaction len (rec/tot):     34/    34, tx:        794, lsn: 0/0900CE50, prev 0/0900CE10, desc: COMMIT 2026-11-22 01:33:04.972260 UTC',
      'rmgr: Transaction len (rec/tot):     70/    70, tx:        796, lsn: 0/09027188, prev 0/09027148, desc: ABORT 2026-11-22 01:39:50.306894 UTC; rels: base/5/16762',
      'rmgr: Transaction len (rec/tot):     34/    34, tx:        793, lsn: 0/0900CD90, prev 0/0900CD50, desc: COMMIT 2026-11-22 01:33:04.966532 UTC',
      'rmgr: Transaction len (rec/tot):     50/    50, tx:          0, lsn: 0/0900D000, prev 0/0900CED0, desc: COMMIT_PREPARED 797: 2026-11-22 01:35:00.5 UTC',
    ].join('\n');
    expect(parseCommitTimes(out)).toEqual({ first: '2026-11-22 01:33:04.966532+00', last: '2026-11-22 01:35:00.5+00' });
    expect(parseCommitTimes('pg_waldump: error: could not find a valid record')).toEqual({ first: null, last: null });
  });
});

describe('connection strings', () => {
  it('parses URLs and key=value strings the way libpq does', () => {
    expect(parseConnectionString('postgresql://us%40er:p%20w@[::1]:5433/db%2F1?application_name=x')).toEqual({
      host: '::1',
      port: '5433',
      user: 'us@er',
      password: 'p w',
      dbname: 'db/1',
      application_name: 'x',
    });
    expect(parseConnectionString(`host=/run/pg port=5432 password='it\\'s' dbname=app`)).toEqual({
      host: '/run/pg',
      port: '5432',
      password: "it's",
      dbname: 'app',
    });
    expect(() => parseConnectionString('host=a port')).toThrow();
  });

  it('quotes values for -d and knows a local server', () => {
    const c = toolConnection(`host=/tmp user=me options='-c x=1'`, 'app');
    expect(c.args).toEqual(['-h', '/tmp', '-U', 'me', '-d', `options='-c x=1' application_name='app'`]);
    expect(c.env).toEqual({});
    expect(isLocalHost('postgresql://127.0.0.1:5432/x')).toBe(true);
    expect(isLocalHost('host=/var/run/postgresql')).toBe(true);
    expect(isLocalHost('postgresql://db.example/x')).toBe(false);
  });
});

describe('plans and configuration', () => {
  it('refuses plans that would write outside a clean absolute path', () => {
    expect(() => plan({ repository_root: 'relative/repo' })).toThrow(/repository_root/);
    expect(() => plan({ repository_root: '/srv/../etc' })).toThrow(/repository_root/);
    expect(() => plan({ backup_bk: '../x' })).toThrow(/backup_bk/);
    expect(() => plan({ wal_method: 'stream' })).toThrow(/wal_method/);
    expect(() => parsePlan(VerifyPlan, { kind: 'verify', backup_hk: 'ab', repository_path: '/r/./x' }, 'verify')).toThrow(/repository_path/);
  });

  it('reads flags over environment, derives the restore root, defaults the id to the host name', () => {
    const c = resolveAgentConfig({ repo: '/srv/repo' }, { DATABASE_URL: 'postgresql://h/db', BACKUP_MGMT_MAX_RATE: '10M' });
    expect(c).toMatchObject({ repo: '/srv/repo', restoreRoot: '/srv/restores', maxRate: '10M', walScanSeconds: 10 });
    expect(c.agentId.length).toBeGreaterThan(0);
    expect(() => resolveAgentConfig({}, { DATABASE_URL: 'postgresql://h/db' })).toThrow(/BACKUP_MGMT_REPO/);
    expect(() => resolveAgentConfig({ repo: '/r' }, {})).toThrow(/no database/);
    expect(() => resolveAgentConfig({ repo: '/r', agentId: 'a b' }, { DATABASE_URL: 'postgresql://h/db' })).toThrow(/agent id/);
    expect(() => resolveAgentConfig({ repo: '/r', maxRate: 'fast' }, { DATABASE_URL: 'postgresql://h/db' })).toThrow(/max rate/);
  });

  it('parses the backup_label the server writes', () => {
    const l = parseBackupLabel(
      'START WAL LOCATION: 0/4000028 (file 000000010000000000000004)\nCHECKPOINT LOCATION: 0/4000060\nBACKUP METHOD: streamed\n' +
        'BACKUP FROM: primary\nSTART TIME: 2026-11-22 01:16:01 UTC\nLABEL: test\nSTART TIMELINE: 1\n',
    );
    expect(l).toMatchObject({ startLsn: '0/4000028', startTimeline: 1, startTime: '2026-11-22T01:16:01.000Z', label: 'test' });
  });
});

describe('client inputs', () => {
  it('accepts hash keys and business keys, nothing else', () => {
    expect(BackupId.parse(`\\x${'AB'.repeat(32)}`)).toBe('ab'.repeat(32));
    expect(BackupId.parse('full_backup_system_20261122_010203_123456')).toBe('FULL_BACKUP_SYSTEM_20261122_010203_123456');
    expect(BackupId.safeParse("x'; DROP TABLE y; --").success).toBe(false);
    expect(BackupId.safeParse('ab'.repeat(31)).success).toBe(false);
  });

  it('is settled only when final and not waiting for a verification', () => {
    expect(isSettled({ backup_status: 'RUNNING', verification_status: 'PENDING' })).toBe(false);
    expect(isSettled({ backup_status: 'COMPLETED', verification_status: 'PENDING' })).toBe(false);
    expect(isSettled({ backup_status: 'COMPLETED', verification_status: 'VERIFIED' })).toBe(true);
    expect(isSettled({ backup_status: 'FAILED', verification_status: 'SKIPPED' })).toBe(true);
  });
});
