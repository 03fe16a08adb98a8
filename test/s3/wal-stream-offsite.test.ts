// The WAL the agent's streaming receiver stores reaches the off-host
// repository too, through the same push as archive_command: here the
// archive_command has no --config (it archives locally only), so whatever
// WAL is in S3 came from the receiver of an agent started with `--config`.
// The segment being received goes there as a `.partial` (one version at a
// time), and wal-fetch hands it back from S3 when asked for the segment.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SealedStore } from '../../src/storage/offsite/index.js';
import { listArchivedWalOffsite } from '../../src/storage/wal-list-offsite.js';
import { RUN_DIR, useCluster } from '../harness/cluster.js';
import { postgresDir, query, runCli, stopAllAgents, waitFor } from '../e2e/support.js';
import { walS3 } from './wal-support.js';
import { streamingCluster, waitStreaming, type StreamingSetup } from '../streaming/support.js';
import { startS3Server, type S3Server } from '../../tools/bench/s3-server.js';

const cluster = useCluster({ name: 's3wal-stream' });
const BUCKET = 'streamed';
let server: S3Server;
let env: StreamingSetup;
let store: SealedStore;
let config = '';
let work = '';

beforeAll(async () => {
  server = await startS3Server([BUCKET]);
  work = await postgresDir(join(RUN_DIR, `s3wal-stream-${process.pid}`), 0o755);
  const s3 = await walS3(server, `s3://${BUCKET}/streamed`, work);
  store = s3.store;
  config = await s3.writeConfig('backup-mgmt.env', s3.settings());
  env = await streamingCluster(cluster(), 'wstream', 'wstream-agent', { streaming: true, agentArgs: ['--config', config] });
  await waitStreaming(env.url);
}, 300_000);

afterAll(async () => {
  await stopAllAgents();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('streamed WAL in the off-host repository', () => {
  it('completed segments and the `.partial` being received reach S3; wal-fetch takes the `.partial` from S3 for the newest segment', async () => {
    await query(env.url, 'CREATE TABLE IF NOT EXISTS s (id int, v text)');
    await query(env.url, `INSERT INTO s SELECT g, md5(g::text) FROM generate_series(1, 20000) g`);
    const [{ f: done }] = (await query<{ f: string }>(env.url, 'SELECT pg_walfile_name(pg_switch_wal()) AS f')) as [{ f: string }];
    // The receiver says so once the segment is in every repository (archive_command here stores only locally).
    await waitFor(`${done} streamed`, async () => new RegExp(`streamed ${done} stored`).test(readFileSync(join(cluster().baseDir, 'agent.log'), 'utf8')), 120_000);
    expect((await listArchivedWalOffsite(store, env.sysid)).map((w) => w.fileName)).toContain(done);

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
    // The receiver replaces the snapshot every 2 s meanwhile: note every version S3 names while wal-fetch runs.
    const seen = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const w of await listArchivedWalOffsite(store, env.sysid)) if (w.fileName === `${current}.partial`) seen.add(w.sha256);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const f = await runCli(['wal-fetch', current, join(dest, current), '--repo', emptyRepo, '--system-identifier', env.sysid, '--config', config], { asPostgres: true });
    watching = false;
    await watch;
    // One more look: a snapshot put just before wal-fetch listed lives until the next one (2 s or more).
    for (const w of await listArchivedWalOffsite(store, env.sysid)) if (w.fileName === `${current}.partial`) seen.add(w.sha256);
    expect(f.code, f.stderr).toBe(0);
    const fetched = createHash('sha256').update(readFileSync(join(dest, current))).digest('hex');
    expect([...seen], `fetched ${fetched}`).toContain(fetched);
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
