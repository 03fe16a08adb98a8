// The `--config` env file in use, as archive_command / restore_command lines
// must name it: PostgreSQL runs them with the server's environment only.
// The path goes into a shell line that PostgreSQL also scans for `%`, so
// only plain path characters are accepted.
import { isAbsolute } from 'node:path';
import { CONFIG_ENV } from '../storage/offsite/env-file.js';

const SAFE_PATH_RE = /^\/[A-Za-z0-9_.\/@+-]*$/;

export class ConfigPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigPathError';
  }
}

/** An absolute path of plain characters, or a one-line error. */
export function assertConfigPath(path: string): string {
  if (!isAbsolute(path) || !SAFE_PATH_RE.test(path) || path.split('/').includes('..')) {
    throw new ConfigPathError(`config file ${JSON.stringify(path.slice(0, 200))}: use an absolute path of letters, digits and _ . / @ + -`);
  }
  return path;
}

/** The config file this process runs with ($BACKUP_MGMT_CONFIG, set absolute by `--config`), or undefined. */
export function configFileInUse(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env[CONFIG_ENV];
  return file ? assertConfigPath(file) : undefined;
}
