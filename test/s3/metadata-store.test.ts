// One metadata interface, two homes: the same MetadataStore over a local
// directory and over a real S3 server gives the same answers, keeps the
// format file's encryption fingerprints (adding, never dropping, a key),
// refuses a newer format, and stores plain JSON under the local keys.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openBackend } from '../../src/storage/backends/index.js';
import { openRepository, RepositoryFormatError, type BackupMetadata, type MetadataStore } from '../../src/storage/repo-metadata.js';
import { useS3Scratch } from './offsite-env.js';

const scratch = useS3Scratch(['meta'], 'bm-meta-');

const SYSID = '7400000000000000001';
const backup = (bk: string): BackupMetadata => ({
  format: 1,
  backup_hk: 'a'.repeat(64),
  backup_bk: bk,
  type: 'FULL',
  status: 'COMPLETED',
  parent_bk: null,
  system_identifier: SYSID,
  pg_version: '16',
  pg_version_num: 160000,
  timeline: 1,
  start_lsn: '0/2000028',
  stop_lsn: '0/2000100',
  start_time: '2026-12-07 23:00:00+00',
  end_time: '2026-12-07 23:00:05+00',
  stop_time: '2026-12-07 23:00:04+00',
  next_xid: 740,
  files: [{ name: 'base.tar.zst', bytes: 10, sha256: 'b'.repeat(64) }],
  files_present: true,
  compression: 'zstd',
  verification: { status: 'VERIFIED', time: '2026-12-07 23:00:06+00', detail: 'ok' },
  path: `${SYSID}/backups/${bk}`,
  catalog_version: null,
  wal_segment_size: 16 << 20,
  tool_versions: { pg_basebackup: 'pg_basebackup (PostgreSQL) 16' },
  written_at: '2026-12-07 23:00:07+00',
  satellites: { execution: {}, lsn: {}, storage: {} },
});

async function exercise(store: MetadataStore): Promise<unknown> {
  expect(await store.readFormat()).toBeUndefined();
  await store.ensureFormat({ encryption: { format: 'age-v1', recipients: ['age-x25519:' + '1'.repeat(32)] } });
  // A second key (rotation) is added; the first stays named.
  await store.ensureFormat({ encryption: { format: 'age-v1', recipients: ['age-x25519:' + '2'.repeat(32)] } });
  await store.ensureFormat();
  await store.writeBackup(backup('FULL_20261207_230000'));
  await store.writeBackup(backup('FULL_20261207_240000'));
  await store.writeRestorePoint({ name: 'before-upgrade', lsn: '0/3000000', timeline: 1, system_identifier: SYSID, time: '2026-12-07 23:10:00+00' });
  return {
    format: (await store.readFormatFile())?.encryption,
    backups: (await store.listBackups(SYSID)).map((b) => b.backup_bk),
    one: (await store.readBackup(SYSID, 'FULL_20261207_230000'))?.files,
    missing: await store.readBackup(SYSID, 'FULL_20991231_000000'),
    points: (await store.listRestorePoints(SYSID)).map((p) => p.name),
    recoveries: await store.listRecoveries(SYSID),
  };
}

describe('MetadataStore', () => {
  it('answers the same over a local directory and over S3', async () => {
    const local = await exercise(openRepository(scratch.dir()));
    const s3 = openRepository('s3://meta/repo-a');
    const remote = await exercise(s3);
    expect(remote).toEqual(local);
    expect(local).toMatchObject({
      format: { format: 'age-v1', recipients: ['age-x25519:' + '1'.repeat(32), 'age-x25519:' + '2'.repeat(32)] },
      backups: ['FULL_20261207_230000', 'FULL_20261207_240000'],
      missing: undefined,
      points: ['before-upgrade'],
      recoveries: [],
    });
    expect(s3.resolve(`${SYSID}/backups/X`)).toBe(`s3://meta/repo-a/${SYSID}/backups/X`);
    // Plain JSON under the local layout's keys, byte for byte the same text.
    const raw = await openBackend('s3://meta/repo-a');
    let text = '';
    for await (const c of await raw.get(`${SYSID}/backups/FULL_20261207_230000.json`)) text += (c as Buffer).toString('utf8');
    expect(text).toBe(await readFile(join(scratch.dir(), SYSID, 'backups', 'FULL_20261207_230000.json'), 'utf8'));
  });

  it('refuses a repository of a newer format on S3 as locally, and a file that is not JSON names its location', async () => {
    const raw = await openBackend('s3://meta/repo-b');
    await raw.put('backup_mgmt_repository.json', Readable.from([Buffer.from(JSON.stringify({ format: 99 }))]));
    const store = openRepository('s3://meta/repo-b');
    await expect(store.assertReadable()).rejects.toThrow(/repository s3:\/\/meta\/repo-b has format 99, newer than this backup-mgmt reads/);
    await expect(store.ensureFormat()).rejects.toBeInstanceOf(RepositoryFormatError);
    await raw.put(`${SYSID}/backups/BROKEN.json`, Readable.from([Buffer.from('{nope')]));
    await expect(store.listBackups(SYSID)).rejects.toThrow(`s3://meta/repo-b/${SYSID}/backups/BROKEN.json is not valid JSON`);
  });
});
