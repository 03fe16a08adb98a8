// The repeatable part of an install: every .sql file under sql/ (functions,
// views, grants), applied in path order, identified by one checksum so that a
// second `migrate up` with nothing changed does nothing.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sqlDir } from '../util/paths.js';

export interface SqlFile {
  path: string;
  sql: string;
}

export interface SqlBundle {
  files: SqlFile[];
  sha256: string;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.sql') ? [join(dir, e.name)] : []));
}

export function readSqlBundle(root = sqlDir()): SqlBundle {
  const files = walk(root).map((abs) => ({ path: relative(root, abs), sql: readFileSync(abs, 'utf8') }));
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.path}\0${f.sql}\0`);
  return { files, sha256: hash.digest('hex') };
}
