// Seed 001's read-only SQL has one copy, test/fixtures/seed-001-queries.sql
// (verbatim from the guide); suites that run one of its statements take it
// from there by the comment that labels it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedQueries } from '../../tools/bench/sections/catalog.js';

export const SEED_QUERIES_FILE = join(import.meta.dirname, '..', 'fixtures', 'seed-001-queries.sql');

/** The statement labelled `label` in the fixture, e.g. 'Step 4.1: Check backup status'. */
export function seedQuery(label: string): string {
  const q = seedQueries(readFileSync(SEED_QUERIES_FILE, 'utf8')).find((s) => s.label === label);
  if (!q) throw new Error(`${SEED_QUERIES_FILE}: no statement labelled ${JSON.stringify(label)}`);
  return q.sql;
}
