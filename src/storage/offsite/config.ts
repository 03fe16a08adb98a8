// The off-host repository and its encryption, from the environment (which a
// `--config` env file may fill, see env-file.ts). Credentials, endpoint and
// region stay with the AWS SDK's own environment/config: nothing of them is
// read or stored here. Cheap on purpose: archive_command loads it per WAL file.
import { readFileSync } from 'node:fs';
import { AgeError } from '../crypto/age-error.js';
import { parseIdentityFile, parseRecipient, type AgeIdentity, type AgeRecipient } from '../crypto/age-keys.js';

export const OFFSITE_ENV = 'BACKUP_MGMT_REPO_S3';
export const RECIPIENT_ENV = 'BACKUP_MGMT_ENCRYPT_RECIPIENT';
export const IDENTITY_FILE_ENV = 'BACKUP_MGMT_DECRYPT_IDENTITY_FILE';

export class OffsiteConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OffsiteConfigError';
  }
}

export interface Encryption {
  /** Who can read what is written (public keys only: enough to back up). */
  recipients: readonly AgeRecipient[];
  /** Fingerprints of the recipients, for the catalog and repository metadata. */
  fingerprints: readonly string[];
  /** Loaded on first use: only restores, verification and wal-fetch need the private key. */
  identities(): readonly AgeIdentity[];
}

export interface OffsiteConfig {
  /** s3://bucket/prefix */
  location: string;
  encryption: Encryption;
}

export function parseRecipients(text: string): AgeRecipient[] {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) throw new OffsiteConfigError(`${RECIPIENT_ENV} is empty: give an age public key (age1…)`);
  try {
    return parts.map(parseRecipient);
  } catch (e) {
    throw new OffsiteConfigError(`${RECIPIENT_ENV}: ${(e as AgeError).message}`);
  }
}

/** Identities from an age identity file; a one-line error naming what was expected. */
export function loadIdentities(path: string | undefined, expected: readonly string[]): AgeIdentity[] {
  const want = expected.length > 0 ? ` (the repository is encrypted to ${expected.join(', ')})` : '';
  if (!path) throw new OffsiteConfigError(`no private key: set ${IDENTITY_FILE_ENV} to an age identity file${want}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new OffsiteConfigError(`${IDENTITY_FILE_ENV} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}${want}`);
  }
  try {
    return parseIdentityFile(text);
  } catch (e) {
    throw new OffsiteConfigError(`${IDENTITY_FILE_ENV} ${path}: ${(e as Error).message}${want}`);
  }
}

/** Encryption to `recipients`; identities come from the identity file when first asked for. */
export function encryptionFor(recipients: readonly AgeRecipient[], env: NodeJS.ProcessEnv = process.env): Encryption {
  const fingerprints = recipients.map((r) => r.fingerprint);
  let loaded: AgeIdentity[] | undefined;
  return {
    recipients,
    fingerprints,
    identities: () => (loaded ??= loadIdentities(env[IDENTITY_FILE_ENV] || undefined, fingerprints)),
  };
}

/** Encryption for reading only (restore from a repository this host did not write). */
export function decryptionOnly(expectedFingerprints: readonly string[], env: NodeJS.ProcessEnv = process.env): Encryption {
  let loaded: AgeIdentity[] | undefined;
  return {
    recipients: [],
    fingerprints: expectedFingerprints,
    identities: () => (loaded ??= loadIdentities(env[IDENTITY_FILE_ENV] || undefined, expectedFingerprints)),
  };
}

/**
 * The configured off-host repository, or undefined when there is none. What
 * leaves the host is encrypted: an S3 repository without a recipient is a
 * configuration error, not a silent plaintext upload.
 */
export function offsiteConfig(env: NodeJS.ProcessEnv = process.env): OffsiteConfig | undefined {
  const location = env[OFFSITE_ENV]?.trim();
  if (!location) return undefined;
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9._\/-]*)?$/.test(location)) {
    throw new OffsiteConfigError(`${OFFSITE_ENV} must be s3://bucket/prefix (letters, digits, . _ - /), not ${JSON.stringify(location.slice(0, 80))}`);
  }
  const recipientText = env[RECIPIENT_ENV]?.trim();
  if (!recipientText) {
    throw new OffsiteConfigError(`${OFFSITE_ENV} is set but ${RECIPIENT_ENV} is not: backups leave this host only encrypted; give an age public key (age1…)`);
  }
  return { location: location.replace(/\/+$/, ''), encryption: encryptionFor(parseRecipients(recipientText), env) };
}
