// A streaming tar reader over tar-stream (ustar, GNU long names, pax), as the
// events the verifiers consume. Measured against the hand-written reader it
// replaced (a 687 MB tar of 2,994 files read and SHA-256-hashed in 1 MiB
// chunks, median of 3, four runs on a loaded 2-core VM): this reader 603-961
// MB/s, the hand-written one 683-853 MB/s. Both are faster than the zstd
// decompression in front of them in verify-tar.ts, so the library is kept.
import tarStream from 'tar-stream';

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  path: string;
  type: TarEntryType;
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
  linkName?: string;
}

/**
 * `entry` starts a member; `data` chunks (regular files only) follow; `end`
 * closes it. A data chunk is only valid until the consumer resumes the iterator.
 */
export type TarEvent = { kind: 'entry'; entry: TarEntry } | { kind: 'data'; chunk: Buffer } | { kind: 'end'; entry: TarEntry };

export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

const TYPES: Record<string, { type: TarEntryType; flag: string }> = {
  file: { type: 'file', flag: '0' },
  'contiguous-file': { type: 'file', flag: '7' },
  link: { type: 'hardlink', flag: '1' },
  symlink: { type: 'symlink', flag: '2' },
  'character-device': { type: 'other', flag: '3' },
  'block-device': { type: 'other', flag: '4' },
  directory: { type: 'directory', flag: '5' },
  fifo: { type: 'other', flag: '6' },
};

function toEntry(h: tarStream.Header): TarEntry {
  const t = TYPES[h.type ?? ''] ?? { type: 'other' as const, flag: '?' };
  const entry: TarEntry = {
    path: h.name,
    type: t.type,
    typeflag: t.flag,
    size: h.size ?? 0,
    mode: h.mode ?? 0,
    mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0,
  };
  if (h.linkname) entry.linkName = h.linkname;
  return entry;
}

export async function* parseTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEvent> {
  const extract = tarStream.extract();
  let sourceError: unknown;
  // Feeds the extractor with back-pressure; a failing source fails the extractor with its own error.
  const feeding = (async () => {
    try {
      for await (const chunk of source) {
        if (extract.destroyed) return;
        if (!extract.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              extract.off('drain', done);
              extract.off('close', done);
              resolve();
            };
            extract.on('drain', done);
            extract.on('close', done);
          });
        }
      }
      if (!extract.destroyed) extract.end(() => {});
    } catch (e) {
      sourceError = e;
      extract.destroy(e as Error);
    }
  })();
  let open: TarEntry | undefined;
  try {
    for await (const member of extract) {
      const entry = toEntry(member.header);
      open = entry;
      yield { kind: 'entry', entry };
      // Only regular files carry content we hand on; the others' data is drained.
      for await (const chunk of member) if (entry.type === 'file') yield { kind: 'data', chunk: chunk as Buffer };
      open = undefined;
      yield { kind: 'end', entry };
    }
  } catch (e) {
    if (sourceError !== undefined) throw sourceError;
    const msg = e instanceof Error ? e.message : String(e);
    if (/^Invalid tar header\. Maybe/.test(msg)) throw new TarFormatError(`tar header checksum mismatch (after member ${JSON.stringify(open?.path ?? '(none)')})`);
    if (/^Unexpected end of data/.test(msg)) {
      throw new TarFormatError(open ? `archive ended in the middle of member ${JSON.stringify(open.path)}` : 'archive ended in the middle of a header');
    }
    throw new TarFormatError(`unreadable tar archive: ${msg}`);
  } finally {
    extract.destroy();
    await feeding;
  }
}
