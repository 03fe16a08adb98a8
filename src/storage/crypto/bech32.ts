// Bech32 (BIP 173 checksum, not bech32m) as age uses it for its keys: age1…
// recipients and AGE-SECRET-KEY-1… identities. age does not apply BIP 173's
// 90-character limit, so neither do we; everything else is checked strictly.

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i]!;
  }
  return chk;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >>> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

/** Regroup bits; `pad` false rejects leftover non-zero or over-long padding. */
function convertBits(data: Uint8Array | readonly number[], from: number, to: number, pad: boolean): number[] {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (const value of data) {
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >>> bits) & maxv);
    }
    acc &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || acc !== 0) {
    throw new Error('bech32: invalid padding');
  }
  return out;
}

/** Encode `data` under `hrp`; upper case on request (age identities are upper case). */
export function bech32Encode(hrp: string, data: Uint8Array, upper = false): string {
  const lower = hrp.toLowerCase();
  const words = convertBits(data, 8, 5, true);
  const values = [...hrpExpand(lower), ...words, 0, 0, 0, 0, 0, 0];
  const mod = polymod(values) ^ 1;
  const checksum: number[] = [];
  for (let i = 0; i < 6; i++) checksum.push((mod >>> (5 * (5 - i))) & 31);
  const s = `${lower}1${[...words, ...checksum].map((w) => CHARSET[w]).join('')}`;
  return upper ? s.toUpperCase() : s;
}

/** Decode a bech32 string; the human-readable part is returned in lower case. */
export function bech32Decode(s: string): { hrp: string; data: Buffer } {
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) throw new Error('bech32: mixed case');
  const str = s.toLowerCase();
  const sep = str.lastIndexOf('1');
  if (sep < 1 || sep + 7 > str.length) throw new Error('bech32: separator misplaced');
  const hrp = str.slice(0, sep);
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i);
    if (c < 33 || c > 126) throw new Error('bech32: invalid character in prefix');
  }
  const values: number[] = [];
  for (const ch of str.slice(sep + 1)) {
    const v = CHARSET.indexOf(ch);
    if (v < 0) throw new Error('bech32: invalid character');
    values.push(v);
  }
  if (polymod([...hrpExpand(hrp), ...values]) !== 1) throw new Error('bech32: bad checksum');
  return { hrp, data: Buffer.from(convertBits(values.slice(0, -6), 5, 8, false)) };
}
