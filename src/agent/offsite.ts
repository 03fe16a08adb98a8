// The agent's off-host repository (BACKUP_MGMT_REPO_S3): read from its
// environment once, reported to the catalog at registration (location and
// key fingerprints, never credentials), opened when a job first needs it.
import { StorageError } from '../storage/backends/types.js';
import { offsiteConfig, openOffsite, type OffsiteConfig, type SealedStore } from '../storage/offsite/index.js';
import { JobFailure } from './job-context.js';

let config: OffsiteConfig | null | undefined;
let store: Promise<SealedStore> | undefined;

/** The configured off-host repository, or undefined; a misconfiguration throws (one line). */
export function agentOffsite(env: NodeJS.ProcessEnv = process.env): OffsiteConfig | undefined {
  if (config === undefined) config = offsiteConfig(env) ?? null;
  return config ?? undefined;
}

/** What agent_register's p_info carries under "offsite" (SQL: _offsite_repository). */
export function offsiteInfo(cfg: OffsiteConfig | undefined): { location: string; encryption_fingerprints: string[] } | null {
  return cfg ? { location: cfg.location, encryption_fingerprints: [...cfg.encryption.fingerprints] } : null;
}

export function isS3Location(location: string | null | undefined): location is string {
  return typeof location === 'string' && location.startsWith('s3://');
}

/**
 * The store a plan's s3:// location lies in: this agent's off-host
 * repository, reachable, the bucket there. Otherwise the job fails with one
 * line saying which (nothing has been written yet).
 */
export async function offsiteStoreFor(planned: string): Promise<{ store: SealedStore; cfg: OffsiteConfig }> {
  const cfg = agentOffsite();
  if (!cfg) throw new JobFailure(`the plan names the off-host repository ${planned}, but this agent has none (set BACKUP_MGMT_REPO_S3 and BACKUP_MGMT_ENCRYPT_RECIPIENT)`);
  if (planned !== cfg.location && !planned.startsWith(`${cfg.location}/`)) {
    throw new JobFailure(`the plan names ${planned}, which is not this agent's off-host repository ${cfg.location}`);
  }
  store ??= openOffsite(cfg);
  const s = await store;
  try {
    await s.backend.check();
  } catch (e) {
    if (e instanceof StorageError) throw new JobFailure(`off-host repository ${cfg.location}: ${e.message}`, e.code === 'unreachable');
    throw e;
  }
  return { store: s, cfg };
}

/** The key below the off-host repository of an s3:// location inside it ('' for the root itself). */
export function keyOf(cfg: OffsiteConfig, location: string): string {
  if (location === cfg.location) return '';
  if (!location.startsWith(`${cfg.location}/`)) throw new JobFailure(`${location} is not inside the off-host repository ${cfg.location}`);
  return location.slice(cfg.location.length + 1);
}
