// age X25519 keys: the public recipient (age1…) is all a database host needs
// to encrypt; the identity (AGE-SECRET-KEY-1…) is needed only to restore.
// Metadata and error messages name a key by its fingerprint, never the key.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { bech32Decode, bech32Encode } from './bech32.js';
import { AgeError } from './age-error.js';

const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'age-secret-key-';
// DER prefixes of a raw 32-byte X25519 key (RFC 8410): Node imports keys as DER.
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface AgeRecipient {
  /** The age1… string. */
  readonly text: string;
  /** Raw 32-byte X25519 public key. */
  readonly publicKey: Buffer;
  readonly fingerprint: string;
}

export interface AgeIdentity {
  readonly recipient: AgeRecipient;
  readonly fingerprint: string;
  /** Node key object; the raw secret is not kept in a plain buffer. */
  readonly privateKey: KeyObject;
}

/**
 * Name of a key for metadata and messages: SHA-256 over the raw public key,
 * first 16 bytes in hex. The same for a recipient and its identity.
 */
export function keyFingerprint(publicKey: Uint8Array): string {
  return `age-x25519:${createHash('sha256').update('backup_mgmt age fingerprint\0').update(publicKey).digest('hex').slice(0, 32)}`;
}

export function x25519PublicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new AgeError('X25519 public key must be 32 bytes');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
}

function makeRecipient(publicKey: Buffer): AgeRecipient {
  return { text: bech32Encode(RECIPIENT_HRP, publicKey), publicKey, fingerprint: keyFingerprint(publicKey) };
}

/** The 32 key bytes of a bech32 key string; messages never echo the input (it may be a secret). */
function decodeKey(s: string, shape: RegExp, hrp: string, what: string, expected: string): Buffer {
  if (!shape.test(s)) throw new AgeError(`not an age X25519 ${what}: expected ${expected}`);
  let decoded: { hrp: string; data: Buffer };
  try {
    decoded = bech32Decode(s);
  } catch (e) {
    throw new AgeError(`not an age X25519 ${what}: ${(e as Error).message}`);
  }
  if (decoded.hrp !== hrp || decoded.data.length !== 32) throw new AgeError(`not an age X25519 ${what}`);
  return decoded.data;
}

export function parseRecipient(text: string): AgeRecipient {
  const s = text.trim();
  const data = decodeKey(s, /^age1[02-9ac-hj-np-z]{58}$/, RECIPIENT_HRP, 'recipient', '"age1" followed by 58 bech32 characters (lower case)');
  // Encoding back must give the same string: no alternative spellings.
  if (bech32Encode(RECIPIENT_HRP, data) !== s) throw new AgeError('not a canonical age recipient');
  return makeRecipient(data);
}

function identityFromRaw(secret: Buffer): AgeIdentity {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  const recipient = makeRecipient(rawPublicKey(createPublicKey(privateKey)));
  return { recipient, fingerprint: recipient.fingerprint, privateKey };
}

export function parseIdentity(text: string): AgeIdentity {
  const data = decodeKey(text.trim(), /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/, IDENTITY_HRP, 'identity', '"AGE-SECRET-KEY-1" followed by 58 bech32 characters (upper case)');
  try {
    return identityFromRaw(data);
  } finally {
    data.fill(0);
  }
}

/**
 * The identities in an age identity file (as age-keygen writes it): comment
 * lines (#) and blank lines are skipped, every other line must be a key.
 */
export function parseIdentityFile(content: string): AgeIdentity[] {
  const out: AgeIdentity[] = [];
  const lines = content.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      out.push(parseIdentity(line));
    } catch (e) {
      throw new AgeError(`identity file line ${i + 1}: ${(e as Error).message}`);
    }
  }
  if (out.length === 0) throw new AgeError('identity file holds no AGE-SECRET-KEY-1 line');
  return out;
}

/** A new key pair; `secret` is the AGE-SECRET-KEY-1… string to store offline. */
export function generateIdentity(): { identity: AgeIdentity; secret: string } {
  const { privateKey } = generateKeyPairSync('x25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const raw = Buffer.from(der.subarray(der.length - 32));
  const secret = bech32Encode(IDENTITY_HRP, raw, true);
  raw.fill(0);
  return { identity: parseIdentity(secret), secret };
}
