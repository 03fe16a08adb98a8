// Tar-format backups from a real pg_basebackup, verified by our streaming
// verifier and, for comparison, by pg_verifybackup on an extracted copy.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest, verifyManifestChecksum } from '../../src/storage/manifest.js';
import { verifyByExtract } from '../../src/storage/verify-extract.js';
import { verifyStoredBackup, verifyTarBackup, type VerifyResult } from '../../src/storage/verify-tar.js';
import { useCluster } from '../harness/cluster.js';
import {
  appendMember,
  deleteMember,
  editableCopy,
  flipByteInMember,
  listMembers,
  recompress,
  run,
  takeBackup,
  truncateMember,
} from './helpers.js';

const cluster = useCluster({ name: 'verify', pgCron: false });
let work: string;
let zstdBackup: string;
let plainBackup: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bm-verify-test-'));
  const c = cluster();
  // A tablespace puts a second archive (<oid>.tar.zst) into every backup.
  const ts = join(c.baseDir, 'ts1');
  await mkdir(ts);
  await run('chown', ['postgres:postgres', ts]);
  await c.query(`CREATE TABLESPACE ts1 LOCATION '${ts}'`);
  await c.query(`CREATE TABLE filler AS SELECT g, md5(g::text) AS h FROM generate_series(1, 100000) g`);
  await c.query(`CREATE TABLE elsewhere TABLESPACE ts1 AS SELECT g FROM generate_series(1, 10000) g`);
  await c.query('CHECKPOINT');
  zstdBackup = join(work, 'zstd');
  plainBackup = join(work, 'plain');
  await takeBackup(c, zstdBackup);
  await takeBackup(c, plainBackup, { compress: false, checksums: 'CRC32C' });
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Both verifiers must reject, and ours must name `mention` in some problem. */
async function expectBothFlag(dir: string, mention: RegExp): Promise<{ ours: VerifyResult; theirs: VerifyResult }> {
  const ours = await verifyStoredBackup(dir);
  const theirs = await verifyByExtract(dir);
  expect(ours.ok, `our verifier passed a damaged backup: ${dir}`).toBe(false);
  expect(ours.problems.some((p) => mention.test(p)), ours.problems.join('\n')).toBe(true);
  expect(theirs.ok, `pg_verifybackup passed a damaged backup: ${dir}`).toBe(false);
  expect(theirs.problems.some((p) => mention.test(p)), theirs.problems.join('\n')).toBe(true);
  return { ours, theirs };
}

async function biggestDataFile(dir: string): Promise<{ path: string; size: number }> {
  const m = parseManifest(await readFile(join(dir, 'backup_manifest')));
  return m.files.filter((f) => f.path.startsWith('base/')).sort((a, b) => b.size - a.size)[0]!;
}

describe('manifest', () => {
  it('checksum rule matches what PostgreSQL wrote', async () => {
    for (const dir of [zstdBackup, plainBackup]) {
      const text = await readFile(join(dir, 'backup_manifest'));
      const r = verifyManifestChecksum(text);
      expect(r, r.reason).toMatchObject({ ok: true });
      expect(r.actual).toBe(r.expected);
      const m = parseManifest(text);
      expect(m.version).toBe(1);
      expect(m.files.length).toBeGreaterThan(500);
      expect(m.walRanges).toHaveLength(1);
      expect(m.walRanges[0]!.timeline).toBe(1);
      expect(m.walRanges[0]!.end).toBeGreaterThan(m.walRanges[0]!.start);
    }
    const sha = parseManifest(await readFile(join(zstdBackup, 'backup_manifest')));
    expect(new Set(sha.files.map((f) => f.checksumAlgorithm))).toEqual(new Set(['SHA256']));
    const crc = parseManifest(await readFile(join(plainBackup, 'backup_manifest')));
    expect(new Set(crc.files.map((f) => f.checksumAlgorithm))).toEqual(new Set(['CRC32C']));
  });

  it('rejects a manifest with a changed byte, a missing final newline, or one line', async () => {
    const text = await readFile(join(zstdBackup, 'backup_manifest'), 'utf8');
    expect(verifyManifestChecksum(text.replace('"Size": ', '"Size":  ')).reason).toBe('manifest checksum mismatch');
    expect(verifyManifestChecksum(text.slice(0, -1)).reason).toBe('last line not newline-terminated');
    expect(verifyManifestChecksum('{}\n').reason).toBe('expected at least 2 lines');
  });
});

describe('intact backups', () => {
  it('zstd tar with SHA-256 checksums verifies, as with pg_verifybackup', async () => {
    const seen: number[] = [];
    const ours = await verifyStoredBackup(zstdBackup, { onProgress: (b) => seen.push(b) });
    expect(ours.problems).toEqual([]);
    expect(ours.ok).toBe(true);
    const theirs = await verifyByExtract(zstdBackup);
    expect(theirs.problems).toEqual([]);
    expect(ours.filesChecked).toBe(theirs.filesChecked);
    expect(ours.bytesChecked).toBe(theirs.bytesChecked);
    expect(seen.length).toBeGreaterThan(1);
    // The tablespace archive was read and mapped to the manifest's pg_tblspc/<oid>/ paths.
    const tsArchive = (await readdir(zstdBackup)).find((n) => /^\d+\.tar\.zst$/.test(n));
    expect(tsArchive).toBeDefined();
    const oid = tsArchive!.split('.')[0];
    const manifest = parseManifest(await readFile(join(zstdBackup, 'backup_manifest')));
    expect(manifest.files.some((f) => f.path.startsWith(`pg_tblspc/${oid}/PG_15_`))).toBe(true);
    expect(seen.at(-1)).toBeGreaterThan(ours.bytesChecked);
  });

  it('plain tar with CRC32C checksums verifies (same byte order as PostgreSQL)', async () => {
    const ours = await verifyStoredBackup(plainBackup);
    expect(ours.problems).toEqual([]);
    expect((await verifyByExtract(plainBackup)).problems).toEqual([]);
  });

  it('a GNU-tar re-pack with ./ prefixes verifies too', async () => {
    const dir = join(work, 'repacked');
    await editableCopy(zstdBackup, dir);
    const x = join(work, 'repacked-x');
    await rm(x, { recursive: true, force: true });
    await run('mkdir', ['-p', x]);
    await run('tar', ['-x', '-f', join(dir, 'base.tar'), '-C', x]);
    await run('tar', ['--format=gnu', '-c', '-f', join(dir, 'base.tar'), '-C', x, '.']);
    await rm(x, { recursive: true, force: true });
    const ours = await verifyStoredBackup(dir);
    expect(ours.problems).toEqual([]);
  });

  it('a -X stream backup (WAL in a separate pg_wal.tar) verifies', async () => {
    const dir = join(work, 'stream');
    await takeBackup(cluster(), dir, { wal: 'stream' });
    expect((await readdir(dir)).filter((n) => n.startsWith('pg_wal.tar'))).toHaveLength(1);
    const ours = await verifyStoredBackup(dir);
    expect(ours.problems).toEqual([]);
    expect((await verifyByExtract(dir)).problems).toEqual([]);
  });

  it('checks pg_control against the expected system identifier', async () => {
    const manifest = parseManifest(await readFile(join(zstdBackup, 'backup_manifest')));
    const r = await verifyTarBackup({ backupDir: zstdBackup, manifest, expectedSystemIdentifier: '1', parseWal: false });
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(/global\/pg_control.*expected 1/);
  });
});

describe('damaged backups: both verifiers object', () => {
  it('one flipped byte in a data file', async () => {
    const dir = join(work, 'flip');
    const tar = await editableCopy(zstdBackup, dir);
    const victim = await biggestDataFile(dir);
    const member = (await listMembers(tar)).find((m) => m.path === victim.path)!;
    expect(member).toBeDefined();
    await flipByteInMember(tar, member, Math.floor(victim.size / 2));
    await recompress(dir);
    const { ours } = await expectBothFlag(dir, new RegExp(`checksum mismatch for file "${victim.path}"`));
    expect(ours.problems).toHaveLength(1);
  });

  it('one flipped byte in a CRC32C-checked plain tar', async () => {
    const dir = join(work, 'flip-crc');
    await rm(dir, { recursive: true, force: true });
    await run('cp', ['-r', plainBackup, dir]);
    const victim = await biggestDataFile(dir);
    const member = (await listMembers(join(dir, 'base.tar'))).find((m) => m.path === victim.path)!;
    await flipByteInMember(join(dir, 'base.tar'), member, 100);
    await expectBothFlag(dir, new RegExp(`checksum mismatch for file "${victim.path}"`));
  });

  it('one changed byte in backup_manifest', async () => {
    const dir = join(work, 'manifest');
    await rm(dir, { recursive: true, force: true });
    await run('cp', ['-r', zstdBackup, dir]);
    const path = join(dir, 'backup_manifest');
    const text = await readFile(path, 'utf8');
    // Still valid JSON, so only the checksum can tell.
    const i = text.indexOf('"Checksum": "') + '"Checksum": "'.length;
    await writeFile(path, text.slice(0, i) + (text[i] === '0' ? '1' : '0') + text.slice(i + 1));
    await expectBothFlag(dir, /manifest checksum mismatch/);
  });

  it('a file missing from the tar', async () => {
    const dir = join(work, 'missing');
    const tar = await editableCopy(zstdBackup, dir);
    await deleteMember(tar, 'PG_VERSION');
    await recompress(dir);
    const { ours } = await expectBothFlag(dir, /"PG_VERSION" is present in the manifest but not/);
    expect(ours.problems).toHaveLength(1);
  });

  it('extra files in the tar (GNU long name and pax header)', async () => {
    const dir = join(work, 'extra');
    const tar = await editableCopy(zstdBackup, dir);
    const long = `base/${'d'.repeat(60)}/${'x'.repeat(90)}_extra`;
    await appendMember(tar, long, Buffer.from('not in the manifest\n'), 'gnu');
    await appendMember(tar, `global/${'p'.repeat(120)}`, Buffer.from('pax named\n'), 'pax');
    // Ignored by pg_verifybackup, so by us too.
    await appendMember(tar, 'postgresql.auto.conf', Buffer.from('# changed\n'));
    await recompress(dir);
    const { ours } = await expectBothFlag(dir, new RegExp(`"${long}" is present`));
    expect(ours.problems.some((p) => p.includes(`global/${'p'.repeat(120)}`))).toBe(true);
    expect(ours.problems).toHaveLength(2);
  });

  it('a file whose size differs from the manifest', async () => {
    const dir = join(work, 'size');
    const tar = await editableCopy(zstdBackup, dir);
    const victim = await biggestDataFile(dir);
    await truncateMember(tar, victim.path, 8192);
    await recompress(dir);
    const { ours } = await expectBothFlag(dir, new RegExp(`"${victim.path}" has size 8192`));
    expect(ours.problems).toHaveLength(1);
  });

  it('truncated WAL inside the tar', async () => {
    const dir = join(work, 'wal');
    const tar = await editableCopy(zstdBackup, dir);
    const seg = (await listMembers(tar)).find((m) => /^pg_wal\/[0-9A-F]{24}$/.test(m.path))!;
    expect(seg).toBeDefined();
    await truncateMember(tar, seg.path, 4096);
    await recompress(dir);
    const { ours } = await expectBothFlag(dir, /WAL parsing failed for timeline 1/);
    expect(ours.problems, ours.problems.join('\n')).toHaveLength(1);
  });

  it('a damaged base.tar.zst (compressed bytes changed)', async () => {
    const dir = join(work, 'zst');
    await rm(dir, { recursive: true, force: true });
    await run('cp', ['-r', zstdBackup, dir]);
    const zst = join(dir, 'base.tar.zst');
    const size = Number((await run('stat', ['-c', '%s', zst])).trim());
    await flipByteInMember(zst, { block: -1, size, path: 'base.tar.zst' }, Math.floor(size / 2));
    // pg_basebackup's server-side zstd frames carry no content checksum, so
    // zstd may decode damaged input without complaint: then only the
    // manifest checksums catch it.
    await expectBothFlag(dir, /archive "base\.tar\.zst" could not be|checksum mismatch for file/);
  });

  it('a tar cut short in the middle of a member', async () => {
    const dir = join(work, 'short');
    const tar = await editableCopy(zstdBackup, dir);
    const victim = await biggestDataFile(dir);
    const member = (await listMembers(tar)).find((m) => m.path === victim.path)!;
    await run('truncate', ['-s', String((member.block + 1) * 512 + 1000), tar]);
    await recompress(dir);
    const ours = await verifyStoredBackup(dir);
    expect(ours.ok).toBe(false);
    expect(ours.problems.join('\n')).toMatch(new RegExp(`archive "base.tar.zst" is not a valid tar archive: .*${victim.path}`));
  });
});
