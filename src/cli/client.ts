// Commands that talk to the catalog do it through the TypeScript client,
// loaded only when such a command runs: archive_command starts the CLI once
// per WAL segment and must not pay for Kysely and the generated schemas.
import type { BackupMgmt } from '../client/index.js';
import { resolveDatabaseUrl } from './config.js';

export async function withClient<T>(databaseUrlFlag: string | undefined, fn: (bm: BackupMgmt) => Promise<T>): Promise<T> {
  const connectionString = resolveDatabaseUrl(databaseUrlFlag);
  const { BackupMgmt } = await import('../client/index.js');
  const bm = new BackupMgmt({ connectionString });
  try {
    return await fn(bm);
  } finally {
    await bm.close();
  }
}
