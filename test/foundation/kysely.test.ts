// The generated Kysely types describe what node-postgres really returns: a
// typed query against a current-row view compiles, runs, and its values have
// the declared runtime types (int8/numeric as strings, bytea as Buffer, ...).
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/generated/database.js';
import { BackupExecutionSChanges } from '../../src/generated/schemas.js';
import { usePackDatabase } from '../harness/pack.js';

const pack = usePackDatabase({ name: 'kysely', pgCron: false });
let db: Kysely<Database>;

beforeAll(async () => {
  await pack.setup();
  db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: pack.url(), max: 2 }) }) });
  const bk = 'FULL_BACKUP_SYSTEM_20261122_020000_000001';
  const changes = BackupExecutionSChanges.parse({
    backup_type: 'FULL', backup_scope: 'SYSTEM', backup_method: 'PG_BASEBACKUP', backup_status: 'COMPLETED',
    backup_start_time: '2026-11-22T02:00:00Z', backup_location: '/repo', backup_size_bytes: '123456789012',
    compression_ratio: '61.25', backup_duration_seconds: '1.5', retention_period: 'P7Y',
  });
  await sql`WITH h AS (INSERT INTO backup_mgmt.backup_execution_h (backup_hk, backup_bk, record_source)
                       VALUES (backup_mgmt.hash_key(${bk}), ${bk}, 'test') RETURNING backup_hk)
            SELECT backup_mgmt.backup_execution_s_load(h.backup_hk, ${JSON.stringify(changes)}::jsonb) FROM h`.execute(db);
});
afterAll(async () => {
  await db?.destroy();
});

describe('generated Kysely types', () => {
  it('a typed query against backup_execution_current runs and returns the declared runtime types', async () => {
    const row = await db
      .selectFrom('backup_mgmt.backup_execution_current')
      .select(['backup_hk', 'backup_bk', 'backup_status', 'backup_size_bytes', 'compression_ratio', 'backup_start_time', 'retention_period'])
      .where('backup_status', '=', 'COMPLETED')
      .executeTakeFirstOrThrow();
    // Compile-time: these assignments only type-check if the generated types are right.
    const size: string | null = row.backup_size_bytes;
    const status: 'COMPLETED' | 'PENDING' | 'RUNNING' | 'FAILED' | 'CANCELLED' | 'PARTIAL' | 'EXPIRED' = row.backup_status;
    const started: Date = row.backup_start_time;
    expect(Buffer.isBuffer(row.backup_hk)).toBe(true);
    expect(size).toBe('123456789012');
    expect(row.compression_ratio).toBe('61.25');
    expect(status).toBe('COMPLETED');
    expect(started).toBeInstanceOf(Date);
    expect(row.retention_period).toMatchObject({ years: 7 });
  });

  it('the zod change schemas refuse bad input', () => {
    expect(BackupExecutionSChanges.safeParse({ backup_status: 'DONE' }).success).toBe(false);
    expect(BackupExecutionSChanges.safeParse({ no_such_column: 1 }).success).toBe(false);
    expect(BackupExecutionSChanges.safeParse({ backup_size_bytes: '12x' }).success).toBe(false);
  });
});
