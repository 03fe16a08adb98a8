// The off-host repository: configuration, env file, and the encrypted object store.
export * from './config.js';
export * from './env-file.js';
export * from './sealed.js';

import { openBackend } from '../backends/index.js';
import type { OffsiteConfig } from './config.js';
import { SealedStore } from './sealed.js';

/** The configured off-host repository as an encrypted store (loads the AWS SDK). */
export async function openOffsite(cfg: OffsiteConfig): Promise<SealedStore> {
  return new SealedStore(await openBackend(cfg.location), cfg.encryption);
}
