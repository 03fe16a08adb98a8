// Encryption at rest in the age v1 format, on Node's native crypto.
export { AgeError } from './age-error.js';
export {
  generateIdentity,
  keyFingerprint,
  parseIdentity,
  parseIdentityFile,
  parseRecipient,
  type AgeIdentity,
  type AgeRecipient,
} from './age-keys.js';
export type { UnwrapOptions } from './age-header.js';
export { AgeDecryptStream, AgeEncryptStream, CHUNK_SIZE, decryptStream, encryptStream } from './age-stream.js';
