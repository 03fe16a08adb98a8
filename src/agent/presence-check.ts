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

/** Which of one backup's files are gone, and which changed size. */
async function problems(path: string, files: StoredFileRow[]): Promise<{ missing?: string; changed?: string }> {
  const missing: string[] = [];
  const changed: string[] = [];
  for (const f of files) {
    if (typeof f.name !== 'string' || f.name.includes('/') || f.name.startsWith('.')) continue;
    const file = join(path, f.name);
    try {
      const st = await stat(file);
      if (typeof f.bytes === 'number' && st.size !== f.bytes) changed.push(`${file} has ${st.size} bytes, stored ${f.bytes}`);
    } catch (e) {
      missing.push(`${file}: ${(e as NodeJS.ErrnoException).code ?? errorText(e)}`);
    }
  }
  return { missing: missing.length ? missing.join('; ') : undefined, changed: changed.length ? changed.join('; ') : undefined };
}

/** One pass over the repository's stored backups; resolves to how many changed state in the catalog. */
export async function checkStoredBackups(sql: AgentSql, repositoryRoot: string, log: Logger): Promise<number> {
  let n = 0;
  for (const b of await sql.storedBackups(repositoryRoot)) {
    const { missing, changed } = await problems(b.repositoryPath, b.storedFiles);
    if (missing === undefined && changed === undefined && b.filesPresent !== false) continue;
    if (await sql.reportBackupPresence(b.backupHk, missing ?? null, changed ?? null)) {
      n++;
      if (missing || changed) log('error', `backup ${b.backupBk}: stored files ${[missing && `missing: ${missing}`, changed && `changed: ${changed}`].filter(Boolean).join('; ')}`);
      else log('info', `backup ${b.backupBk}: its stored files are back`);
    }
  }
  return n;
}
