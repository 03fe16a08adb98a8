// The storage layer's pure parts: names, paths, checksums, tar, atomic files.
// Tar input comes from the real GNU tar in each of its formats.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32cUpdate, createFileChecksum } from '../../src/storage/checksum.js';
import { fsyncDir, renameDirAtomic, writeFileAtomic } from '../../src/storage/fsync.js';
import {
  assertBackupBk,
  backupDir,
  parseStoredWalName,
  resolveInsideRoot,
  stagingDir,
  storedWalName,
  walDirFor,
  walFileKind,
  walSubdir,
} from '../../src/storage/layout.js';
import { parseManifest, verifyManifestChecksum } from '../../src/storage/manifest.js';
import { parseTar, TarFormatError, type TarEntry } from '../../src/storage/tar.js';
import { shouldIgnore } from '../../src/storage/verify-common.js';
import {
  formatLsn,
  parseLsn,
  parseWalSegmentName,
  segmentsPerXLogId,
  walFileNameForLsn,
  walSegmentRange,
} from '../../src/storage/wal-names.js';
import { run } from './helpers.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bm-units-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('LSNs and WAL file names', () => {
  it('parses and formats LSNs like PostgreSQL', () => {
    expect(parseLsn('0/3000028')).toBe(0x3000028n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(formatLsn(0x3000028n)).toBe('0/3000028');
    expect(formatLsn((0x16n << 32n) | 0xb374d848n)).toBe('16/B374D848');
    expect(() => parseLsn('3000028')).toThrow(/invalid LSN/);
    expect(() => parseLsn('0/123456789')).toThrow(/invalid LSN/);
  });

  it('names segments for 16 MiB and other sizes', () => {
    expect(walFileNameForLsn(1, '0/3000028')).toBe('000000010000000000000003');
    expect(walFileNameForLsn(1, '0/FFFFFFFF')).toBe('0000000100000000000000FF');
    expect(walFileNameForLsn(2, '1/0')).toBe('000000020000000100000000');
    expect(walFileNameForLsn(1, '16/B374D848')).toBe('0000000100000016000000B3');
    expect(segmentsPerXLogId()).toBe(256n);
    expect(segmentsPerXLogId(64 * 1024 * 1024)).toBe(64n);
    expect(walFileNameForLsn(1, '0/FFFFFFFF', 64 * 1024 * 1024)).toBe('00000001000000000000003F');
    expect(() => walFileNameForLsn(1, '0/0', 3_000_000)).toThrow(/segment size/);
  });

  it('walks a range across a log-id boundary', () => {
    expect(walSegmentRange('0000000100000000000000FE', '000000010000000100000001')).toEqual([
      '0000000100000000000000FE',
      '0000000100000000000000FF',
      '000000010000000100000000',
      '000000010000000100000001',
    ]);
    expect(parseWalSegmentName('000000030000000100000002')).toEqual({ timeline: 3, segNo: 258n });
    expect(() => parseWalSegmentName('000000010000000000000100')).toThrow(/impossible/);
    expect(() => walSegmentRange('000000010000000000000002', '000000020000000000000003')).toThrow(/timelines/);
  });
});

describe('repository layout', () => {
  const sha = 'a'.repeat(64);

  it('classifies archivable WAL file names', () => {
    expect(walFileKind('000000010000000000000003')).toBe('segment');
    expect(walFileKind('000000010000000000000003.partial')).toBe('partial');
    expect(walFileKind('000000010000000000000003.00000028.backup')).toBe('backup');
    expect(walFileKind('00000002.history')).toBe('history');
    for (const bad of ['RECOVERYXLOG', '00000001000000000000000g', '../000000010000000000000003', '00000002.history.tmp']) {
      expect(walFileKind(bad)).toBeUndefined();
    }
  });

  it('places WAL by timeline and log id, history apart', () => {
    expect(walSubdir('000000010000000200000003')).toBe('0000000100000002');
    expect(walSubdir('000000010000000200000003.00000028.backup')).toBe('0000000100000002');
    expect(walSubdir('00000002.history')).toBe('history');
    expect(walDirFor('/r', '7312345678901234567', '000000010000000200000003')).toBe('/r/7312345678901234567/wal/0000000100000002');
    const stored = storedWalName('000000010000000200000003.partial', sha);
    expect(stored).toBe(`000000010000000200000003.partial-${sha}.zst`);
    expect(parseStoredWalName(stored)).toEqual({ fileName: '000000010000000200000003.partial', kind: 'partial', sha256: sha });
    expect(parseStoredWalName('.tmp-0123')).toBeUndefined();
    expect(() => storedWalName('x', sha)).toThrow(/not a WAL file name/);
  });

  it('validates system identifiers and backup keys', () => {
    expect(backupDir('/r', '42', 'full-20240101')).toBe('/r/42/backups/full-20240101');
    expect(stagingDir('/r', '42', 'b1')).toMatch(/^\/r\/42\/staging\/b1\.[0-9a-f]{12}$/);
    expect(() => backupDir('/r', '../42', 'b')).toThrow(/system identifier/);
    expect(() => backupDir('/r', '18446744073709551616', 'b')).toThrow(/system identifier/);
    for (const bad of ['..', '.', 'a/b', '../x', '', 'a..b', '-x']) expect(() => assertBackupBk(bad), bad).toThrow(/invalid backup key/);
  });

  it('resolveInsideRoot refuses traversal and escaping symlinks', async () => {
    const root = join(work, 'root');
    const outside = join(work, 'outside');
    await mkdir(join(root, 'sub'), { recursive: true });
    await mkdir(outside, { recursive: true });
    await symlink(outside, join(root, 'escape'));
    await symlink(join(root, 'sub'), join(root, 'inner'));
    expect(await resolveInsideRoot(root, 'sub/file')).toBe(join(root, 'sub', 'file'));
    expect(await resolveInsideRoot(root, join(root, 'new', 'deeper'))).toBe(join(root, 'new', 'deeper'));
    expect(await resolveInsideRoot(root, 'inner/x')).toBe(join(root, 'inner', 'x'));
    await expect(resolveInsideRoot(root, '../outside/x')).rejects.toThrow(/outside the repository root/);
    await expect(resolveInsideRoot(root, '/etc/passwd')).rejects.toThrow(/outside the repository root/);
    await expect(resolveInsideRoot(root, 'sub/../../outside')).rejects.toThrow(/outside the repository root/);
    await expect(resolveInsideRoot(root, 'escape/x/y')).rejects.toThrow(/through a symlink/);
    await expect(resolveInsideRoot(root, 'escape')).rejects.toThrow(/through a symlink/);
  });
});

describe('checksums', () => {
  it('CRC-32C matches the standard check value, in PostgreSQL byte order', () => {
    expect(crc32cUpdate(0xffffffff, Buffer.from('123456789')) ^ 0xffffffff).toBe(0xe3069283 | 0);
    const c = createFileChecksum('CRC32C')!;
    c.update(Buffer.from('1234'));
    c.update(Buffer.from('56789'));
    expect(c.digestHex()).toBe('839206e3');
  });

  it('SHA-2 family by manifest name; unknown names are undefined', () => {
    const s = createFileChecksum('SHA512')!;
    s.update(Buffer.from('abc'));
    expect(s.digestHex()).toBe(createHash('sha512').update('abc').digest('hex'));
    expect(createFileChecksum('MD5')).toBeUndefined();
  });
});

describe('manifest parsing', () => {
  function withChecksum(body: string): string {
    const sum = createHash('sha256').update(body).digest('hex');
    return `${body}"Manifest-Checksum": "${sum}"}\n`;
  }

  it('decodes Encoded-Path and reads version 2 system identifiers exactly', () => {
    const text = withChecksum(
      '{ "PostgreSQL-Backup-Manifest-Version": 2,\n"System-Identifier": 7312345678901234567,\n"Files": [\n' +
        `{ "Encoded-Path": "${Buffer.from('base/1/weird').toString('hex')}", "Size": 3, "Last-Modified": "2024-01-01 00:00:00 GMT" }\n],\n` +
        '"WAL-Ranges": [\n{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }\n],\n',
    );
    expect(verifyManifestChecksum(text).ok).toBe(true);
    const m = parseManifest(text);
    expect(m.systemIdentifier).toBe('7312345678901234567');
    expect(m.files).toEqual([{ path: 'base/1/weird', size: 3, lastModified: '2024-01-01 00:00:00 GMT', checksumAlgorithm: 'NONE', checksum: undefined }]);
    expect(m.walRanges[0]).toMatchObject({ timeline: 1, start: 0x2000028n, end: 0x2000100n });
  });

  it('refuses duplicates and malformed entries', () => {
    const dup = '{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [{"Path": "a", "Size": 1}, {"Path": "a", "Size": 1}],\n"WAL-Ranges": [],\n';
    expect(() => parseManifest(withChecksum(dup))).toThrow(/duplicate path/);
    const noSize = '{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [{"Path": "a"}],\n"WAL-Ranges": [],\n';
    expect(() => parseManifest(withChecksum(noSize))).toThrow(/file size/);
    expect(() => parseManifest('{"PostgreSQL-Backup-Manifest-Version": 3}')).toThrow(/version/);
  });

  it('mirrors pg_verifybackup ignore rules', () => {
    for (const p of ['backup_manifest', 'pg_wal', 'pg_wal/000000010000000000000001', 'pg_wal/archive_status/x.done', 'standby.signal']) {
      expect(shouldIgnore(p), p).toBe(true);
    }
    for (const p of ['pg_wal2', 'base/pg_wal', 'postgresql.conf', 'global/pg_control']) expect(shouldIgnore(p), p).toBe(false);
  });
});

describe('tar reader', () => {
  const files: Record<string, Buffer> = {};

  beforeAll(async () => {
    const src = join(work, 'tarsrc');
    const longDir = `${'d'.repeat(80)}/${'e'.repeat(40)}`;
    files['empty'] = Buffer.alloc(0);
    files['exactly-512'] = Buffer.alloc(512, 7);
    files['odd'] = Buffer.from('x'.repeat(1000) + 'end');
    files[`${longDir}/split-by-ustar-prefix`] = Buffer.from('prefix\n');
    files[`${'n'.repeat(150)}`] = Buffer.from('long leaf\n');
    files['big'] = Buffer.alloc(300 * 1024 + 17);
    for (let i = 0; i < files['big']!.length; i += 4096) files['big']![i] = i & 0xff;
    for (const [p, content] of Object.entries(files)) {
      await mkdir(join(src, p, '..'), { recursive: true });
      await writeFile(join(src, p), content);
    }
    await symlink('odd', join(src, 'link'));
  });

  async function readAll(tarPath: string, chunkSize?: number) {
    const entries: TarEntry[] = [];
    const content = new Map<string, Buffer[]>();
    let source: AsyncIterable<Buffer> = createReadStream(tarPath, chunkSize ? { highWaterMark: chunkSize } : {});
    for await (const ev of parseTar(source)) {
      if (ev.kind === 'entry') {
        entries.push(ev.entry);
        content.set(ev.entry.path, []);
      } else if (ev.kind === 'data') content.get(entries.at(-1)!.path)!.push(Buffer.from(ev.chunk));
    }
    return { entries, content };
  }

  for (const format of ['gnu', 'pax', 'ustar'] as const) {
    it(`reads GNU tar's ${format} format, in any chunking`, async () => {
      const tarPath = join(work, `t-${format}.tar`);
      // ustar cannot hold a 150-character leaf name at all.
      const names = [...Object.keys(files).filter((p) => format !== 'ustar' || !p.startsWith('nnn')), 'link'];
      await run('tar', [`--format=${format}`, '-c', '-f', tarPath, '-C', join(work, 'tarsrc'), ...names]);
      for (const chunk of [undefined, 7, 511, 513, 4096]) {
        if (chunk === 7 && format !== 'gnu') continue; // slow, once is enough
        const { entries, content } = await readAll(tarPath, chunk);
        const byPath = new Map(entries.map((e) => [e.path, e]));
        for (const n of names.filter((x) => x !== 'link')) {
          expect(byPath.get(n)?.type, `${format} ${n}`).toBe('file');
          expect(Buffer.concat(content.get(n)!).equals(files[n]!), `${format} ${n} content`).toBe(true);
        }
        expect(byPath.get('link')).toMatchObject({ type: 'symlink', linkName: 'odd', size: 0 });
      }
    });
  }

  it('rejects a damaged header and a truncated archive', async () => {
    const tarPath = join(work, 't-gnu.tar');
    const buf = await readFile(tarPath);
    const bad = Buffer.from(buf);
    bad[10] = bad[10]! ^ 0x20;
    const drain = async (b: Buffer) => {
      for await (const _ of parseTar(Readable.from([b])));
    };
    await expect(drain(bad)).rejects.toThrow(TarFormatError);
    await expect(drain(bad)).rejects.toThrow(/checksum mismatch/);
    await expect(drain(buf.subarray(0, 1024 + 100))).rejects.toThrow(/ended in the middle/);
    await expect(drain(buf.subarray(0, 300))).rejects.toThrow(/middle of a header/);
  });
});

describe('atomic files', () => {
  it('writeFileAtomic replaces content and leaves no temp file', async () => {
    const dir = join(work, 'atomic');
    await mkdir(dir, { recursive: true });
    const p = join(dir, 'f');
    await writeFileAtomic(p, 'one');
    expect(await readFile(p, 'utf8')).toBe('one');
    const r = await writeFileAtomic(p, Readable.from([Buffer.from('tw'), Buffer.from('o!')]));
    expect(r.bytes).toBe(4);
    expect(await readFile(p, 'utf8')).toBe('two!');
    await expect(writeFileAtomic(p, Readable.from((async function* () {
      yield Buffer.from('partial');
      throw new Error('source broke');
    })()))).rejects.toThrow(/source broke/);
    expect(await readFile(p, 'utf8')).toBe('two!');
    expect(await readdir(dir)).toEqual(['f']);
    await fsyncDir(dir);
  });

  it('renameDirAtomic publishes a staging directory and never replaces one', async () => {
    const staging = join(work, 'stage.x1');
    const final = join(work, 'published', 'b1');
    await mkdir(staging, { recursive: true });
    await writeFile(join(staging, 'base.tar'), 'data');
    await renameDirAtomic(staging, final);
    expect(await readFile(join(final, 'base.tar'), 'utf8')).toBe('data');
    await mkdir(staging, { recursive: true });
    await expect(renameDirAtomic(staging, final)).rejects.toThrow(/already exists/);
  });
});
