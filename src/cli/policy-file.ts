// Reads a policy file: .json as data; .js/.mjs/.cjs as a module whose default
// export (or export `policy`) is the policy. A .ts file loads when Node has a
// TypeScript loader (node --import tsx …); the CLI itself ships compiled JS
// and needs none. Every error is one line naming the file and the path in it.
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BackupPolicyError, parseBackupPolicy, type BackupPolicy } from '../client/policy/index.js';
import { CliError } from './errors.js';

const MODULES = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);
const TS_HINT =
  'Node runs TypeScript only with a loader: `node --import tsx "$(command -v backup-mgmt)" policy plan FILE.ts` (tsx installed in your project), or compile the file to .js/.mjs (tsc) first';

async function readModule(path: string): Promise<unknown> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION') throw new CliError(`${path}: ${TS_HINT}`, 1);
    // defineBackupPolicy() validates while the module loads.
    if (e instanceof Error && e.name === 'BackupPolicyError') throw new CliError(`${path}: ${e.message}`, 1);
    throw new CliError(`${path}: cannot load the policy module: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, 1);
  }
  const policy = mod.default ?? mod.policy;
  if (policy === undefined) throw new CliError(`${path}: the module exports no policy (export default defineBackupPolicy({...}))`, 1);
  return policy;
}

export async function loadPolicyFile(file: string): Promise<BackupPolicy> {
  const path = resolve(file);
  const ext = extname(path).toLowerCase();
  let raw: unknown;
  if (ext === '.json') {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new CliError(`${path}: cannot read the policy file: ${(e as Error).message}`, 1);
    }
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new CliError(`${path}: not valid JSON: ${(e as Error).message}`, 1);
    }
  } else if (MODULES.has(ext)) {
    raw = await readModule(path);
  } else {
    throw new CliError(`${path}: a policy file ends in .json, .js or .mjs (or .ts with a TypeScript loader)`, 1);
  }
  try {
    return parseBackupPolicy(raw);
  } catch (e) {
    if (e instanceof BackupPolicyError) throw new CliError(`${path}: ${e.message}`, 1);
    throw e;
  }
}
