// The advisory-lock keys of sql/ are registered once, in sql/README.md: a key
// taken in the SQL but missing from the table (or listed but no longer
// taken) fails here, so two objects cannot pick one key by accident.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SQL = join(import.meta.dirname, '../../sql');

function sqlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sqlFiles(join(dir, e.name)) : e.name.endsWith('.sql') ? [join(dir, e.name)] : [],
  );
}

/** "(k1, k2)" with k2 as written: a literal, or hashtext(...) shortened to its function. */
const norm = (k1: string, k2: string) => `(${k1}, ${k2.trim().replace(/^hashtext\(.*\)$/, 'hashtext')})`;

describe('advisory-lock registry', () => {
  it('every lock key taken in sql/ is listed in sql/README.md, and nothing else', () => {
    const used = new Set<string>();
    for (const f of sqlFiles(SQL)) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/pg_(?:try_)?advisory_(?:xact_)?lock\((\d+),\s*((?:[^()]|\([^()]*(?:\([^()]*\))?[^()]*\))+)\)/g)) {
        used.add(norm(m[1]!, m[2]!));
      }
    }
    const readme = readFileSync(join(SQL, 'README.md'), 'utf8');
    const listed = new Set<string>();
    for (const m of readme.matchAll(/^\| \((\d+), ([^)]*\)?)\) \|/gm)) listed.add(norm(m[1]!, m[2]!));
    expect(used.size).toBeGreaterThan(5);
    expect([...listed].sort()).toEqual([...used].sort());
  });
});
