// The replicator's calls into backup_mgmt (sql/65-copies), one method per function.
import type pg from 'pg';

export interface RepositoryReport {
  name: 'local' | 's3';
  storage_type: 'LOCAL' | 'S3';
  location: string;
  encryption: { format: 'age-v1'; fingerprints: readonly string[] } | null;
}

export interface StoredFileEntry {
  name?: unknown;
  bytes?: unknown;
  sha256?: unknown;
}

export interface CopyClaim {
  backup_bk: string;
  backup_type: string;
  system_identifier: string | null;
  repository_path: string;
  stored_files: StoredFileEntry[];
  attempt: number;
}

export interface CopyExpiry {
  backup_bk: string;
  backup_type: string;
  system_identifier: string | null;
  repository_path: string;
  stored_files: StoredFileEntry[];
  reason: string;
}

export type CopyRepository = 'local' | 's3';

export class CopySql {
  constructor(
    private readonly pool: pg.Pool,
    private readonly agentId: string,
  ) {}

  async reportRepositories(repos: readonly RepositoryReport[]): Promise<number> {
    const r = await this.pool.query<{ n: number }>('SELECT backup_mgmt.agent_report_repositories($1, $2::jsonb) AS n', [this.agentId, JSON.stringify(repos)]);
    return r.rows[0]!.n;
  }

  async claim(repository: CopyRepository): Promise<CopyClaim | undefined> {
    const r = await this.pool.query<CopyClaim>('SELECT * FROM backup_mgmt.copy_claim($1, $2)', [this.agentId, repository]);
    return r.rows[0];
  }

  async report(repository: CopyRepository, backupBk: string, status: 'COPIED' | 'FAILED' | 'EXPIRED', result: object): Promise<void> {
    await this.pool.query('SELECT backup_mgmt.copy_report($1, $2, $3, $4, $5::jsonb)', [this.agentId, repository, backupBk, status, JSON.stringify(result)]);
  }

  async expirePlan(repository: CopyRepository): Promise<CopyExpiry[]> {
    return (await this.pool.query<CopyExpiry>('SELECT * FROM backup_mgmt.copy_expire_plan($1, $2)', [this.agentId, repository])).rows;
  }

  /** Of `fileNames` (off-host only), those retention purged. */
  async walPurged(systemIdentifier: string, fileNames: readonly string[]): Promise<string[]> {
    const r = await this.pool.query<{ file_name: string }>('SELECT file_name FROM backup_mgmt.copy_wal_purge_plan($1, $2, $3::text[])', [
      this.agentId,
      systemIdentifier,
      fileNames,
    ]);
    return r.rows.map((x) => x.file_name);
  }

  async reportWalBehind(repository: CopyRepository, behind: number): Promise<void> {
    await this.pool.query('SELECT backup_mgmt.agent_report_wal_copies($1, $2, $3)', [this.agentId, repository, behind]);
  }
}
