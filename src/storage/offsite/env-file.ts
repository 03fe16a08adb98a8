// `--config <file>` / $BACKUP_MGMT_CONFIG: KEY=VALUE lines that fill the
// environment of the agent and of archive_command/restore_command, which
// PostgreSQL starts with the server's environment only. Only BACKUP_MGMT_*
// and AWS_* keys are taken; what the real environment sets wins.
import { readFileSync } from 'node:fs';

export const CONFIG_ENV = 'BACKUP_MGMT_CONFIG';
const KEY_RE = /^(BACKUP_MGMT_[A-Z0-9_]+|AWS_[A-Z0-9_]+)$/;

export class EnvFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvFileError';
  }
}

/** Parse KEY=VALUE lines (# comments, blank lines, optional single or double quotes). */
export function parseEnvFile(text: string, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    if (eq < 0 || !KEY_RE.test(key)) {
      throw new EnvFileError(`${path}:${i + 1}: expected BACKUP_MGMT_…=value or AWS_…=value`);
    }
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) value = value.slice(1, -1);
    if (value.includes('\0')) throw new EnvFileError(`${path}:${i + 1}: NUL byte in value`);
    out[key] = value;
  });
  return out;
}

/** Load `path` (or $BACKUP_MGMT_CONFIG) into `env` where `env` has no value yet. */
export function applyEnvFile(path: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = path ?? (env[CONFIG_ENV] || undefined);
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new EnvFileError(`config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  for (const [k, v] of Object.entries(parseEnvFile(text, file))) if (env[k] === undefined || env[k] === '') env[k] = v;
  return file;
}
