// The per-file checksum algorithms a backup manifest may name
// (src/common/checksum_helper.c): CRC32C and the SHA-2 family.
import { createHash } from 'node:crypto';

export interface FileChecksum {
  update(chunk: Uint8Array): void;
  /** Lower-case hex, byte for byte as PostgreSQL writes it in the manifest. */
  digestHex(): string;
}

const SHA_ALGORITHMS: Readonly<Record<string, string>> = {
  SHA224: 'sha224',
  SHA256: 'sha256',
  SHA384: 'sha384',
  SHA512: 'sha512',
};

// Slicing-by-8 tables for CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
const CRC_TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k]![n] = (t[k - 1]![n]! >>> 8) ^ t[0]![t[k - 1]![n]! & 0xff]!;
  }
  return t;
})();

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function crc32cUpdate(crc: number, buf: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = crc >>> 0;
  let i = 0;
  const n = buf.length;
  // Bytewise up to a 4-byte boundary, so the bulk can be read as 32-bit words.
  while (i < n && (buf.byteOffset + i) % 4 !== 0) c = t0[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  if (LITTLE_ENDIAN) {
    const words = Math.floor((n - i) / 8) * 2;
    const w = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
    for (let k = 0; k < words; k += 2) {
      const lo = c ^ w[k]!;
      const hi = w[k + 1]!;
      c =
        t7[lo & 0xff]! ^
        t6[(lo >>> 8) & 0xff]! ^
        t5[(lo >>> 16) & 0xff]! ^
        t4[lo >>> 24]! ^
        t3[hi & 0xff]! ^
        t2[(hi >>> 8) & 0xff]! ^
        t1[(hi >>> 16) & 0xff]! ^
        t0[hi >>> 24]!;
    }
    i += words * 4;
  }
  for (; i < n; i++) c = t0[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

class Crc32c implements FileChecksum {
  private crc = 0xffffffff;
  update(chunk: Uint8Array): void {
    this.crc = crc32cUpdate(this.crc, chunk);
  }
  digestHex(): string {
    // PostgreSQL memcpy()s the uint32 into the manifest: little-endian here.
    const out = Buffer.alloc(4);
    out.writeUInt32LE((this.crc ^ 0xffffffff) >>> 0, 0);
    return out.toString('hex');
  }
}

/** A checksum context for a manifest algorithm name, or undefined if unsupported. */
export function createFileChecksum(algorithm: string): FileChecksum | undefined {
  const upper = algorithm.toUpperCase();
  if (upper === 'CRC32C') return new Crc32c();
  const sha = SHA_ALGORITHMS[upper];
  if (!sha) return undefined;
  const h = createHash(sha);
  return { update: (c) => void h.update(c), digestHex: () => h.digest('hex') };
}
