// Satellite loaders keep insert-only history: a change adds a version and
// end-dates the previous one, an identical change adds nothing, and several
// changes inside one transaction keep every version in order.
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/generated/conventions.js';
import { usePackDatabase } from '../harness/pack.js';

const pack = usePackDatabase({ name: 'loaders', pgCron: false });
let client: pg.Client;
const bk = 'FULL_BACKUP_SYSTEM_20261122_010203_000001';
const hk = hashKey(bk);

beforeAll(async () => {
  client = await pack.connect();
  await client.query(
    `INSERT INTO backup_mgmt.backup_execution_h (backup_hk, backup_bk, record_source) VALUES (backup_mgmt.hash_key($1), $1, 'test')`,
    [bk],
  );
});

const load = (changes: object) =>
  client.query<{ changed: boolean }>('SELECT backup_mgmt.backup_execution_s_load($1, $2::jsonb, $3) AS changed', [hk, JSON.stringify(changes), 'test']);

const history = () =>
  client.query<{ backup_status: string; load_date: Date; load_end_date: Date | null; backup_size_bytes: string | null }>(
    `SELECT backup_status, load_date, load_end_date, backup_size_bytes FROM backup_mgmt.backup_execution_s
      WHERE backup_hk = $1 ORDER BY load_date`,
    [hk],
  );

const pending = {
  backup_type: 'FULL', backup_scope: 'SYSTEM', backup_method: 'PG_BASEBACKUP', backup_status: 'PENDING',
  backup_start_time: '2026-11-22T01:02:03Z', backup_location: '/repo',
};

describe('satellite loaders', () => {
  it('SQL hash_key() and the TypeScript hashKey() agree', async () => {
    const r = await client.query<{ k: Buffer }>(`SELECT backup_mgmt.hash_key($1, NULL, ' x ') AS k`, [bk.toLowerCase()]);
    expect(r.rows[0]!.k.equals(hashKey(bk, null, 'X'))).toBe(true);
  });

  it('hash_key() escapes | and \\ like hashKey(): no collision across parts, old keys unchanged', async () => {
    const r = await client.query<{ a: Buffer; b: Buffer; plain: Buffer; old: Buffer }>(
      `SELECT backup_mgmt.hash_key('a|b', 'c') AS a, backup_mgmt.hash_key('a', 'b|c') AS b,
              backup_mgmt.hash_key($1, 'x') AS plain, sha256(convert_to(upper($1) || '|X', 'UTF8')) AS old`,
      [bk],
    );
    expect(r.rows[0]!.a.equals(r.rows[0]!.b)).toBe(false);
    expect(r.rows[0]!.a.equals(hashKey('a|b', 'c'))).toBe(true);
    expect(r.rows[0]!.b.equals(hashKey('a', 'b|c'))).toBe(true);
    expect(r.rows[0]!.plain.equals(r.rows[0]!.old)).toBe(true);
  });

  it('a first load inserts the current row', async () => {
    expect((await load(pending)).rows[0]!.changed).toBe(true);
    const h = await history();
    expect(h.rows).toHaveLength(1);
    expect(h.rows[0]!.load_end_date).toBeNull();
  });

  it('a change inserts a new version and end-dates the old one at the new load_date', async () => {
    expect((await load({ backup_status: 'RUNNING' })).rows[0]!.changed).toBe(true);
    const h = (await history()).rows;
    expect(h.map((r) => r.backup_status)).toEqual(['PENDING', 'RUNNING']);
    expect(h[0]!.load_end_date).toEqual(h[1]!.load_date);
    expect(h[1]!.load_end_date).toBeNull();
  });

  it('an identical change inserts nothing', async () => {
    expect((await load({ backup_status: 'RUNNING' })).rows[0]!.changed).toBe(false);
    expect((await history()).rows).toHaveLength(2);
  });

  it('two changes in one transaction keep both versions, in order', async () => {
    await client.query('BEGIN');
    await load({ backup_status: 'COMPLETED', backup_size_bytes: 1000 });
    await load({ verification_status: 'VERIFIED' });
    await client.query('COMMIT');
    const h = (await history()).rows;
    expect(h.map((r) => r.backup_status)).toEqual(['PENDING', 'RUNNING', 'COMPLETED', 'COMPLETED']);
    for (let i = 1; i < h.length; i++) {
      expect(h[i]!.load_date.getTime()).toBeGreaterThanOrEqual(h[i - 1]!.load_date.getTime());
      expect(h[i - 1]!.load_end_date).toEqual(h[i]!.load_date);
    }
    const current = await client.query('SELECT backup_status, verification_status, backup_size_bytes FROM backup_mgmt.backup_execution_current WHERE backup_hk = $1', [hk]);
    expect(current.rows).toEqual([{ backup_status: 'COMPLETED', verification_status: 'VERIFIED', backup_size_bytes: '1000' }]);
  });

  it('the hash diff does not depend on the session time zone', async () => {
    await client.query(`SET TimeZone = 'America/New_York'`);
    expect((await load({ backup_start_time: '2026-11-22T01:02:03Z' })).rows[0]!.changed).toBe(false);
    await client.query('RESET TimeZone');
  });

  it('refuses unknown columns, a missing hub row and bad values, writing nothing', async () => {
    const before = (await history()).rows.length;
    await expect(load({ backup_stauts: 'FAILED' })).rejects.toMatchObject({ code: '42703' });
    await expect(
      client.query('SELECT backup_mgmt.backup_execution_s_load($1, $2::jsonb)', [hashKey('nope'), JSON.stringify(pending)]),
    ).rejects.toMatchObject({ code: '23503' });
    await expect(load({ backup_status: 'DONE' })).rejects.toMatchObject({ code: '23514' });
    await expect(load({ compression_ratio: -1 })).rejects.toMatchObject({ code: '23514' });
    expect((await history()).rows.length).toBe(before);
  });

  it('concurrent loads of one key serialise: one current row, no lost version', async () => {
    const others = await Promise.all(Array.from({ length: 5 }, async () => {
      const c = new pg.Client(pack.url());
      await c.connect();
      return c;
    }));
    try {
      await Promise.all(
        others.map((c, i) =>
          c.query('SELECT backup_mgmt.backup_execution_s_load($1, $2::jsonb)', [hk, JSON.stringify({ retry_count: i + 1 })]),
        ),
      );
    } finally {
      await Promise.all(others.map((c) => c.end()));
    }
    const current = await client.query('SELECT count(*)::int AS n FROM backup_mgmt.backup_execution_s WHERE backup_hk = $1 AND load_end_date IS NULL', [hk]);
    expect(current.rows[0].n).toBe(1);
    const versions = await client.query(
      `SELECT count(DISTINCT retry_count)::int AS n FROM backup_mgmt.backup_execution_s WHERE backup_hk = $1 AND retry_count IS NOT NULL`,
      [hk],
    );
    expect(versions.rows[0].n).toBe(5);
  });
});
