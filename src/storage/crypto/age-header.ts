// The age v1 header (https://age-encryption.org/v1): a version line, one
// X25519 stanza per recipient wrapping the 16-byte file key, and an
// HMAC-SHA256 over all of it keyed from the file key.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  timingSafeEqual,
} from 'node:crypto';
import { AgeError } from './age-error.js';
import { rawPublicKey, x25519PublicKeyObject, type AgeIdentity, type AgeRecipient } from './age-keys.js';

export const VERSION_LINE = 'age-encryption.org/v1';
const X25519_LABEL = 'age-encryption.org/v1/X25519';
const COLUMNS = 64;
/** A header is a few hundred bytes per recipient; refuse to buffer absurd ones. */
export const MAX_HEADER_BYTES = 64 * 1024;

export interface Stanza {
  type: string;
  args: string[];
  body: Buffer;
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}

function seal(key: Buffer, plaintext: Buffer): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

function open(key: Buffer, sealed: Buffer): Buffer | undefined {
  if (sealed.length < 16) return undefined;
  const d = createDecipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
  } catch {
    return undefined;
  }
}

/** Standard base64 without padding, as age writes it. */
export function b64(buf: Uint8Array): string {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '');
}

/** Strict decoding: only the canonical unpadded encoding is accepted. */
export function unb64(s: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) throw new AgeError(`malformed header: invalid base64 in ${what}`);
  const buf = Buffer.from(s, 'base64');
  if (b64(buf) !== s) throw new AgeError(`malformed header: non-canonical base64 in ${what}`);
  return buf;
}

function isZero(buf: Uint8Array): boolean {
  let acc = 0;
  for (const b of buf) acc |= b;
  return acc === 0;
}

function sharedSecret(identity: AgeIdentity['privateKey'], peer: Uint8Array): Buffer {
  const shared = diffieHellman({ privateKey: identity, publicKey: x25519PublicKeyObject(peer) });
  // A low-order peer point gives all zeros; the spec requires refusing it.
  if (isZero(shared)) throw new AgeError('X25519 shared secret is all zeros (low-order point)');
  return shared;
}

function wrapX25519(fileKey: Buffer, recipient: AgeRecipient): Stanza {
  const eph = generateKeyPairSync('x25519');
  const share = rawPublicKey(eph.publicKey);
  const shared = sharedSecret(eph.privateKey, recipient.publicKey);
  const wrapKey = hkdf(shared, Buffer.concat([share, recipient.publicKey]), X25519_LABEL);
  return { type: 'X25519', args: [b64(share)], body: seal(wrapKey, fileKey) };
}

/** The file key if this stanza was made for `identity`, else undefined. */
function unwrapX25519(stanza: Stanza, identity: AgeIdentity): Buffer | undefined {
  if (stanza.args.length !== 1) throw new AgeError('malformed header: X25519 stanza must have one argument');
  const share = unb64(stanza.args[0]!, 'X25519 share');
  if (share.length !== 32) throw new AgeError('malformed header: X25519 share must be 32 bytes');
  if (stanza.body.length !== 32) throw new AgeError('malformed header: X25519 stanza body must be 32 bytes');
  const shared = sharedSecret(identity.privateKey, share);
  const wrapKey = hkdf(shared, Buffer.concat([share, identity.recipient.publicKey]), X25519_LABEL);
  return open(wrapKey, stanza.body);
}

function stanzaText(s: Stanza): string {
  const enc = b64(s.body);
  const lines: string[] = [];
  for (let i = 0; i < enc.length; i += COLUMNS) lines.push(enc.slice(i, i + COLUMNS));
  // The last body line is always shorter than a full line, possibly empty.
  if (enc.length % COLUMNS === 0) lines.push('');
  return `-> ${[s.type, ...s.args].join(' ')}\n${lines.join('\n')}\n`;
}

function headerMac(fileKey: Buffer, headerUpToDashes: string): Buffer {
  return createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header')).update(headerUpToDashes, 'latin1').digest();
}

/** Header bytes for a new file encrypted to `recipients` under `fileKey`. */
export function writeHeader(fileKey: Buffer, recipients: readonly AgeRecipient[]): Buffer {
  if (recipients.length === 0) throw new AgeError('no recipients');
  const text = `${VERSION_LINE}\n${recipients.map((r) => stanzaText(wrapX25519(fileKey, r))).join('')}---`;
  return Buffer.from(`${text} ${b64(headerMac(fileKey, text))}\n`, 'latin1');
}

/**
 * Where the header ends in `buf` (the index after its final newline), or
 * undefined while it is not complete. Throws when `buf` cannot be an age file.
 */
export function headerEnd(buf: Buffer): number | undefined {
  const prefix = Buffer.from(`${VERSION_LINE}\n`, 'latin1');
  const n = Math.min(prefix.length, buf.length);
  if (!buf.subarray(0, n).equals(prefix.subarray(0, n))) {
    throw new AgeError(`not an age v1 file (it does not start with "${VERSION_LINE}")`);
  }
  // The footer is the first line starting with "---": stanza lines start
  // with "-> " and body lines are base64, which has no "-".
  const at = buf.indexOf('\n---', 0, 'latin1');
  const eol = at < 0 ? -1 : buf.indexOf(0x0a, at + 1);
  if (eol >= 0) return eol + 1;
  if (buf.length > MAX_HEADER_BYTES) throw new AgeError(`header longer than ${MAX_HEADER_BYTES} bytes`);
  return undefined;
}

interface ParsedHeader {
  stanzas: Stanza[];
  /** The header text the MAC covers: up to and including "---". */
  macInput: string;
  mac: Buffer;
}

/** Parse a complete header (as delimited by headerEnd), strictly. */
export function parseHeader(header: Buffer): ParsedHeader {
  for (const b of header) {
    if (b !== 0x0a && (b < 0x20 || b > 0x7e)) throw new AgeError('malformed header: non-printable byte');
  }
  const text = header.toString('latin1');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== VERSION_LINE) throw new AgeError('malformed header: bad version line');
  const stanzas: Stanza[] = [];
  let i = 1;
  while (i < lines.length && lines[i]!.startsWith('-> ')) {
    const args = lines[i]!.slice(3).split(' ');
    if (args.some((a) => !/^[\x21-\x7e]+$/.test(a))) throw new AgeError('malformed header: bad stanza argument');
    i++;
    const bodyLines: string[] = [];
    for (;;) {
      const line = lines[i];
      if (line === undefined || line.startsWith('-')) throw new AgeError('malformed header: stanza body not terminated');
      if (line.length > COLUMNS) throw new AgeError('malformed header: stanza body line too long');
      bodyLines.push(line);
      i++;
      if (line.length < COLUMNS) break;
    }
    stanzas.push({ type: args[0]!, args: args.slice(1), body: unb64(bodyLines.join(''), 'stanza body') });
  }
  if (i !== lines.length - 1) throw new AgeError('malformed header: unexpected line');
  const footer = lines[i]!;
  const m = /^--- ([A-Za-z0-9+/]{43})$/.exec(footer);
  if (!m) throw new AgeError('malformed header: bad MAC line');
  if (stanzas.length === 0) throw new AgeError('malformed header: no recipient stanzas');
  const macInput = text.slice(0, text.length - footer.length - 1) + '---';
  return { stanzas, macInput, mac: unb64(m[1]!, 'header MAC') };
}

export interface UnwrapOptions {
  identities: readonly AgeIdentity[];
  /** The fingerprint the repository's metadata says the file was encrypted to. */
  expectedFingerprint?: string;
}

/** Find the file key with one of the identities and check the header MAC. */
export function unwrapHeader(header: ParsedHeader, opts: UnwrapOptions): Buffer {
  if (header.stanzas.some((s) => s.type === 'scrypt')) {
    throw new AgeError('passphrase-encrypted (scrypt) files are not supported: use an X25519 identity');
  }
  let fileKey: Buffer | undefined;
  outer: for (const s of header.stanzas) {
    if (s.type !== 'X25519') continue; // another recipient type (or grease): not ours
    for (const id of opts.identities) {
      const k = unwrapX25519(s, id);
      if (k) {
        fileKey = k;
        break outer;
      }
    }
  }
  const given = opts.identities.map((id) => id.fingerprint).join(', ');
  if (!fileKey) {
    if (opts.expectedFingerprint && !opts.identities.some((id) => id.fingerprint === opts.expectedFingerprint)) {
      throw new AgeError(`wrong key: the file is encrypted to ${opts.expectedFingerprint}, the identity given is ${given}`);
    }
    throw new AgeError(`no identity opens this file (identity given: ${given}${opts.expectedFingerprint ? `; expected ${opts.expectedFingerprint}: the header is damaged` : ''})`);
  }
  if (fileKey.length !== 16) throw new AgeError('malformed header: file key must be 16 bytes');
  const mac = headerMac(fileKey, header.macInput);
  if (!timingSafeEqual(mac, header.mac)) throw new AgeError('header MAC mismatch: the header was modified');
  return fileKey;
}
