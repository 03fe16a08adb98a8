// A streaming tar reader: 512-byte headers (ustar with prefix, GNU 'L'/'K'
// long names, pax 'x' records), file data handed on in place without copying.
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

const BLOCK = 512;
const META_LIMIT = 1 << 20;

function cstring(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
}

/** Octal ASCII, or GNU base-256 when the top bit of the first byte is set. */
function tarNumber(b: Buffer, off: number, len: number, what: string): number {
  if (b[off]! & 0x80) {
    if (b[off] === 0xff) throw new TarFormatError(`negative ${what} in tar header`);
    let v = BigInt(b[off]! & 0x7f);
    for (let i = off + 1; i < off + len; i++) v = (v << 8n) | BigInt(b[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarFormatError(`${what} too large in tar header`);
    return Number(v);
  }
  const s = b.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`invalid ${what} ${JSON.stringify(s)} in tar header`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = tarNumber(h, 148, 8, 'header checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  // Some historic tars summed signed chars; accept both like GNU tar does.
  return stored === unsigned || stored === signed;
}

function isZeroBlock(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

function entryType(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '7':
      return 'file';
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    default:
      return 'other';
  }
}

/** pax extended header records: "<len> <key>=<value>\n". */
function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp === -1) break;
    const len = parseInt(data.toString('latin1', off, sp), 10);
    if (!Number.isInteger(len) || len <= 0 || off + len > data.length) throw new TarFormatError('malformed pax extended header');
    const rec = data.toString('utf8', sp + 1, off + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    off += len;
  }
  return out;
}

interface Overrides {
  path?: string;
  linkName?: string;
  size?: number;
}

function parseHeader(h: Buffer, next: Overrides): { entry: TarEntry; rawSize: number } {
  if (!checksumOk(h)) throw new TarFormatError(`tar header checksum mismatch (member ${JSON.stringify(cstring(h, 0, 100))})`);
  const rawFlag = h[156]!;
  const typeflag = rawFlag === 0 ? '0' : String.fromCharCode(rawFlag);
  const magic = h.toString('latin1', 257, 263);
  let name = cstring(h, 0, 100);
  // POSIX ustar splits long names into prefix/name; GNU ("ustar  ") uses that space for other fields.
  if (magic === 'ustar\0') {
    const prefix = cstring(h, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  const rawSize = tarNumber(h, 124, 12, 'size');
  const entry: TarEntry = {
    path: next.path ?? name,
    type: entryType(typeflag),
    typeflag,
    size: next.size ?? rawSize,
    mode: tarNumber(h, 100, 8, 'mode'),
    mtime: tarNumber(h, 136, 12, 'mtime'),
  };
  const linkName = next.linkName ?? cstring(h, 157, 100);
  if (linkName) entry.linkName = linkName;
  return { entry, rawSize: next.size ?? rawSize };
}

const padding = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;

export async function* parseTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEvent> {
  type State = 'header' | 'data' | 'meta' | 'pad' | 'eof';
  let state: State = 'header';
  let carry: Buffer | undefined;
  let current: TarEntry | undefined;
  let remaining = 0;
  let pad = 0;
  let meta: { flag: string; parts: Buffer[]; got: number } | undefined;
  let next: Overrides = {};
  let emitData = false;
  let lastPath = '(none)';

  for await (const input of source) {
    let chunk = carry ? Buffer.concat([carry, input]) : input;
    carry = undefined;
    let off = 0;
    while (off < chunk.length && state !== 'eof') {
      if (state === 'header') {
        if (chunk.length - off < BLOCK) {
          carry = Buffer.from(chunk.subarray(off));
          off = chunk.length;
          break;
        }
        const h = chunk.subarray(off, off + BLOCK);
        off += BLOCK;
        if (isZeroBlock(h)) {
          // End-of-archive marker; whatever follows is record padding.
          state = 'eof';
          break;
        }
        const { entry, rawSize } = parseHeader(h, next);
        const flag = entry.typeflag;
        if (flag === 'L' || flag === 'K' || flag === 'x' || flag === 'g') {
          if (rawSize > META_LIMIT) throw new TarFormatError(`tar metadata member of ${rawSize} bytes is implausible`);
          meta = { flag, parts: [], got: 0 };
          remaining = rawSize;
          pad = padding(rawSize);
          state = remaining > 0 ? 'meta' : 'pad';
          continue;
        }
        next = {};
        current = entry;
        lastPath = entry.path;
        // Only regular files carry content we hand on; others are skipped.
        emitData = entry.type === 'file';
        remaining = entry.type === 'file' || entry.type === 'other' ? entry.size : 0;
        pad = padding(remaining);
        yield { kind: 'entry', entry };
        if (remaining === 0) {
          yield { kind: 'end', entry };
          current = undefined;
          state = pad > 0 ? 'pad' : 'header';
        } else {
          state = 'data';
        }
      } else if (state === 'data') {
        const n = Math.min(remaining, chunk.length - off);
        if (emitData) yield { kind: 'data', chunk: chunk.subarray(off, off + n) };
        off += n;
        remaining -= n;
        if (remaining === 0) {
          yield { kind: 'end', entry: current! };
          current = undefined;
          state = pad > 0 ? 'pad' : 'header';
        }
      } else if (state === 'meta') {
        const n = Math.min(remaining, chunk.length - off);
        meta!.parts.push(Buffer.from(chunk.subarray(off, off + n)));
        meta!.got += n;
        off += n;
        remaining -= n;
        if (remaining === 0) {
          const data = Buffer.concat(meta!.parts);
          if (meta!.flag === 'L') next.path = cstring(data, 0, data.length);
          else if (meta!.flag === 'K') next.linkName = cstring(data, 0, data.length);
          else if (meta!.flag === 'x') {
            const pax = parsePax(data);
            if (pax.has('path')) next.path = pax.get('path');
            if (pax.has('linkpath')) next.linkName = pax.get('linkpath');
            if (pax.has('size')) {
              const s = Number(pax.get('size'));
              if (!Number.isSafeInteger(s) || s < 0) throw new TarFormatError(`invalid pax size ${pax.get('size')}`);
              next.size = s;
            }
          }
          meta = undefined;
          state = pad > 0 ? 'pad' : 'header';
        }
      } else if (state === 'pad') {
        const n = Math.min(pad, chunk.length - off);
        off += n;
        pad -= n;
        if (pad === 0) state = 'header';
      }
    }
  }
  if (state === 'meta') throw new TarFormatError('archive ended in the middle of an extended header');
  if (state === 'data' || state === 'pad') {
    throw new TarFormatError(`archive ended in the middle of member ${JSON.stringify(lastPath)}`);
  }
  if (carry) throw new TarFormatError('archive ended in the middle of a header');
}
