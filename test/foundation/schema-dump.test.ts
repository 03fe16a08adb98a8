// The migrated schema, as pg_dump sees it, is committed in
// test/fixtures/schema.sql: any change to migrations or sql/ shows up in review
// as a diff of that file. Refresh it with `npm run schema:update`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pgTool, runCommand } from '../../src/util/process.js';
import { usePackDatabase } from '../harness/pack.js';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'schema.sql');
const pack = usePackDatabase({ name: 'schema-dump', pgCron: false });
beforeAll(() => pack.setup());

/** Drops what varies between runs or pg_dump builds: comments, SET lines, \restrict keys. */
function normalizeDump(dump: string): string {
  return (
    dump
      .split('\n')
      .filter((l) => !l.startsWith('--') && !/^SET \w+ = /.test(l) && !l.startsWith('SELECT pg_catalog.set_config(') && !/^\\(un)?restrict /.test(l))
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n'
  );
}

describe('schema dump', () => {
  it('the committed normalized pg_dump --schema-only matches the live schema', async () => {
    const { stdout } = await runCommand(pgTool('pg_dump'), ['--schema-only', '--no-owner', '--schema=backup_mgmt', pack.url()]);
    const live = normalizeDump(stdout);
    if (process.env.BM_UPDATE_SCHEMA_DUMP === '1') writeFileSync(FIXTURE, live);
    expect(existsSync(FIXTURE), `${FIXTURE} missing: run npm run schema:update`).toBe(true);
    expect(live).toBe(readFileSync(FIXTURE, 'utf8'));
    expect(live).toContain('CREATE TABLE backup_mgmt.backup_execution_s');
  });
});
