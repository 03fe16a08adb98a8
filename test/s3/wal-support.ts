// What the off-host WAL tests share: an env file (`--config`) for a test S3
// server, readable by the postgres OS user, and the test's own view of the
// repository built with explicit client settings, so that this process's
// environment (which the servers and agents it starts inherit) never holds
// the AWS variables: whatever reaches S3 got there through --config.
import { chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Backend } from '../../src/storage/backends/s3.js';
import { generateIdentity } from '../../src/storage/crypto/index.js';
import { encryptionFor, SealedStore } from '../../src/storage/offsite/index.js';
import { isRoot } from '../../src/util/process.js';
import { postgresIds } from '../e2e/support.js';
import { s3Settings, S3RVER_KEY_ID, S3RVER_SECRET, type S3Server } from '../../tools/bench/s3-server.js';

export interface WalS3 {
  location: string;
  keyFile: string;
  identity: ReturnType<typeof generateIdentity>;
  store: SealedStore;
  /** The settings of a working env file; tests spoil one at a time. */
  settings(): Record<string, string>;
  /** Write an env file the postgres user can read (and nobody else). */
  writeConfig(name: string, settings: Record<string, string>): Promise<string>;
}

async function postgresOwned(file: string, text: string): Promise<string> {
  await writeFile(file, text, { mode: 0o600 });
  if (isRoot()) await chown(file, postgresIds().uid, postgresIds().gid);
  return file;
}

export async function walS3(server: S3Server, location: string, work: string): Promise<WalS3> {
  const identity = generateIdentity();
  const keyFile = await postgresOwned(join(work, 'key.txt'), `${identity.secret}\n`);
  const settings = () => ({
    BACKUP_MGMT_REPO_S3: location,
    BACKUP_MGMT_ENCRYPT_RECIPIENT: identity.identity.recipient.text,
    BACKUP_MGMT_DECRYPT_IDENTITY_FILE: keyFile,
    ...s3Settings(server),
  });
  const store = new SealedStore(
    new S3Backend(location, {
      forcePathStyle: true,
      client: { endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: S3RVER_KEY_ID, secretAccessKey: S3RVER_SECRET } },
    }),
    encryptionFor([identity.identity.recipient], { BACKUP_MGMT_DECRYPT_IDENTITY_FILE: keyFile }),
  );
  return {
    location,
    keyFile,
    identity,
    store,
    settings,
    writeConfig: (name, s) => postgresOwned(join(work, name), Object.entries(s).map(([k, v]) => `${k}=${v}\n`).join('')),
  };
}
