// PITR planning in SQL: which base backup, which WAL, which settings, and
// which targets are refused, against a fake-but-realistic catalog history.
import { describe, expect, it } from 'vitest';
import { lsn, message, segName, sqlError, sqlState, useRecoveryPack } from './helpers.js';

const pack = useRecoveryPack();

describe('recoverability', () => {
  it('shows the window, no gaps and the RPO of a complete archive', async () => {
    const db = await pack.freshDb();
    const { b1 } = await db.history();
    const rows = await db.q('SELECT * FROM backup_mgmt.recoverable_window()');
    expect(rows).toHaveLength(1);
    const w = rows[0]!;
    expect(w).toMatchObject({ system_identifier: db.sysid, timeline_id: 1, earliest_backup_bk: b1.bk, wal_gaps: [], missing_segments: '0' });
    expect(new Date(w.earliest_recoverable_time).toISOString()).toBe(db.at(122));
    expect(w.earliest_recoverable_lsn).toBe(b1.stopLsn);
    // 1 µs before the newest archived commit: the last instant plan_recovery accepts (a Date keeps milliseconds).
    expect(new Date(w.latest_recoverable_time).getTime()).toBe(Date.parse(db.at(12 * 60 + 50)) - 1);
    expect(w.latest_recoverable_lsn).toBe(lsn(13, -1));
    expect(w.oldest_needed_segment).toBe(segName(2));
    expect(w.newest_segment).toBe(segName(12));
    // The RPO comes from the newest stored WAL byte (wal_stored_position()): the
    // synthetic archive (through segment 12) reaches past what this fresh server
    // has written, so nothing is at risk, however old the newest segment is.
    const [pos] = await db.q('SELECT stored_lsn::text, source, current_lsn::text FROM backup_mgmt.wal_stored_position()');
    expect(pos).toMatchObject({ stored_lsn: lsn(13, 0), source: 'archived' });
    expect(Number(w.rpo_seconds)).toBe(0);
    expect(w.windows).toHaveLength(1);
    // The view lists every system; recoverable_window() only this one.
    await db.q(`INSERT INTO backup_mgmt.wal_archive (system_identifier, file_name, timeline_id, bytes, stored_bytes, sha256, archived_at)
                VALUES ('42', $1, 1, 1, 1, $2, now())`, [segName(1), 'f'.repeat(64)]);
    expect(await db.q('SELECT * FROM backup_mgmt.recoverability')).toHaveLength(2);
    expect(await db.q('SELECT * FROM backup_mgmt.recoverable_window()')).toHaveLength(1);
  });

  it('shows a missing segment as a gap; targets after it are refused, before it planned', async () => {
    const db = await pack.freshDb();
    const { b2 } = await db.history({ missing: [9] });
    const [w] = await db.q('SELECT * FROM backup_mgmt.recoverable_window()');
    expect(w).toMatchObject({ wal_gaps: [segName(9)], missing_segments: '1', newest_segment: segName(12) });
    // The window ends where the archived run from the newest usable backup ends.
    expect(new Date(w.latest_recoverable_time).getTime()).toBe(Date.parse(db.at(8 * 60 + 50)) - 1);
    expect(w.latest_recoverable_lsn).toBe(lsn(9, -1));

    const before = await db.counts();
    // Recovery to T0+600 s stops at the first commit after it, in segment 10.
    const err = await sqlError(db.plan('time', db.at(600)));
    expect(err.code).toBe('22023');
    expect(err.message).toContain(`WAL segment ${segName(9)} is missing`);
    expect(err.detail).toContain(b2.bk);
    expect(await sqlState(db.plan('lsn', lsn(10, 0x100)))).toBe('22023');
    expect(await sqlState(db.plan('latest', null))).toBe('22023');
    expect((await sqlError(db.plan('latest', null))).message).toContain(segName(9));
    expect(await db.counts()).toEqual(before);

    const ok = await db.plan('time', db.at(8 * 60 + 20));
    expect(ok.base.backup_bk).toBe(b2.bk);
    expect(ok.wal).toMatchObject({ from_segment: segName(5), to_segment: segName(8) });
    expect((await db.plan('lsn', lsn(8, 0x5000))).wal.to_segment).toBe(segName(8));
  });

  it('lists segments missing before the oldest backup only from its start, and a purged one too', async () => {
    const db = await pack.freshDb();
    await db.history({ missing: [1, 3, 4] });
    await db.q(`UPDATE backup_mgmt.wal_archive SET purged_at = now() WHERE file_name = $1`, [segName(11)]);
    const [w] = await db.q('SELECT * FROM backup_mgmt.recoverable_window()');
    // Segment 1 lies before the oldest backup's start (segment 2): not a gap.
    expect(w.wal_gaps).toEqual([segName(3), segName(4), segName(11)]);
    expect(w.windows.map((x: { base_backup_bk: string }) => x.base_backup_bk)).toHaveLength(2);
  });
});

describe('choosing the base backup', () => {
  it('takes the newest verified backup that ENDED before the target time', async () => {
    const db = await pack.freshDb();
    const { b1, b2, b3 } = await db.history();

    // B2 started (T0+301 s) before T0+330 s but became consistent only at T0+362 s.
    const p1 = await db.plan('time', db.at(330));
    expect(p1.base).toMatchObject({ backup_hk: b1.hex, backup_bk: b1.bk, system_identifier: db.sysid, timeline_id: 1, start_lsn: b1.startLsn, stop_lsn: b1.stopLsn });
    expect(p1.wal).toMatchObject({ from_segment: segName(2), to_segment: segName(5), segments: 4 });
    expect(p1.target).toMatchObject({ kind: 'time', inclusive: true, action: 'promote' });
    expect(new Date(p1.target.value.replace(' ', 'T').replace('+00', 'Z')).toISOString()).toBe(db.at(330));
    expect(p1.restore_settings).toEqual({
      recovery_target_time: p1.target.value,
      recovery_target_inclusive: true,
      recovery_target_action: 'promote',
      recovery_target_timeline: 'current',
    });
    expect(p1.chain).toEqual([b1.hex]);
    expect(p1.base.repository_path).toMatch(new RegExp(`/backups/${b1.bk}$`));

    const p2 = await db.plan('time', db.at(400));
    expect(p2.base.backup_bk).toBe(b2.bk);
    expect(p2.wal).toMatchObject({ from_segment: segName(5), to_segment: segName(6) });

    // B3 ended before T0+600 s but its verification FAILED.
    const p3 = await db.plan('time', db.at(600));
    expect(p3.base.backup_bk).toBe(b2.bk);
    expect(p3.base.backup_bk).not.toBe(b3.bk);
    expect(p3.wal.to_segment).toBe(segName(10));
    expect(p3.estimate).toMatchObject({ basis: 'default', minutes: 1 });
  });

  it('refuses targets outside the recoverable window with the window in the message', async () => {
    const db = await pack.freshDb();
    await db.history();
    // The bounds are the first and last instants accepted: 1 µs after the base's end, 1 µs before the newest commit.
    const window = `${db.at(122).replace('T', ' ').replace('Z', '001+00')} .. ${new Date(Date.parse(db.at(770)) - 1).toISOString().replace('T', ' ').replace('Z', '999+00')}`;
    for (const t of [db.at(60), db.at(122), db.at(770), db.at(780), new Date(Date.now() + 3600_000).toISOString()]) {
      const err = await sqlError(db.plan('time', t));
      expect(err.code, t).toBe('22023');
      expect(message(err), t).toBe(`target ${t.replace('T', ' ').replace('Z', '000+00')} is outside the recoverable window ${window}`);
    }
    // The window's own bounds are accepted (view and planner agree).
    const [w] = await db.q(`SELECT earliest_recoverable_time::text AS lo, latest_recoverable_time::text AS hi FROM backup_mgmt.recoverable_window()`);
    for (const bound of [w!.lo, w!.hi]) expect((await db.plan('time', bound)).target.kind).toBe('time');
    expect(message(await sqlError(db.plan('lsn', lsn(1))))).toBe(`target LSN ${lsn(1)} is outside the recoverable window ${lsn(2, 0x138)} .. ${lsn(13, -1)}`);
    expect(await sqlState(db.plan('lsn', lsn(13, 0x10)))).toBe('22023');
  });

  it('says so when there is nothing to recover from', async () => {
    const db = await pack.freshDb();
    await db.registerAgent();
    await db.archive([1, 2, 3]);
    const err = await sqlError(db.plan('time', db.at(150)));
    expect(err.code).toBe('55000');
    expect(err.hint).toMatch(/create_full_backup/);
    const [w] = await db.q('SELECT * FROM backup_mgmt.recoverable_window()');
    expect(w).toMatchObject({ earliest_recoverable_time: null, latest_recoverable_time: null, wal_gaps: [] });
  });

  it('plans LSN targets by stop_lsn', async () => {
    const db = await pack.freshDb();
    const { b1, b2 } = await db.history();
    // Inside B2's own range (started at 0/5000028, consistent at 0/6000100).
    const p1 = await db.plan('lsn', lsn(5, 0x800000));
    expect(p1.base.backup_bk).toBe(b1.bk);
    expect(p1.wal.to_segment).toBe(segName(5));
    expect(p1.restore_settings).toMatchObject({ recovery_target_lsn: lsn(5, 0x800000), recovery_target_inclusive: true });
    const p2 = await db.plan('lsn', b2.stopLsn);
    expect(p2.base.backup_bk).toBe(b2.bk);
    expect((await db.plan('lsn', lsn(7))).base.backup_bk).toBe(b2.bk);
    expect(await sqlState(db.plan('lsn', 'nonsense'))).toBe('22023');
  });

  it('plans xid targets by next_xid and refuses transactions that did not end', async () => {
    const db = await pack.freshDb();
    const x0 = Number((await db.one('SELECT txid_current() AS x')).x);
    const x1 = Number((await db.one('SELECT txid_current() AS x')).x);
    const { b1, b2 } = await db.history({ xids: [x1, x1 + 500, x1 + 600] });

    const p = await db.plan('xid', String(x1));
    expect(p.base.backup_bk).toBe(b1.bk);
    // Where the transaction ended is unknown: all archived WAL is required.
    expect(p.wal).toMatchObject({ from_segment: segName(2), to_segment: segName(12) });
    expect(p.restore_settings).toMatchObject({ recovery_target_xid: String(x1), recovery_target_inclusive: true });
    expect(p.warnings.join(' ')).toMatch(/cannot tell where transaction/);

    // x0 was assigned before B1 became consistent.
    const err = await sqlError(db.plan('xid', String(x0)));
    expect(err.code).toBe('22023');
    expect(err.message).toContain(`xid ${x1} ..`);

    // Still running, never assigned, malformed.
    const c = await db.connect();
    await c.query('BEGIN');
    const running = (await c.query('SELECT txid_current() AS x')).rows[0].x;
    expect((await sqlError(db.plan('xid', String(running)))).message).toMatch(/still in progress/);
    await c.query('ROLLBACK');
    expect(await sqlState(db.plan('xid', String(x1 + 1_000_000)))).toBe('22023');
    expect(await sqlState(db.plan('xid', '12ab'))).toBe('22023');
    expect(await sqlState(db.plan('xid', '1'))).toBe('22023');
    expect(b2.bk).toBeTruthy();
  });

  it('plans restore points by their LSN and timeline', async () => {
    const db = await pack.freshDb();
    const { b1, b2 } = await db.history();
    await db.q(`INSERT INTO backup_mgmt.restore_point (name, lsn, timeline, system_identifier) VALUES
                ('before_drop', $1, 1, $3), ('early.one', $2, 1, $3), ('elsewhere', $1, 1, '42')`, [lsn(7, 0x500), lsn(4, 0x20), db.sysid]);
    const p = await db.plan('name', 'before_drop');
    expect(p.base.backup_bk).toBe(b2.bk);
    expect(p.wal.to_segment).toBe(segName(7));
    expect(p.target).toMatchObject({ kind: 'name', value: 'before_drop', lsn: lsn(7, 0x500) });
    expect(p.restore_settings).toEqual({ recovery_target_name: 'before_drop', recovery_target_action: 'promote', recovery_target_timeline: 'current' });
    expect((await db.plan('name', 'early.one')).base.backup_bk).toBe(b1.bk);

    expect(await sqlState(db.plan('name', 'no_such_point'))).toBe('P0002');
    expect(await sqlState(db.plan('name', 'BEFORE_DROP'))).toBe('P0002');
    expect(await sqlState(db.plan('name', 'elsewhere'))).toBe('22023');
    expect(await sqlState(db.plan('name', null))).toBe('22004');
  });

  it('plans immediate and latest targets, and checks a given backup', async () => {
    const db = await pack.freshDb();
    const { b1, b2, b3 } = await db.history();
    const im = await db.plan('immediate', null);
    expect(im.base.backup_bk).toBe(b2.bk);
    expect(im.target).toMatchObject({ kind: 'immediate', value: b2.bk, lsn: b2.stopLsn });
    expect(im.restore_settings).toEqual({ recovery_target: 'immediate', recovery_target_action: 'promote', recovery_target_timeline: 'current' });
    expect(im.wal).toMatchObject({ from_segment: segName(5), to_segment: segName(6) });
    expect((await db.plan('immediate', null, b1.hk)).base.backup_bk).toBe(b1.bk);
    expect((await db.plan('immediate', b1.bk.toLowerCase())).base.backup_bk).toBe(b1.bk);
    expect(await sqlState(db.plan('immediate', b1.bk, b2.hk))).toBe('22023');
    // Not verified: no recovery from it (a drill may).
    expect(await sqlState(db.plan('immediate', null, b3.hk))).toBe('55000');
    expect(await sqlState(db.plan('immediate', null, Buffer.alloc(32)))).toBe('P0002');

    const la = await db.plan('latest', null);
    expect(la.base.backup_bk).toBe(b2.bk);
    expect(la.wal.to_segment).toBe(segName(12));
    expect(la.restore_settings).toEqual({ recovery_target_timeline: 'current' });
    expect(await sqlState(db.plan('latest', 'tomorrow'))).toBe('22023');

    expect(await sqlState(db.plan('sometime', 'x'))).toBe('22023');
    expect(await sqlState(db.plan(null as unknown as string, 'x'))).toBe('22004');
    expect(await sqlState(db.plan('time', 'yesterday-ish'))).toBe('22023');
    expect(await sqlState(db.plan('time', null))).toBe('22004');
  });
});

describe('restore points', () => {
  it('creates a restore point in the WAL and in the catalog', async () => {
    const db = await pack.freshDb();
    await db.q(`CREATE ROLE rp_olga LOGIN IN ROLE backup_operator`).catch(() => {});
    const c = await db.connect('rp_olga');
    const before = (await db.one('SELECT pg_current_wal_lsn() AS l')).l;
    const { rows: [rp] } = await c.query(`SELECT * FROM backup_mgmt.create_restore_point('before_drop_2026-11-22:01')`);
    expect(rp).toMatchObject({ name: 'before_drop_2026-11-22:01', created_by: 'rp_olga' });
    const [cmp] = await db.q('SELECT $1::pg_lsn > $2::pg_lsn AS after, $1::pg_lsn <= pg_current_wal_lsn() AS written', [rp.lsn, before]);
    expect(cmp).toEqual({ after: true, written: true });
    const row = await db.one('SELECT * FROM backup_mgmt.restore_point');
    expect(row).toMatchObject({ timeline: 1, system_identifier: db.sysid });

    const dup = await sqlError(c.query(`SELECT * FROM backup_mgmt.create_restore_point('before_drop_2026-11-22:01')`));
    expect(dup.code).toBe('23505');
    for (const bad of ['', ' x', '-x', 'a b', 'x'.repeat(64), 'semi;colon', "quote'"]) {
      expect(await sqlState(c.query('SELECT * FROM backup_mgmt.create_restore_point($1)', [bad])), bad).toBe('22023');
    }
    expect(await sqlState(c.query('SELECT * FROM backup_mgmt.create_restore_point(NULL)'))).toBe('22004');
    expect((await db.counts()).restore_points).toBe(1);
    // Viewers read restore points but cannot create them.
    await db.q(`CREATE ROLE rp_vic LOGIN IN ROLE backup_viewer`).catch(() => {});
    const v = await db.connect('rp_vic');
    await v.query('SELECT * FROM backup_mgmt.restore_point');
    expect(await sqlState(v.query(`SELECT * FROM backup_mgmt.create_restore_point('x')`))).toBe('42501');
  });
});
