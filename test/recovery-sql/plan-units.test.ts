// The four units of _plan_recovery, each called on its own: the target
// (_recovery_target), the base (_recovery_base), the WAL bound of one base
// (_recovery_wal_bound) and the settings (_recovery_settings).
// plan.test.ts covers the whole plan through plan_recovery().
import { describe, expect, it } from 'vitest';
import { lsn, type RecoveryDb, sqlError, sqlState, useRecoveryPack } from './helpers.js';

const pack = useRecoveryPack();

type Json = Record<string, any>;

describe('_recovery_target', () => {
  const target = (db: RecoveryDb, kind: string | null, value: string | null, backup: Buffer | null = null) =>
    db.one<{ t: Json }>('SELECT backup_mgmt._recovery_target($1, $2, $3) AS t', [kind, value, backup]).then((r) => r.t);

  it('puts each kind of target in one canonical form', async () => {
    const db = await pack.freshDb();
    const t = await target(db, ' Time ', '2026-11-22 02:02:03.5+01');
    expect(t).toMatchObject({ kind: 'time', value: '2026-11-22 01:02:03.500000+00', time: '2026-11-22 01:02:03.500000+00' });
    expect(t.description).toBe(t.value);
    expect(await target(db, 'lsn', ' 0/5000028 ')).toMatchObject({ kind: 'lsn', value: '0/5000028', lsn: '0/5000028', description: 'LSN 0/5000028' });
    expect(await target(db, 'latest', null)).toMatchObject({ kind: 'latest', value: 'latest', backup_hk: null });
    const [{ xid }] = await db.q<{ xid: string }>('SELECT txid_current()::text AS xid');
    expect(await target(db, 'xid', xid)).toMatchObject({ kind: 'xid', value: xid, xid: Number(xid) });
  });

  it('refuses what is not a target, with the SQLSTATE of each case', async () => {
    const db = await pack.freshDb();
    expect(await sqlState(target(db, null, null))).toBe('22004');
    expect(await sqlState(target(db, 'moon', null))).toBe('22023');
    expect(await sqlState(target(db, 'time', null))).toBe('22004');
    expect(await sqlState(target(db, 'time', 'yesterday-ish'))).toBe('22023');
    expect(await sqlState(target(db, 'lsn', 'G/0'))).toBe('22023');
    expect(await sqlState(target(db, 'xid', '2'))).toBe('22023');
    expect(await sqlState(target(db, 'latest', 'now'))).toBe('22023');
    expect(await sqlState(target(db, 'name', 'bad name'))).toBe('22023');
    expect(await sqlState(target(db, 'name', 'never_created'))).toBe('P0002');
  });

  it('resolves the backup of an immediate target and refuses two different ones', async () => {
    const db = await pack.freshDb();
    const { b1, b2 } = await db.history();
    expect(await target(db, 'immediate', b1.bk.toLowerCase())).toMatchObject({ kind: 'immediate', value: null, backup_hk: b1.hex });
    expect(await target(db, 'immediate', null, b2.hk)).toMatchObject({ backup_hk: b2.hex });
    expect(await sqlState(target(db, 'immediate', b1.bk, b2.hk))).toBe('22023');
    expect(await sqlState(target(db, 'immediate', 'FULL_BACKUP_SYSTEM_20000101_000000'))).toBe('P0002');
  });
});

describe('_recovery_base', () => {
  const base = async (db: RecoveryDb, kind: string, value: string | null, drill = false, backup: Buffer | null = null) =>
    db.one<Json>('SELECT b.* FROM backup_mgmt._recovery_base(backup_mgmt._recovery_target($1, $2, $3), $4) AS b', [kind, value, backup, drill]);

  it('takes the newest verified full backup that ended before the target, with its WAL span', async () => {
    const db = await pack.freshDb();
    const { b1, b2, b3 } = await db.history();
    // B2 became consistent only at T0+362 s: a target at T0+330 s needs B1.
    expect(await base(db, 'time', db.at(330))).toMatchObject({ backup_bk: b1.bk, start_segno: '2', to_segno: '5' });
    expect(await base(db, 'time', db.at(400))).toMatchObject({ backup_bk: b2.bk, start_segno: '5', stop_segno: '6', to_segno: '6' });
    // B3 failed its verification: never chosen by itself, a restore drill may name it.
    expect(await base(db, 'latest', null)).toMatchObject({ backup_bk: b2.bk, to_segno: '12' });
    expect(await sqlState(base(db, 'immediate', b3.bk))).toBe('55000');
    expect(await base(db, 'immediate', b3.bk, true)).toMatchObject({ backup_bk: b3.bk, to_segno: '8' });
  });

  it('says why there is no base: before every backup, behind a WAL gap, nothing verified', async () => {
    const db = await pack.freshDb();
    expect(await sqlState(base(db, 'latest', null))).toBe('55000');
    await db.history({ missing: [9] });
    expect((await sqlError(base(db, 'time', db.at(60)))).message).toContain('outside the recoverable window');
    const gap = await sqlError(base(db, 'lsn', lsn(10, 0x100)));
    expect(gap.code).toBe('22023');
    expect(gap.message).toContain('is missing from the archive');
  });
});

describe('_recovery_wal_bound', () => {
  const bound = async (db: RecoveryDb, target: Json, start: number, stop: number, newest: number | null = 12) =>
    (await db.one<{ b: string | null }>('SELECT backup_mgmt._recovery_wal_bound($1, $2, 1, $3, $4, $5) AS b', [target, db.sysid, start, stop, newest])).b;

  it('ends at the segment holding the target, never before the base ends', async () => {
    const db = await pack.freshDb();
    await db.history();
    expect(await bound(db, { kind: 'lsn', lsn: lsn(10, 0x100) }, 2, 2)).toBe('10');
    expect(await bound(db, { kind: 'lsn', lsn: lsn(3, 0) }, 5, 6)).toBe('6');
    expect(await bound(db, { kind: 'name', restore_point: { lsn: lsn(7, 0) } }, 2, 2)).toBe('6');
    expect(await bound(db, { kind: 'immediate' }, 5, 6)).toBe('6');
    // xid and latest: all archived WAL, whatever the target.
    expect(await bound(db, { kind: 'latest' }, 2, 2)).toBe('12');
    expect(await bound(db, { kind: 'xid', xid: 1500 }, 2, 2, null)).toBe('2');
  });

  it('for a time: the segment of the first commit after it, or NULL when none is archived yet', async () => {
    const db = await pack.freshDb();
    await db.history();
    // Segment k holds commits from T0+60k+5 s to T0+60k+50 s.
    expect(await bound(db, { kind: 'time', time: db.at(330) }, 2, 2)).toBe('5');
    expect(await bound(db, { kind: 'time', time: db.at(352) }, 2, 2)).toBe('6');
    expect(await bound(db, { kind: 'time', time: db.at(12 * 60 + 50) }, 2, 2)).toBeNull();
  });
});

describe('_recovery_settings', () => {
  const settings = async (db: RecoveryDb, target: Json, bk = 'FULL_BACKUP_SYSTEM_20261122_010203', stop = '0/6000100') =>
    (await db.one<{ s: Json }>('SELECT backup_mgmt._recovery_settings($1, $2, $3) AS s', [target, bk, stop])).s;

  it('writes the recovery_target* settings and the plan target of each kind', async () => {
    const db = await pack.freshDb();
    const time = '2026-11-22 01:02:03.500000+00';
    expect(await settings(db, { kind: 'time', value: time, time })).toEqual({
      restore_settings: { recovery_target_timeline: 'current', recovery_target_time: time, recovery_target_inclusive: true, recovery_target_action: 'promote' },
      target: { kind: 'time', value: time, time, inclusive: true, action: 'promote' },
    });
    expect((await settings(db, { kind: 'xid', value: '1234', xid: 1234 })).target).toMatchObject({ xid: '1234' });
    const rp = { name: 'before_upgrade', lsn: '0/7000000', timeline: 1, created_at: time };
    expect(await settings(db, { kind: 'name', value: rp.name, restore_point: rp })).toMatchObject({
      restore_settings: { recovery_target_name: rp.name, recovery_target_action: 'promote' },
      target: { value: rp.name, lsn: rp.lsn, restore_point: rp },
    });
    // immediate: the end of the chosen base, named by its business key.
    expect(await settings(db, { kind: 'immediate', value: null })).toMatchObject({
      restore_settings: { recovery_target: 'immediate' },
      target: { value: 'FULL_BACKUP_SYSTEM_20261122_010203', lsn: '0/6000100' },
    });
    expect((await settings(db, { kind: 'latest', value: 'latest' })).restore_settings).toEqual({ recovery_target_timeline: 'current' });
  });
});
