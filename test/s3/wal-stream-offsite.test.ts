// The WAL the agent's streaming receiver stores reaches the off-host
// repository too, through the same push as archive_command: here the
// archive_command has no --config (it archives locally only), so whatever
// WAL is in S3 came from the receiver of an agent started with `--config`.
// The segment being received goes there as a `.partial` (one version at a
// time), and wal-fetch hands it back from S3 when asked for the segment.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chown, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Backend } from '../../src/storage/backends/s3.js';
import { generateIdentity } from '../../src/storage/crypto/index.js';
import { encryptionFor, SealedStore } from '../../src/storage/offsite/index.js';
import { listArchivedWalOffsite } from '../../src/storage/wal-list-offsite.js';
import { isRoot, SAFE_PATH } from '../../src/util/process.js';
import { cliEntry } from '../../src/util/paths.js';
import { RUN_DIR, useCluster } from '../harness/cluster.js';
import { postgresDir, postgresIds, query, stopAllAgents, waitFor } from '../e2e/support.js';
import { streamingCluster, waitStreaming, type StreamingSetup } from '../streaming/support.js';
import { S3RVER_KEY_ID, S3RVER_SECRET, startS3Server, type S3Server } from '../../tools/bench/s3-server.js';

const cluster = useCluster({ name: 's3wal-stream' });
const BUCKET = 'streamed';
const generated = generateIdentity();
let server: S3Server;
let env: StreamingSetup;
let store: SealedStore;
let config = '';
let work = '';

beforeAll(async () => {
  // This process's environment stays free of AWS variables: the agent (which inherits it) gets them only from --config.
  server = await startS3Server([BUCKET]);
  work = await postgresDir(join(RUN_DIR, `s3wal-stream-${process.pid}`), 0o755);
  const keyFile = join(work, 'key.txt');
  await writeFile(keyFile, `${generated.secret}\n`, { mode: 0o600 });
  config = join(work, 'backup-mgmt.env');
  await writeFile(
    config,
    [
      `BACKUP_MGMT_REPO_S3=s3://${BUCKET}/streamed`,
      `BACKUP_MGMT_ENCRYPT_RECIPIENT=${generated.identity.recipient.text}`,
      `BACKUP_MGMT_DECRYPT_IDENTITY_FILE=${keyFile}`,
      `AWS_ENDPOINT_URL_S3=${server.endpoint}`,
      'AWS_REGION=us-east-1',
      `AWS_ACCESS_KEY_ID=${S3RVER_KEY_ID}`,
      `AWS_SECRET_ACCESS_KEY=${S3RVER_SECRET}`,
      'AWS_EC2_METADATA_DISABLED=true',
      'AWS_CONFIG_FILE=/nonexistent/aws-config',
      'AWS_SHARED_CREDENTIALS_FILE=/nonexistent/aws-credentials',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  if (isRoot()) for (const f of [config, keyFile]) await chown(f, postgresIds().uid, postgresIds().gid);
  env = await streamingCluster(cluster(), 'wstream', 'wstream-agent', { streaming: true, agentArgs: ['--config', config] });
  await waitStreaming(env.url);
  store = new SealedStore(
    new S3Backend(`s3://${BUCKET}/streamed`, {
      forcePathStyle: true,
      client: { endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: S3RVER_KEY_ID, secretAccessKey: S3RVER_SECRET } },
    }),
    encryptionFor([generated.identity.recipient], { BACKUP_MGMT_DECRYPT_IDENTITY_FILE: keyFile }),
  );
}, 300_000);

afterAll(async () => {
  await stopAllAgents();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry(), ...args], { cwd: '/', env: { PATH: SAFE_PATH }, ...(isRoot() ? { uid: postgresIds().uid, gid: postgresIds().gid } : {}) });
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('streamed WAL in the off-host repository', () => {
  it('completed segments and the `.partial` being received reach S3; wal-fetch takes the `.partial` from S3 for the newest segment', async () => {
    await query(env.url, 'CREATE TABLE IF NOT EXISTS s (id int, v text)');
    await query(env.url, `INSERT INTO s SELECT g, md5(g::text) FROM generate_series(1, 20000) g`);
    const [{ f: done }] = (await query<{ f: string }>(env.url, 'SELECT pg_walfile_name(pg_switch_wal()) AS f')) as [{ f: string }];
    await waitFor(`${done} in S3`, async () => (await listArchivedWalOffsite(store, env.sysid)).some((w) => w.fileName === done), 120_000);
    expect(readFileSync(join(cluster().baseDir, 'agent.log'), 'utf8')).toMatch(new RegExp(`streamed ${done} stored`));

    // Some WAL in the next segment, no switch: the receiver's `.partial` goes to S3 (every 2 s here).
    await query(env.url, `INSERT INTO s SELECT g, md5(g::text) FROM generate_series(20001, 25000) g`);
    const [{ f: current }] = (await query<{ f: string }>(env.url, 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')) as [{ f: string }];
    const partial = await waitFor(`${current}.partial in S3`, async () => (await listArchivedWalOffsite(store, env.sysid)).find((w) => w.fileName === `${current}.partial`), 120_000);
    // Snapshots replace each other: never more than one version stays.
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await listArchivedWalOffsite(store, env.sysid)).filter((w) => w.fileName === `${current}.partial`).length).toBe(1);

    // With an empty local repository, asking for the segment gives the `.partial` from S3, proven against its name.
    const emptyRepo = await postgresDir(join(work, 'empty-repo'));
    const dest = await postgresDir(join(work, 'fetched'));
    const f = await cli(['wal-fetch', current, join(dest, current), '--repo', emptyRepo, '--system-identifier', env.sysid, '--config', config]);
    expect(f.code, f.stderr).toBe(0);
    const got = (await listArchivedWalOffsite(store, env.sysid)).find((w) => w.fileName === `${current}.partial`)!;
    expect(createHash('sha256').update(readFileSync(join(dest, current))).digest('hex')).toBe(got.sha256);
    expect(partial.kind).toBe('partial');

    // Once the segment completes, its `.partial` leaves S3 as it leaves the local repository.
    const [{ f: completed }] = (await query<{ f: string }>(env.url, 'SELECT pg_walfile_name(pg_switch_wal()) AS f')) as [{ f: string }];
    expect(completed).toBe(current);
    await waitFor(`${current} complete in S3, its .partial gone`, async () => {
      const names = (await listArchivedWalOffsite(store, env.sysid)).map((w) => w.fileName);
      return names.includes(current) && !names.includes(`${current}.partial`);
    }, 120_000);
  }, 300_000);
});
