// The pure parts of recovery: the restore settings a copy gets, which log
// line explains a failed start, the RESTORE and incremental plan schemas,
// the client's target validation, and the CLI's usage errors (no database).
import { describe, expect, it } from 'vitest';
import { IncrementalBackupPlan, parsePlan, RestorePlan } from '../../src/agent/protocol.js';
import { preloads, recoverySettings } from '../../src/agent/restore-config.js';
import { fatalLine } from '../../src/agent/restored-server.js';
import { InitiateRecoveryOptions, RecoveryId, RecoveryTarget, TargetTime } from '../../src/client/inputs.js';
import { restoreCommand, spooledRestoreCommand } from '../../src/util/wal-commands.js';
import { sameArchives } from '../../src/agent/restore-job.js';
import { ensureBuilt, runCli } from '../e2e/support.js';

const config = (over: Partial<Parameters<typeof recoverySettings>[0]> = {}) => ({
  dataDir: '/srv/restores/RECOVERY_POINT_IN_TIME_20261122_010203_123456',
  port: 54321,
  socketDir: '/srv/restores/RECOVERY_POINT_IN_TIME_20261122_010203_123456/socket',
  restoreCommand: restoreCommand('/srv/repo', '7300000000000000001'),
  restoreSettings: { recovery_target_time: '2026-11-22 01:02:03.123456+00', recovery_target_inclusive: true, recovery_target_action: 'promote' },
  clusterName: 'restore RECOVERY_POINT_IN_TIME_20261122_010203_123456',
  pgCron: false,
  externalPidFile: '',
  pgMajor: 15,
  ...over,
});

describe('restore settings', () => {
  it('recover to the target, never archive, listen privately, keep the copy to itself', () => {
    const s = recoverySettings(config());
    expect(s).toMatchObject({
      recovery_target_time: '2026-11-22 01:02:03.123456+00',
      recovery_target_inclusive: true,
      archive_mode: 'off',
      port: 54321,
      listen_addresses: '127.0.0.1',
      unix_socket_permissions: '0700',
      hba_file: '/srv/restores/RECOVERY_POINT_IN_TIME_20261122_010203_123456/pg_hba.conf',
      synchronous_standby_names: '',
    });
    expect(s.restore_command).toMatch(/ wal-fetch %f %p --repo \/srv\/repo --system-identifier 7300000000000000001$/);
    expect(s.restore_command).toMatch(/^\/\S+node\S* \/\S+\/dist\/cli\/main\.js /);
    expect(s).not.toHaveProperty('external_pid_file');
    expect(s).not.toHaveProperty('cron.max_running_jobs');
    // The start-up flush of the copy is one syncfs (the agent flushed behind the extraction); before 14 there is no such setting.
    expect(s.recovery_init_sync_method).toBe('syncfs');
    expect(recoverySettings(config({ pgMajor: 13 }))).not.toHaveProperty('recovery_init_sync_method');
    // "promote" at a target becomes a pause that the agent ends with pg_ctl promote (no blocking end-of-recovery checkpoint).
    expect(s.recovery_target_action).toBe('pause');
    // A delayed standby's setting copied from the source must not delay the copy's replay.
    expect(s.recovery_min_apply_delay).toBe(0);
    const latest = recoverySettings(config({ restoreSettings: { recovery_target_timeline: 'current', recovery_target_action: 'promote' } }));
    expect(latest.recovery_target_action).toBe('promote');
  });

  it("pg_cron stays loaded but runs none of the source's jobs; a source pid file is not overwritten", () => {
    const s = recoverySettings(config({ pgCron: true, externalPidFile: '/var/run/postgresql/15-main.pid' }));
    expect(s).toMatchObject({ 'cron.launch_active_jobs': 'off', 'cron.max_running_jobs': 0, 'cron.host': config().socketDir });
    expect(s.external_pid_file).toBe(`${config().dataDir}/backup_mgmt_external.pid`);
    expect(preloads('pg_stat_statements, "pg_cron"', 'pg_cron')).toBe(true);
    expect(preloads('$libdir/pg_cron', 'pg_cron')).toBe(true);
    expect(preloads('pg_cronx', 'pg_cron')).toBe(false);
  });
});

describe('why a restored server stopped', () => {
  it('is the first FATAL about recovery, not the noise of connection attempts', () => {
    const log = [
      '2026-11-22 02:04:29.433 UTC [7308] FATAL:  the database system is starting up',
      '2026-11-22 02:04:30.242 UTC [7338] FATAL:  the database system is not yet accepting connections',
      '2026-11-22 02:04:31.362 UTC [7299] LOG:  redo done at 0/4020308',
      '2026-11-22 02:04:31.400 UTC [7299] FATAL:  recovery ended before configured recovery target was reached',
      '2026-11-22 02:04:31.401 UTC [7296] LOG:  startup process (PID 7299) exited with exit code 1',
    ].join('\n');
    expect(fatalLine(log)).toBe('FATAL: recovery ended before configured recovery target was reached');
    expect(fatalLine('LOG: all fine')).toBeUndefined();
  });
});

describe('plans', () => {
  const restore = {
    kind: 'restore',
    recovery_hk: 'ab'.repeat(32),
    recovery_bk: 'RECOVERY_POINT_IN_TIME_20261122_010203_123456',
    restore_directory: '/srv/restores/RECOVERY_POINT_IN_TIME_20261122_010203_123456',
    drill: false,
    keep_running: true,
    base: {
      backup_hk: 'cd'.repeat(32),
      backup_bk: 'FULL_BACKUP_SYSTEM_20261122_000000_000001',
      repository_root: '/srv/repo',
      repository_path: '/srv/repo/7300000000000000001/backups/FULL_BACKUP_SYSTEM_20261122_000000_000001',
      system_identifier: '7300000000000000001',
      timeline_id: 1,
      start_lsn: '0/5000028',
      stop_lsn: '0/6000100',
    },
    target: { kind: 'time', value: '2026-11-22 01:02:03.123456+00', time: '2026-11-22 01:02:03.123456+00' },
    restore_settings: { recovery_target_time: '2026-11-22 01:02:03.123456+00', recovery_target_action: 'promote' },
  };

  it('a RESTORE plan parses; only recovery_target* settings and safe paths may come from it', () => {
    expect(parsePlan(RestorePlan, restore, 'restore').validation.compare_table_counts).toBe(true);
    expect(() => parsePlan(RestorePlan, { ...restore, restore_settings: { archive_command: 'rm -rf /' } }, 'restore')).toThrow(/restore_settings/);
    expect(() => parsePlan(RestorePlan, { ...restore, restore_directory: '/srv/restores/../etc' }, 'restore')).toThrow(/restore_directory/);
    expect(() => parsePlan(RestorePlan, { ...restore, recovery_bk: '../x' }, 'restore')).toThrow(/recovery_bk/);
  });

  it('an incremental plan must be a WAL-range one', () => {
    const inc = {
      kind: 'incremental',
      method: 'WAL_ARCHIVE',
      backup_hk: 'ef'.repeat(32),
      backup_bk: 'INCREMENTAL_BACKUP_SYSTEM_20261122_010203_123456',
      parent_backup_hk: 'cd'.repeat(32),
      parent_backup_bk: 'FULL_BACKUP_SYSTEM_20261122_000000_000001',
      chain_full_backup_hk: 'cd'.repeat(32),
      chain_start_lsn: '0/5000028',
      range_start_lsn: '0/6000100',
      timeline_id: 1,
      system_identifier: '7300000000000000001',
      repository_root: '/srv/repo',
      wal_segment_size: 16777216,
    };
    expect(parsePlan(IncrementalBackupPlan, inc, 'incremental').verify).toBe(true);
    expect(() => parsePlan(IncrementalBackupPlan, { ...inc, method: 'PG_BASEBACKUP_INCREMENTAL' }, 'incremental')).toThrow(/method/);
  });
});

describe('client inputs', () => {
  it('targets: exactly one, in canonical form; times need a zone', () => {
    expect(RecoveryTarget.parse({ lsn: '0/5000abc' })).toEqual({ kind: 'lsn', value: '0/5000ABC' });
    expect(RecoveryTarget.parse({ xid: 1234n })).toEqual({ kind: 'xid', value: '1234' });
    expect(RecoveryTarget.parse({ immediate: true })).toEqual({ kind: 'immediate', value: null });
    expect(RecoveryTarget.parse({ time: new Date('2026-11-22T01:02:03.004Z') })).toEqual({ kind: 'time', value: '2026-11-22T01:02:03.004Z' });
    for (const bad of [{}, { lsn: '5000028' }, { xid: '2' }, { xid: 'abc' }, { name: 'has space' }, { latest: false }, { time: '2026-11-22 01:02:03' }, { lsn: '0/1', xid: '5' }]) {
      expect(RecoveryTarget.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(TargetTime.safeParse('2026-11-22T01:02:03.123456+05:30').success).toBe(true);
    expect(TargetTime.safeParse('2026-02-30T00:00:00Z').success).toBe(false);
    expect(InitiateRecoveryOptions.safeParse({ target: { latest: true }, restoreDirectory: 'relative' }).success).toBe(false);
    expect(RecoveryId.parse('recovery_point_in_time_20261122_010203_123456')).toBe('RECOVERY_POINT_IN_TIME_20261122_010203_123456');
    expect(RecoveryId.safeParse('FULL_BACKUP_SYSTEM_20261122_010203').success).toBe(false);
  });
});

describe('CLI usage errors (exit 2, one line, before any database)', () => {
  it('restore, recovery, drill, restore-point', async () => {
    await ensureBuilt();
    const env = { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' };
    for (const args of [
      ['restore'],
      ['restore', '--latest', '--target-lsn', '0/1'],
      ['restore', '--target-time', '2026-11-22 25:02:03'],
      ['restore', '--target-xid', '12x'],
      ['restore', '--latest', '--to', 'relative/dir'],
      ['restore', '--immediate', '--backup', 'nonsense'],
      ['recovery', 'show', 'FULL_BACKUP_SYSTEM_20261122_010203'],
      ['recovery', 'reject', 'RECOVERY_POINT_IN_TIME_20261122_010203_123456'],
      ['restore-point', 'no spaces allowed'],
      ['drill', '--backup', '../etc'],
      ['backup', 'incremental', '--base', 'x'],
    ]) {
      const r = await runCli(args, { env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    const help = await runCli(['restore', '--help']);
    expect(help.stdout).toMatch(/Exit codes: 0 requested/);
  });
});

describe('restoring fast without trusting less', () => {
  it('skips the manifest re-check only when every restored archive has its recorded SHA-256', () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const stored = [{ name: 'base.tar.zst', sha256: a }, { name: 'backup_manifest', sha256: b }];
    expect(sameArchives(stored, { 'base.tar.zst': a })).toBe(true);
    expect(sameArchives(stored, { 'base.tar.zst': b })).toBe(false);
    expect(sameArchives(stored, { 'base.tar.zst': a, 'pg_wal.tar.zst': a })).toBe(false);
    expect(sameArchives(null, { 'base.tar.zst': a })).toBe(false);
    expect(sameArchives(stored, {})).toBe(false);
  });

  it('moves spooled WAL into place, answers missing history files in the shell, else runs wal-fetch', async () => {
    const { spawn, spawnSync } = await import('node:child_process');
    const { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const root = mkdtempSync(join(tmpdir(), 'bm-spool-'));
    const spool = join(root, 'spool dir');
    const history = join(root, 'repo', 'history');
    mkdirSync(spool);
    mkdirSync(history, { recursive: true });
    mkdirSync(join(root, 'pg_wal'));
    writeFileSync(join(spool, '000000010000000000000003'), 'segment 3');
    writeFileSync(join(history, `00000002.history-${'c'.repeat(64)}.zst`), 'x');
    const cmd = spooledRestoreCommand(spool, history, join(root, 'repo'), '7000000000000000001');
    const run = (f: string) =>
      spawnSync('sh', ['-c', cmd.replace(/%f/g, f).replace(/%p/g, 'pg_wal/RECOVERYXLOG')], { cwd: root, encoding: 'utf8' });
    // Spooled: moved into place by the shell alone.
    expect(run('000000010000000000000003').status).toBe(0);
    expect(readFileSync(join(root, 'pg_wal', 'RECOVERYXLOG'), 'utf8')).toBe('segment 3');
    expect(existsSync(join(spool, '000000010000000000000003'))).toBe(false);
    // A history file the repository lacks: "not found" (1) without starting node.
    const missing = run('00000003.history');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('');
    // One it has, and a segment not spooled: wal-fetch decides (here: no such system in the repository).
    expect(run('00000002.history').stderr).toMatch(/wal-fetch/);
    expect(run('000000010000000000000004').stderr).toMatch(/wal-fetch/);
    // A segment the read-ahead is still writing is waited for, then moved: no wal-fetch.
    writeFileSync(join(spool, '.tmp-000000010000000000000005'), 'half');
    const finish = setTimeout(() => {
      writeFileSync(join(spool, '000000010000000000000005'), 'segment 5');
      rmSync(join(spool, '.tmp-000000010000000000000005'));
    }, 150);
    const waited = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn('sh', ['-c', cmd.replace(/%f/g, '000000010000000000000005').replace(/%p/g, 'pg_wal/RECOVERYXLOG')], { cwd: root });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('exit', (status) => resolve({ status, stderr }));
    });
    clearTimeout(finish);
    expect(waited).toEqual({ status: 0, stderr: '' });
    expect(readFileSync(join(root, 'pg_wal', 'RECOVERYXLOG'), 'utf8')).toBe('segment 5');
    // One that never gets finished is waited for about two seconds only, then wal-fetch decides.
    writeFileSync(join(spool, '.tmp-000000010000000000000006'), 'stuck');
    const t0 = Date.now();
    expect(run('000000010000000000000006').stderr).toMatch(/wal-fetch/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    rmSync(root, { recursive: true, force: true });
  });
});
