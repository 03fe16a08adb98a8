// Keeps the repository's metadata files in step with the catalog: after a
// job changed a backup, for restore points on every WAL scan, and for
// everything when the agent starts (which repairs a crash between a catalog
// commit and its file). A file is rewritten only when the catalog's version
// of the backup moved, so a quiet repository is not written to.
import { isAbsolute, relative, sep } from 'node:path';
import type pg from 'pg';
import { BackupMetadata, openRepository, REPOSITORY_FORMAT, RestorePointMetadata, type RepositoryMetadataStore } from '../storage/repo-metadata.js';
import { errorText, type Logger } from './log.js';

interface CatalogBackup {
  repository_path: string;
  [k: string]: unknown;
}

interface CatalogMetadata {
  backups: CatalogBackup[];
  restore_points: RestorePointMetadata[];
  wal_segment_size: number;
}

function relativeInside(root: string, p: string): string | undefined {
  if (root.includes('://')) {
    // An off-host repository (s3://bucket/prefix): its backups' paths are URLs below it.
    const rel = p.startsWith(`${root}/`) ? p.slice(root.length + 1) : '';
    return rel === '' || rel.split('/').includes('..') ? undefined : rel;
  }
  const rel = relative(root, p);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel;
}

/** The parts of a metadata file that say something; written_at and tool versions do not. */
function substance(m: BackupMetadata): string {
  const { written_at: _w, tool_versions: _t, ...rest } = m;
  return JSON.stringify(rest);
}

export class RepositoryMirror {
  private readonly store: RepositoryMetadataStore;
  /** Restore points known to be written, per store (the local one and the off-host copy). */
  private readonly knownPoints = new WeakMap<RepositoryMetadataStore, Set<string>>();
  private running: Promise<number> = Promise.resolve(0);

  constructor(
    private readonly pool: pg.Pool,
    private readonly repositoryRoot: string,
    private readonly systemIdentifier: string,
    private readonly tools: Record<string, string | null>,
    private readonly log: Logger,
  ) {
    this.store = openRepository(repositoryRoot);
  }

  /**
   * Mirror one backup (its key), every backup (null), or only restore points
   * (undefined). Runs one at a time; never throws (a failure is logged and
   * repaired by the next full mirror, at the latest when the agent starts).
   */
  mirror(backupBk: string | null | undefined): Promise<number> {
    return this.mirrorTo(this.store, backupBk);
  }

  /**
   * The same into another repository's metadata (the off-host copy, which the
   * replicator asks for once a backup's objects are there). Never throws.
   */
  mirrorTo(store: RepositoryMetadataStore, backupBk: string | null | undefined, opts: { onlyExisting?: boolean } = {}): Promise<number> {
    const next = this.running.then(() => this.run(store, backupBk, opts.onlyExisting ?? false)).catch((e) => {
      this.log('warn', `repository metadata not written to ${store.location} (repaired later): ${errorText(e)}`);
      return 0;
    });
    this.running = next;
    return next;
  }

  /**
   * The backups whose home is `store` itself (storage type S3: their catalog
   * root is the store's location): one (its key), every one (null), or none
   * but restore points (undefined). Never throws.
   */
  mirrorHome(store: RepositoryMetadataStore, backupBk: string | null | undefined): Promise<number> {
    const root = store.location.replace(/\/+$/, '');
    const next = this.running.then(() => this.run(store, backupBk, false, root)).catch((e) => {
      this.log('warn', `repository metadata not written to ${store.location} (repaired later): ${errorText(e)}`);
      return 0;
    });
    this.running = next;
    return next;
  }

  /** onlyExisting: refresh backups the store describes already, add none (the off-host copy adds a backup once its objects are there). */
  private async run(store: RepositoryMetadataStore, backupBk: string | null | undefined, onlyExisting: boolean, root = this.repositoryRoot): Promise<number> {
    await store.ensureFormat();
    const r = await this.pool.query<{ m: CatalogMetadata }>('SELECT backup_mgmt.repository_metadata($1, $2, $3, $4) AS m', [
      root,
      this.systemIdentifier,
      backupBk ?? null,
      backupBk !== undefined,
    ]);
    const m = r.rows[0]!.m;
    let written = 0;
    for (const b of m.backups) {
      const path = relativeInside(root, b.repository_path);
      if (path === undefined) continue;
      const { repository_path: _abs, ...rest } = b;
      const meta = BackupMetadata.parse({
        format: REPOSITORY_FORMAT,
        ...rest,
        path,
        wal_segment_size: Number(m.wal_segment_size),
        tool_versions: this.tools,
        written_at: new Date().toISOString(),
      });
      const existing = await store.readBackup(meta.system_identifier, meta.backup_bk).catch(() => undefined);
      if ((existing && substance(existing) === substance(meta)) || (!existing && onlyExisting)) continue;
      await store.writeBackup(meta);
      written++;
    }
    let known = this.knownPoints.get(store);
    if (!known) this.knownPoints.set(store, (known = new Set()));
    for (const p of m.restore_points) {
      if (known.has(p.name)) continue;
      const point = RestorePointMetadata.parse(p);
      const present = (await store.listRestorePoints(this.systemIdentifier)).some((x) => x.name === p.name);
      if (!present) {
        await store.writeRestorePoint(point);
        written++;
      }
      known.add(p.name);
    }
    return written;
  }
}
