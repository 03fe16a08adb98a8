// The cheap periodic check of stored backups: every file a backup stored is
// still there under its name with its size. Not a verification (no byte is
// read); it catches files deleted or truncated behind the catalog's back
// before a restore trips over them, and tells the catalog both ways.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorText, type Logger } from './log.js';
import type { AgentSql } from './sql.js';

interface StoredFileRow {
  name?: unknown;
  bytes?: unknown;
}

/** What is wrong with one backup's files, or undefined when all are there. */
async function problems(path: string, files: StoredFileRow[]): Promise<string | undefined> {
  const wrong: string[] = [];
  for (const f of files) {
    if (typeof f.name !== 'string' || f.name.includes('/') || f.name.startsWith('.')) continue;
    try {
      const st = await stat(join(path, f.name));
      if (typeof f.bytes === 'number' && st.size !== f.bytes) wrong.push(`${join(path, f.name)} has ${st.size} bytes, stored ${f.bytes}`);
    } catch (e) {
      wrong.push(`${join(path, f.name)}: ${(e as NodeJS.ErrnoException).code ?? errorText(e)}`);
    }
  }
  return wrong.length ? wrong.join('; ') : undefined;
}

/** One pass over the repository's stored backups; resolves to how many changed state in the catalog. */
export async function checkStoredBackups(sql: AgentSql, repositoryRoot: string, log: Logger): Promise<number> {
  let changed = 0;
  for (const b of await sql.storedBackups(repositoryRoot)) {
    const wrong = await problems(b.repositoryPath, b.storedFiles);
    if (wrong === undefined && b.filesPresent !== false) continue;
    if (await sql.reportBackupPresence(b.backupHk, wrong === undefined, wrong ?? null)) {
      changed++;
      if (wrong) log('error', `backup ${b.backupBk}: stored files missing: ${wrong}`);
      else log('info', `backup ${b.backupBk}: its stored files are back`);
    }
  }
  return changed;
}
