// Verify a tar-format base backup against its backup_manifest in one
// streaming pass, since PostgreSQL 15's pg_verifybackup cannot read tar. It
// reports what pg_verifybackup reports for a plain backup: manifest checksum,
// missing and extra files, sizes, file checksums, and unparseable WAL.
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileChecksum, type FileChecksum } from './checksum.js';
import { MANIFEST_NAME, walFileKind } from './layout.js';
import { parseManifest, verifyManifestChecksum, type BackupManifest, type ManifestFile } from './manifest.js';
import { parseSystemIdentifierFromControl } from './pg-control.js';
import { parseTar, TarFormatError, type TarEntry } from './tar.js';
import {
  findArchives,
  shouldIgnore,
  systemIdentifierFromBackupPath,
  VERIFY_IGNORE,
  type BackupArchive,
  type VerifyResult,
} from './verify-common.js';
import { parseWalRanges } from './wal-parse.js';
import { zstdDecompressFile } from './zstd.js';

export type { VerifyResult } from './verify-common.js';

export interface VerifyTarOptions {
  /** Directory holding base.tar[.zst] (and any <oid>.tar[.zst], pg_wal.tar[.zst]). */
  backupDir: string;
  manifest: BackupManifest;
  /** Called with the running total of uncompressed tar bytes read. */
  onProgress?: (bytes: number) => void;
  /** Run pg_waldump over the manifest's WAL ranges (default true). */
  parseWal?: boolean;
  /** Read WAL from here instead of from the archives (backups taken with -X none). */
  walDir?: string;
  /** Check global/pg_control belongs to this cluster (manifest v2 carries its own). */
  expectedSystemIdentifier?: string;
  /** Extra relative paths to ignore, on top of pg_verifybackup's list. */
  ignore?: readonly string[];
  pgBinDir?: string;
  /** Parent for the temporary WAL directory (default: the OS temp dir). */
  tmpDir?: string;
  /** Archives from elsewhere than backupDir's files (an object store): what there is and how to read each. */
  source?: ArchiveSource;
}

export interface ArchiveStream {
  /** The archive's tar bytes (decompressed). */
  source: AsyncIterable<Buffer>;
  /** Settles when reading ended: rejects with the reason a cut-short source failed. */
  done: Promise<void>;
  stop: () => void;
}

export interface ArchiveSource {
  archives: BackupArchive[];
  problems: string[];
  open(a: BackupArchive): Promise<ArchiveStream>;
}

interface Tracked {
  file: ManifestFile;
  matched: boolean;
}

/** State for the tar member being read. */
interface Member {
  rel: string;
  /** Set when the member is checked against the manifest. */
  tracked?: Tracked;
  sum?: FileChecksum;
  bytes: number;
  /** First bytes of global/pg_control, to read its system identifier. */
  head?: Buffer;
  /** Extraction target for WAL that pg_waldump will read. */
  wal?: FileHandle;
}

/** Tar member name → manifest-relative path; undefined if it climbs out. */
function canonicalPath(p: string): string | undefined {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') return undefined;
    parts.push(seg);
  }
  return parts.join('/');
}

function archiveStream(a: BackupArchive): ArchiveStream {
  if (!a.compressed) {
    const s = createReadStream(a.path, { highWaterMark: 1 << 20 });
    return { source: s, done: Promise.resolve(), stop: () => s.destroy() };
  }
  const z = zstdDecompressFile(a.path);
  return { source: z.stdout, done: z.done, stop: z.kill };
}

async function* counting(source: AsyncIterable<Buffer>, onBytes: (n: number) => void, onEnd: () => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onBytes(chunk.length);
    yield chunk;
  }
  onEnd();
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
}

class TarVerifier {
  readonly problems: string[] = [];
  filesChecked = 0;
  bytesChecked = 0;
  walFilesFound = 0;
  private progress = 0;
  private readonly files = new Map<string, Tracked>();
  private readonly seen = new Set<string>();
  private readonly ignore: readonly string[];

  constructor(
    private readonly opts: VerifyTarOptions,
    private readonly walOut: string | undefined,
  ) {
    for (const f of opts.manifest.files) this.files.set(f.path, { file: f, matched: false });
    this.ignore = [...VERIFY_IGNORE, ...(opts.ignore ?? [])];
  }

  private expectedSysid(): string | undefined {
    return this.opts.manifest.systemIdentifier ?? this.opts.expectedSystemIdentifier;
  }

  /** Where a WAL member should be extracted to, if it is one pg_waldump may need. */
  private walTarget(a: BackupArchive, rel: string): string | undefined {
    if (!this.walOut) return undefined;
    const name = a.role === 'wal' ? rel : rel.startsWith('pg_wal/') ? rel.slice('pg_wal/'.length) : undefined;
    if (name === undefined || name.includes('/')) return undefined;
    const kind = walFileKind(name);
    return kind === 'segment' || kind === 'history' ? join(this.walOut, name) : undefined;
  }

  async verifyArchive(a: BackupArchive): Promise<void> {
    let opened: ArchiveStream;
    try {
      opened = this.opts.source ? await this.opts.source.open(a) : archiveStream(a);
    } catch (e) {
      this.problems.push(`archive "${a.name}" could not be read: ${(e as Error).message}`);
      return;
    }
    const { source, done, stop } = opened;
    let member: Member | undefined;
    let sourceEnded = false;
    const input = counting(source, (n) => this.onBytes(n), () => (sourceEnded = true));
    try {
      for await (const ev of parseTar(input)) {
        if (ev.kind === 'entry') member = await this.startMember(a, ev.entry);
        else if (ev.kind === 'data' && member) {
          if (member.sum) member.sum.update(ev.chunk);
          member.bytes += ev.chunk.length;
          if (member.head && member.head.length < 8) member.head = Buffer.concat([member.head, ev.chunk.subarray(0, 8)]);
          if (member.wal) await writeAll(member.wal, ev.chunk);
        } else if (ev.kind === 'end' && member) {
          await this.finishMember(a, member);
          member = undefined;
        }
      }
      await done;
    } catch (e) {
      let cause = e as Error;
      if (sourceEnded) {
        // A stream cut short by a failing zstd looks like a truncated tar; zstd's own error says more.
        await done.catch((zstdError: Error) => (cause = zstdError));
      } else {
        stop();
      }
      const what = cause instanceof TarFormatError ? 'is not a valid tar archive' : 'could not be read';
      this.problems.push(`archive "${a.name}" ${what}: ${cause.message}`);
    } finally {
      await member?.wal?.close().catch(() => {});
    }
  }

  private onBytes(n: number): void {
    this.progress += n;
    this.opts.onProgress?.(this.progress);
  }

  private async startMember(a: BackupArchive, entry: TarEntry): Promise<Member> {
    const member: Member = { rel: '', bytes: 0 };
    // Like pg_verifybackup, only regular files are checked.
    if (entry.type !== 'file') return member;
    const canon = canonicalPath(entry.path);
    if (canon === undefined || canon === '') {
      this.problems.push(`file "${entry.path}" in archive "${a.name}" has an unsafe path`);
      return member;
    }
    const rel = a.role === 'tablespace' ? `pg_tblspc/${a.tablespaceOid}/${canon}` : canon;
    member.rel = rel;
    const walPath = this.walTarget(a, rel);
    if (walPath) member.wal = await open(walPath, 'w', 0o600);
    if (a.role === 'wal' || shouldIgnore(rel, this.ignore)) return member;

    if (this.seen.has(rel)) {
      this.problems.push(`file "${rel}" appears more than once in the backup archives`);
      return member;
    }
    this.seen.add(rel);
    const tracked = this.files.get(rel);
    if (!tracked) {
      this.problems.push(`file "${rel}" is present in archive "${a.name}" but not in the manifest`);
      return member;
    }
    tracked.matched = true;
    if (tracked.file.size !== entry.size) {
      this.problems.push(`file "${rel}" has size ${entry.size} in archive "${a.name}" but size ${tracked.file.size} in the manifest`);
      return member;
    }
    member.tracked = tracked;
    if (tracked.file.checksumAlgorithm !== 'NONE' && tracked.file.checksum !== undefined) {
      const sum = createFileChecksum(tracked.file.checksumAlgorithm);
      if (sum) member.sum = sum;
      else this.problems.push(`file "${rel}": unsupported checksum algorithm ${tracked.file.checksumAlgorithm}`);
    }
    if (rel === 'global/pg_control' && this.expectedSysid()) member.head = Buffer.alloc(0);
    return member;
  }

  private async finishMember(a: BackupArchive, m: Member): Promise<void> {
    if (m.wal) {
      const wal = m.wal;
      m.wal = undefined;
      await wal.close();
      this.walFilesFound++;
    }
    if (!m.tracked) return;
    this.filesChecked++;
    this.bytesChecked += m.bytes;
    if (m.sum && m.sum.digestHex() !== m.tracked.file.checksum) {
      this.problems.push(`checksum mismatch for file "${m.rel}" in archive "${a.name}"`);
    }
    const want = this.expectedSysid();
    if (m.head && want) {
      const got = m.head.length >= 8 ? parseSystemIdentifierFromControl(m.head) : undefined;
      if (got !== want) this.problems.push(`file "${m.rel}" in archive "${a.name}" is for system ${got ?? '(unreadable)'}, expected ${want}`);
    }
  }

  reportUnmatched(): void {
    for (const { file, matched } of this.files.values()) {
      if (!matched && !shouldIgnore(file.path, this.ignore)) {
        this.problems.push(`file "${file.path}" is present in the manifest but not in the backup archives`);
      }
    }
  }
}

/** Stream-verify the archives in `opts.backupDir` against `opts.manifest`. */
export async function verifyTarBackup(opts: VerifyTarOptions): Promise<VerifyResult> {
  const parseWal = opts.parseWal ?? true;
  const tmp = parseWal && !opts.walDir ? await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'bm-verify-wal-')) : undefined;
  try {
    const v = new TarVerifier(opts, tmp);
    const { archives, problems } = opts.source ?? (await findArchives(opts.backupDir));
    v.problems.push(...problems);
    for (const a of archives) await v.verifyArchive(a);
    v.reportUnmatched();
    if (parseWal && opts.manifest.walRanges.length > 0) {
      const walProblems = await parseWalRanges(opts.walDir ?? tmp!, opts.manifest.walRanges, opts.pgBinDir);
      if (walProblems.length > 0 && !opts.walDir && v.walFilesFound === 0) {
        walProblems.push('the backup archives contain no WAL (taken with -X none?); verify with walDir pointing at the WAL');
      }
      v.problems.push(...walProblems);
    }
    return { ok: v.problems.length === 0, problems: v.problems, filesChecked: v.filesChecked, bytesChecked: v.bytesChecked };
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

export type VerifyStoredOptions = Omit<VerifyTarOptions, 'backupDir' | 'manifest'>;

/**
 * Verify a backup directory as stored in the repository: the manifest's own
 * checksum first (a manifest that fails it cannot be trusted to judge files),
 * then every archive member and the WAL.
 */
export async function verifyStoredBackup(dir: string, opts: VerifyStoredOptions = {}): Promise<VerifyResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, MANIFEST_NAME));
  } catch (e) {
    return failed(`${MANIFEST_NAME}: could not read: ${(e as Error).message}`);
  }
  return verifyWithManifest(dir, bytes, opts);
}

const failed = (problem: string): VerifyResult => ({ ok: false, problems: [problem], filesChecked: 0, bytesChecked: 0 });

/** The checks after reading backup_manifest's bytes, wherever the backup is (`where`: its directory or location). */
export async function verifyWithManifest(where: string, bytes: Buffer, opts: VerifyStoredOptions = {}): Promise<VerifyResult> {
  const fail = failed;
  const check = verifyManifestChecksum(bytes);
  if (!check.ok) return fail(`${MANIFEST_NAME}: ${check.reason}`);
  let manifest: BackupManifest;
  try {
    manifest = parseManifest(bytes);
  } catch (e) {
    return fail(`${MANIFEST_NAME}: ${(e as Error).message}`);
  }
  return verifyTarBackup({
    ...opts,
    backupDir: where,
    manifest,
    expectedSystemIdentifier: opts.expectedSystemIdentifier ?? systemIdentifierFromBackupPath(where),
  });
}
