// age-format encryption on Node's crypto, checked against Debian's age CLI
// (installed by .ci/ensure-deps.sh): each side decrypts what the other wrote,
// and every kind of damage is refused in one line.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgeError,
  CHUNK_SIZE,
  decryptStream,
  encryptStream,
  generateIdentity,
  parseIdentity,
  parseIdentityFile,
  parseRecipient,
  type AgeIdentity,
  type AgeRecipient,
} from '../../src/storage/crypto/index.js';

const MiB = 1024 * 1024;
const SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 5 * MiB];

function cli(cmd: string, args: string[], input?: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(cmd, args, { input, maxBuffer: 64 * MiB, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Feed `data` in pieces of `piece` bytes (odd sizes exercise the chunking). */
function pieces(data: Buffer, piece: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += piece) parts.push(data.subarray(i, i + piece));
  return Readable.from(parts, { objectMode: false });
}

/** What the transform emitted, and the error that ended it (if any). */
async function collectUntilError(src: Readable, transform: NodeJS.ReadWriteStream): Promise<{ out: Buffer; err: unknown }> {
  const out: Buffer[] = [];
  const err = await pipeline(
    src,
    transform,
    new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { out: Buffer.concat(out), err };
}

async function collect(src: Readable, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const { out, err } = await collectUntilError(src, transform);
  if (err) throw err;
  return out;
}

function encrypt(data: Buffer, recipients: AgeRecipient[], piece = 100_003): Promise<Buffer> {
  return collect(pieces(data, piece), encryptStream(recipients));
}

function decrypt(data: Buffer, identities: AgeIdentity[], piece = 77_777, expectedFingerprint?: string): Promise<Buffer> {
  return collect(pieces(data, piece), decryptStream({ identities, expectedFingerprint }));
}

async function decryptError(data: Buffer, identities: AgeIdentity[], expectedFingerprint?: string): Promise<string> {
  const { err } = await collectUntilError(pieces(data, 65_000), decryptStream({ identities, expectedFingerprint }));
  expect(err).toBeInstanceOf(AgeError);
  const msg = (err as Error).message;
  expect(msg).not.toContain('\n');
  expect(msg).toMatch(/^age: /);
  return msg;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let work: string;
let keyFile: string;
let cliIdentity: AgeIdentity;
let ours: { identity: AgeIdentity; secret: string };
let ourKeyFile: string;

beforeAll(async () => {
  for (const tool of ['age', 'age-keygen']) {
    const r = spawnSync(tool, ['--version']);
    if (r.error || r.status !== 0) throw new Error(`${tool} not found: install the Debian package age (run: bash .ci/ensure-deps.sh, as root)`);
  }
  work = await mkdtemp(join(tmpdir(), 'bm-age-'));
  keyFile = join(work, 'cli-key.txt');
  expect(cli('age-keygen', ['-o', keyFile]).status).toBe(0);
  cliIdentity = parseIdentityFile(readFileSync(keyFile, 'utf8'))[0]!;
  ours = generateIdentity();
  ourKeyFile = join(work, 'our-key.txt');
  await writeFile(ourKeyFile, `# made by backup_mgmt's generateIdentity()\n${ours.secret}\n`, { mode: 0o600 });
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('keys', () => {
  it('reads age-keygen identities and derives the same recipient the CLI prints', async () => {
    const text = readFileSync(keyFile, 'utf8');
    const printed = /# public key: (age1[a-z0-9]+)/.exec(text)![1]!;
    expect(cliIdentity.recipient.text).toBe(printed);
    expect(parseRecipient(printed).fingerprint).toBe(cliIdentity.fingerprint);
  });

  it('generates identities the CLI accepts, with the recipient the CLI derives', () => {
    const y = cli('age-keygen', ['-y', ourKeyFile]);
    expect(y.status).toBe(0);
    expect(y.stdout.toString().trim()).toBe(ours.identity.recipient.text);
  });

  it('fingerprints name a key without revealing it, the same from either half', () => {
    expect(ours.identity.fingerprint).toMatch(/^age-x25519:[0-9a-f]{32}$/);
    expect(parseRecipient(ours.identity.recipient.text).fingerprint).toBe(ours.identity.fingerprint);
    expect(ours.identity.fingerprint).not.toContain(ours.identity.recipient.text.slice(4, 20));
    expect(cliIdentity.fingerprint).not.toBe(ours.identity.fingerprint);
  });

  it('refuses malformed keys without echoing them', () => {
    const r = ours.identity.recipient.text;
    const flipped = r.slice(0, -1) + (r.endsWith('q') ? 'p' : 'q');
    for (const bad of [flipped, r.toUpperCase(), r.slice(0, -2), `${r}q`, 'age1', 'ssh-ed25519 AAAA', '']) {
      expect(() => parseRecipient(bad), bad).toThrow(AgeError);
    }
    const s = ours.secret;
    const badSecret = s.slice(0, -1) + (s.endsWith('Q') ? 'P' : 'Q');
    for (const bad of [badSecret, s.toLowerCase(), s.slice(0, -3)]) {
      let msg = '';
      try {
        parseIdentity(bad);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg, 'refused').toMatch(/^age: not an age X25519 identity/);
      expect(msg).not.toContain(bad.slice(16, 40));
    }
    expect(() => parseIdentityFile('# only a comment\n')).toThrow(/holds no AGE-SECRET-KEY-1 line/);
    expect(() => parseIdentityFile(`# k\n${s}\nnot-a-key\n`)).toThrow(/^age: identity file line 3: /);
  });
});

describe('interoperability with the age CLI', () => {
  it.each(SIZES)('%i bytes: ours → age -d, age -r → ours, identical', async (size) => {
    const data = randomBytes(size);
    const mine = await encrypt(data, [cliIdentity.recipient]);
    const d = cli('age', ['-d', '-i', keyFile], mine);
    expect(d.status, d.stderr).toBe(0);
    expect(sha(d.stdout)).toBe(sha(data));

    const theirs = cli('age', ['-r', ours.identity.recipient.text], data);
    expect(theirs.status, theirs.stderr).toBe(0);
    expect(sha(await decrypt(theirs.stdout, [ours.identity]))).toBe(sha(data));
    // Our own round trip, fed one odd-sized piece at a time.
    expect(sha(await decrypt(await encrypt(data, [ours.identity.recipient], 4099), [ours.identity], 5003))).toBe(sha(data));
  });

  it('several recipients: each identity opens the file, with either tool', async () => {
    const data = randomBytes(200_000);
    const both = await encrypt(data, [cliIdentity.recipient, ours.identity.recipient]);
    expect(sha(cli('age', ['-d', '-i', keyFile], both).stdout)).toBe(sha(data));
    expect(sha(cli('age', ['-d', '-i', ourKeyFile], both).stdout)).toBe(sha(data));
    expect(sha(await decrypt(both, [ours.identity]))).toBe(sha(data));
    const theirs = cli('age', ['-r', cliIdentity.recipient.text, '-r', ours.identity.recipient.text], data).stdout;
    expect(sha(await decrypt(theirs, [ours.identity]))).toBe(sha(data));
  });
});

describe('damage and wrong keys fail cleanly', () => {
  let data: Buffer;
  let file: Buffer;
  let headerLen: number;

  beforeAll(async () => {
    data = randomBytes(3 * CHUNK_SIZE + 1000); // four chunks, the last one short
    file = await encrypt(data, [ours.identity.recipient]);
    headerLen = file.indexOf('\n---') + 1;
    headerLen = file.indexOf('\n', headerLen) + 1;
    expect(file.length).toBe(headerLen + 16 + data.length + 4 * 16);
  });

  function flip(at: number): Buffer {
    const copy = Buffer.from(file);
    copy[at] ^= 0x01;
    return copy;
  }

  it('a flipped byte anywhere is refused, by us and by the age CLI', async () => {
    const stanzaBody = file.indexOf('\n', file.indexOf('-> X25519')) + 5;
    const macAt = file.indexOf('\n---') + 10;
    const nonceAt = headerLen + 3;
    const chunk = (i: number) => headerLen + 16 + i * (CHUNK_SIZE + 16) + 100;
    const cases: Array<[string, number, RegExp]> = [
      ['version line', 3, /not an age v1 file/],
      ['stanza body', stanzaBody, /no identity opens this file|malformed header/],
      ['header MAC', macAt, /header MAC mismatch|malformed header/],
      ['payload nonce', nonceAt, /payload chunk 0 failed authentication/],
      ['first chunk', chunk(0), /payload chunk 0 failed authentication/],
      ['third chunk', chunk(2), /payload chunk 2 failed authentication/],
      ['last chunk', file.length - 20, /payload chunk 3 failed authentication/],
      ['last tag byte', file.length - 1, /payload chunk 3 failed authentication/],
    ];
    for (const [what, at, re] of cases) {
      const bad = flip(at);
      expect(await decryptError(bad, [ours.identity]), what).toMatch(re);
      expect(cli('age', ['-d', '-i', ourKeyFile], bad).status, `age CLI on ${what}`).not.toBe(0);
    }
  });

  it('never emits plaintext of a chunk that failed authentication', async () => {
    const bad = flip(headerLen + 16 + 2 * (CHUNK_SIZE + 16) + 5);
    const { out, err } = await collectUntilError(pieces(bad, 65_000), decryptStream({ identities: [ours.identity] }));
    expect(err).toBeInstanceOf(AgeError);
    expect(out.length).toBe(2 * CHUNK_SIZE);
    expect(out.equals(data.subarray(0, 2 * CHUNK_SIZE))).toBe(true);
  });

  it('truncation anywhere, or bytes appended, is refused', async () => {
    const cut = (n: number) => file.subarray(0, n);
    const cases: Array<[string, Buffer, RegExp]> = [
      ['empty', Buffer.alloc(0), /empty input/],
      ['inside the version line', cut(10), /truncated: the file ends inside the header/],
      ['inside the header', cut(headerLen - 5), /truncated: the file ends inside the header/],
      ['right after the header', cut(headerLen), /truncated: the file ends before the payload/],
      ['inside the nonce', cut(headerLen + 8), /truncated: the file ends before the payload/],
      ['right after the nonce', cut(headerLen + 16), /truncated: the payload is missing its last chunk/],
      ['inside a chunk', cut(headerLen + 16 + CHUNK_SIZE), /payload chunk 0 failed authentication: the file was modified or truncated/],
      ['at a chunk boundary', cut(headerLen + 16 + 2 * (CHUNK_SIZE + 16)), /payload chunk 1 failed authentication: the file was modified or truncated/],
      ['last byte missing', cut(file.length - 1), /payload chunk 3 failed authentication/],
      ['a byte appended', Buffer.concat([file, Buffer.from([0])]), /payload chunk 3 failed authentication/],
      ['a chunk appended', Buffer.concat([file, file.subarray(headerLen + 16, headerLen + 16 + CHUNK_SIZE + 16)]), /payload chunk 3 failed authentication/],
    ];
    for (const [what, bad, re] of cases) {
      expect(await decryptError(bad, [ours.identity]), what).toMatch(re);
      expect(cli('age', ['-d', '-i', ourKeyFile], bad).status, `age CLI on ${what}`).not.toBe(0);
    }
  });

  it('a full last chunk cannot be cut off at the chunk boundary unnoticed', async () => {
    const exact = randomBytes(2 * CHUNK_SIZE);
    const enc = await encrypt(exact, [ours.identity.recipient]);
    expect(await decryptError(enc.subarray(0, enc.length - (CHUNK_SIZE + 16)), [ours.identity])).toMatch(/payload chunk 0 failed authentication/);
  });

  it('a wrong key names the fingerprint expected', async () => {
    const other = generateIdentity().identity;
    expect(await decryptError(file, [other], ours.identity.fingerprint)).toBe(
      `age: wrong key: the file is encrypted to ${ours.identity.fingerprint}, the identity given is ${other.fingerprint}`,
    );
    expect(await decryptError(file, [other])).toBe(`age: no identity opens this file (identity given: ${other.fingerprint})`);
    expect(await decryptError(file, [cliIdentity, other], ours.identity.fingerprint)).toMatch(/^age: wrong key: the file is encrypted to age-x25519:[0-9a-f]{32}, the identity given is age-x25519:[0-9a-f]{32}, age-x25519:[0-9a-f]{32}$/);
    // The right key among others is found.
    expect(sha(await decrypt(file, [other, ours.identity]))).toBe(sha(data));
  });

  it('refuses headers age itself refuses: non-canonical base64, passphrase stanzas, no stanza', async () => {
    const text = file.subarray(0, headerLen).toString('latin1');
    const payload = file.subarray(headerLen);
    const rebuild = (h: string) => Buffer.concat([Buffer.from(h, 'latin1'), payload]);
    // A stanza argument with a trailing padding character.
    const share = /-> X25519 (\S+)/.exec(text)![1]!;
    expect(await decryptError(rebuild(text.replace(share, `${share}=`)), [ours.identity])).toMatch(/base64/);
    expect(await decryptError(rebuild(text.replace('-> X25519', '-> scrypt')), [ours.identity])).toMatch(/scrypt/);
    const noStanza = `age-encryption.org/v1\n${text.slice(text.indexOf('---'))}`;
    expect(await decryptError(rebuild(noStanza), [ours.identity])).toMatch(/no recipient stanzas/);
    // An unknown stanza type before ours is skipped, as age does; the MAC then fails because the header changed.
    const extra = text.replace('-> X25519', '-> other-type arg\n\n-> X25519');
    expect(await decryptError(rebuild(extra), [ours.identity])).toMatch(/header MAC mismatch/);
  });
});
