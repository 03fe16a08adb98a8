// pgBackRest as the reference: Debian's package, one stanza per cluster with
// its configuration, repository, logs and locks in the cluster's directory,
// always run as the postgres OS user.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BenchCluster, log, mkdirForPostgres, postgresIds, timed, type TimedRun } from './env.js';

export const PGBACKREST = '/usr/bin/pgbackrest';

let availability: string | undefined | null = null;

/** undefined when pgBackRest is usable; otherwise why not. Installs Debian's package when root and missing. */
export function pgbackrestUnavailable(): string | undefined {
  if (availability !== null) return availability;
  if (!existsSync(PGBACKREST)) {
    if (postgresIds()) {
      log('pgbackrest is missing: apt-get install -y pgbackrest');
      let r = spawnSync('apt-get', ['install', '-y', '-qq', 'pgbackrest'], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      if (r.status !== 0) {
        spawnSync('apt-get', ['update', '-qq'], { encoding: 'utf8' });
        r = spawnSync('apt-get', ['install', '-y', '-qq', 'pgbackrest'], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      }
      if (r.status !== 0) availability = `pgbackrest could not be installed: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`;
    } else {
      availability = 'pgbackrest is not installed (as root: apt-get install -y pgbackrest)';
    }
  }
  if (availability === null) {
    const v = spawnSync(PGBACKREST, ['version'], { encoding: 'utf8' });
    availability = v.status === 0 ? undefined : `pgbackrest version failed: ${v.stderr.trim()}`;
  }
  return availability;
}

export function pgbackrestVersion(): string {
  const v = spawnSync(PGBACKREST, ['version'], { encoding: 'utf8' });
  return v.status === 0 ? v.stdout.trim() : 'unavailable';
}

export class PgBackRest {
  readonly dir: string;
  readonly conf: string;
  readonly repoPath: string;

  constructor(
    readonly cluster: BenchCluster,
    readonly stanza: string,
    /** A second instance per cluster (e.g. a scratch repository) needs its own directory name. */
    name = 'pgbackrest',
  ) {
    this.dir = join(cluster.pg.baseDir, name);
    this.conf = join(this.dir, 'pgbackrest.conf');
    this.repoPath = join(this.dir, 'repo');
  }

  /** Configuration as the issue states it (zst level 3, process-max 2), then stanza-create. */
  async init(): Promise<void> {
    await mkdirForPostgres(this.dir);
    for (const d of ['repo', 'log', 'lock', 'spool']) await mkdirForPostgres(join(this.dir, d));
    const c = this.cluster.pg;
    const text = [
      '[global]',
      `repo1-path=${this.repoPath}`,
      'repo1-retention-full=9999',
      'compress-type=zst',
      'compress-level=3',
      'process-max=2',
      'start-fast=y',
      `log-path=${join(this.dir, 'log')}`,
      `lock-path=${join(this.dir, 'lock')}`,
      `spool-path=${join(this.dir, 'spool')}`,
      'log-level-console=warn',
      'log-level-file=info',
      '',
      `[${this.stanza}]`,
      `pg1-path=${c.dataDir}`,
      `pg1-port=${c.port}`,
      `pg1-socket-path=${c.socketDir}`,
      'pg1-user=postgres',
      '',
    ].join('\n');
    await writeFile(this.conf, text, { mode: 0o644 });
    await this.run(['stanza-create']);
  }

  private base(): string[] {
    return [`--config=${this.conf}`, `--stanza=${this.stanza}`];
  }

  run(args: string[], timeoutMs = 3_600_000): Promise<TimedRun> {
    return timed(PGBACKREST, [...this.base(), ...args], { asPostgres: true, timeoutMs });
  }

  /** archive_command pushing %p into this stanza's repository. */
  archivePushCommand(): string {
    return `${PGBACKREST} --config=${this.conf} --stanza=${this.stanza} archive-push %p`;
  }

  /**
   * Full backup. archive-check is off: the reference is the backup itself,
   * not the archiver (whose command in this benchmark also runs wal-push);
   * the WAL a restore needs is archived by archive_command either way.
   */
  backup(): Promise<TimedRun> {
    return this.run(['--type=full', '--no-archive-check', 'backup']);
  }

  /** Restore into an empty directory, recovering to a time, then promote. */
  async restore(targetDir: string, targetTime: string): Promise<TimedRun> {
    return this.run([`--pg1-path=${targetDir}`, '--type=time', `--target=${targetTime}`, '--target-action=promote', 'restore']);
  }

  /** Settings a restored copy needs to run beside the source. */
  async overrideRestoredSettings(dataDir: string, port: number, socketDir: string): Promise<void> {
    await appendFile(
      join(dataDir, 'postgresql.auto.conf'),
      [
        '',
        '# added by the benchmark: run beside the source, never archive into its repositories',
        `port = ${port}`,
        `unix_socket_directories = '${socketDir}'`,
        "listen_addresses = '127.0.0.1'",
        'archive_mode = off',
        '',
      ].join('\n'),
    );
  }
}
