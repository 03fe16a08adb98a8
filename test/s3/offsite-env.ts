// What the off-host tests share: a fresh age key whose identity file the
// server's OS user can read, handed to the agent the tests start through the
// environment it inherits; and an S3 server plus a scratch directory for the
// storage-level suites.
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { generateIdentity } from '../../src/storage/crypto/index.js';
import { isRoot } from '../../src/util/process.js';
import { startS3Server, useS3Environment, type S3Server } from '../../tools/bench/s3-server.js';
import { dropRestored } from '../e2e/recovery-support.js';
import { postgresIds, stopAllAgents } from '../e2e/support.js';

export interface OffsiteKey {
  identity: ReturnType<typeof generateIdentity>['identity'];
  keyFile: string;
  fingerprint: string;
}

/**
 * A new key in `dir/name`; BACKUP_MGMT_REPO_S3, the public key and the
 * identity file go into this process's environment, which agents started
 * afterwards inherit (backups need only the public key; restores the file).
 */
export async function useOffsiteKey(dir: string, name: string, location: string): Promise<OffsiteKey> {
  const { identity, secret } = generateIdentity();
  const keyFile = join(dir, name);
  await writeFile(keyFile, `${secret}\n`, { mode: 0o600 });
  if (isRoot()) await chown(keyFile, postgresIds().uid, postgresIds().gid);
  process.env.BACKUP_MGMT_REPO_S3 = location;
  process.env.BACKUP_MGMT_ENCRYPT_RECIPIENT = identity.recipient.text;
  process.env.BACKUP_MGMT_DECRYPT_IDENTITY_FILE = keyFile;
  return { identity, keyFile, fingerprint: identity.fingerprint };
}

/** An S3 server (with `buckets`) in the AWS environment, and a scratch directory, for a suite. */
export function useS3Scratch(buckets: string[], prefix: string): { server: () => S3Server; dir: () => string } {
  let server: S3Server | undefined;
  let dir = '';
  beforeAll(async () => {
    server = await startS3Server(buckets);
    useS3Environment(server);
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return { server: () => server!, dir: () => dir };
}

/** A suite with a workload and restored copies ends: workload closed, agents stopped, copies dropped, server stopped. */
export async function endRestoreSuite(parts: { workload?: { close(): Promise<void> }; restoredDirs: Iterable<string>; server?: S3Server }): Promise<void> {
  await parts.workload?.close();
  await stopAllAgents();
  for (const d of parts.restoredDirs) await dropRestored(d).catch(() => {});
  await parts.server?.stop();
}
