// What the sections share: the options, the data-set clusters (prepared on
// demand) and facts one section learns that another can use.
import type { BenchOptions } from './args.js';
import type { BenchCluster } from './env.js';
import type { PgBackRest } from './pgbackrest.js';
import type { DatasetInfo } from './report.js';

export interface DataCluster {
  info: DatasetInfo;
  c: BenchCluster;
  /** Absent when pgBackRest is unavailable (ctx.pgbrUnavailable says why). */
  pgbr?: PgBackRest;
  /** What `backup-mgmt setup --apply` configured: the real wal-push. */
  walPushCommand: string;
  /** The archive_command of the backup and restore sections: wal-push, then pgbackrest archive-push. */
  baseArchiveCommand: string;
}

export interface BackupFacts {
  /** Median wall seconds of the agent's backup without verification. */
  agentSeconds: number;
  backupBytes: number;
  storedBytes: number;
}

export interface BenchContext {
  opts: BenchOptions;
  pgbrUnavailable?: string;
  /** Prepares (once) and returns the cluster of a data set. */
  dataset(name: 'pgbench' | 'mix'): Promise<DataCluster>;
  backupFacts: Map<string, BackupFacts>;
  /** The data sets prepared so far, in order. */
  prepared: DataCluster[];
}
