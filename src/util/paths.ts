// Locates files shipped with the package (migrations/, sql/) whether the code
// runs from src/ under tsx/vitest or from the compiled dist/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'migrations'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('backup_mgmt: cannot find the package root (migrations/ beside package.json)');
    dir = parent;
  }
  cached = dir;
  return dir;
}

export const migrationsDir = () => join(packageRoot(), 'migrations');
export const sqlDir = () => join(packageRoot(), 'sql');
/** The compiled CLI entry point, for archive_command and restore_command lines. */
export const cliEntry = () => join(packageRoot(), 'dist', 'cli', 'main.js');
