// Seed 001's SQL must keep working against our schema: every read-only query
// of the deployment guide runs unchanged and sees the catalog's current rows.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { usePackDatabase } from '../harness/pack.js';

const statements = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'seed-001-queries.sql'), 'utf8')
  .split(/;\s*\n/)
  .map((s) => s.trim())
  .filter((s) => s.replace(/--.*$/gm, '').trim().length > 0);

const pack = usePackDatabase({ name: 'seed-queries', pgCron: false });
let client: pg.Client;

beforeAll(async () => {
  client = await pack.connect();
  // One completed and one failed backup, written the way the pack writes them: hub + loader.
  for (const [bk, changes] of [
    ['FULL_BACKUP_SYSTEM_20261122_010000_000001', { backup_status: 'COMPLETED', backup_size_bytes: 1000, compressed_size_bytes: 400, compression_ratio: 60, backup_duration_seconds: 2.5 }],
    ['FULL_BACKUP_SYSTEM_20261122_010100_000001', { backup_status: 'FAILED', error_message: 'pg_basebackup: error: could not connect' }],
  ] as const) {
    await client.query(
      `WITH h AS (INSERT INTO backup_mgmt.backup_execution_h (backup_hk, backup_bk, record_source)
                  VALUES (backup_mgmt.hash_key($1), $1, 'test') RETURNING backup_hk)
       SELECT backup_mgmt.backup_execution_s_load(h.backup_hk, $2::jsonb) FROM h`,
      [bk, JSON.stringify({ backup_type: 'FULL', backup_scope: 'SYSTEM', backup_method: 'PG_BASEBACKUP', backup_start_time: new Date().toISOString(), backup_location: '/repo', ...changes })],
    );
  }
});

describe('seed 001 queries', () => {
  it('the fixture holds the seven read-only queries', () => {
    expect(statements).toHaveLength(7);
  });

  it.each(statements.map((s) => [s.split('\n')[0]!.replace(/^-- /, ''), s]))('%s', async (_name, statement) => {
    const r = await client.query(statement);
    expect(r.rows.length).toBeGreaterThan(0);
  });

  it('the status query shows real values from the current rows', async () => {
    const r = await client.query(statements[0]!);
    expect(r.rows.map((x) => x.backup_status).sort()).toEqual(['COMPLETED', 'FAILED']);
    const errors = await client.query(statements[4]!);
    expect(errors.rows[0]).toMatchObject({ backup_bk: 'FULL_BACKUP_SYSTEM_20261122_010100_000001' });
  });
});
