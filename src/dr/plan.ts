// The offline recovery planner: plan_recovery()'s rules (sql/30-recovery/
// _plan_recovery.sql) over the repository's metadata instead of the catalog.
// Its equality with the SQL planner is a test (test/disaster/plan-equality):
// any change to one must be made to the other.
//
// Base = the newest COMPLETED + VERIFIED full backup whose files are present
// that ENDED before the target, and whose WAL from its start segment to the
// target's segment is present without a gap; the same refusals (SQLSTATE
// 22023 outside the window or behind a gap, P0002 unknown name or backup,
// 55000 nothing verified or a named backup unfit).
import { formatLsn, parseLsn, walFileNameForSegNo } from '../storage/wal-names.js';
import type { BackupMetadata, RestorePointMetadata } from '../storage/repo-metadata.js';
import { commitMicros, type WalIndex } from './wal-index.js';

export type TargetKind = 'time' | 'xid' | 'lsn' | 'name' | 'immediate' | 'latest';

export class PlanError extends Error {
  constructor(
    message: string,
    readonly sqlstate: '22023' | '22004' | 'P0002' | '55000',
  ) {
    super(message);
    this.name = 'PlanError';
  }
}

export interface OfflinePlanInput {
  systemIdentifier: string;
  segSize: number;
  backups: BackupMetadata[];
  restorePoints: RestorePointMetadata[];
  wal: WalIndex;
  kind: TargetKind;
  value?: string | null;
  /** A backup chosen by the caller (key). */
  backupBk?: string | null;
}

export interface OfflinePlan {
  base: BackupMetadata;
  chain: string[];
  wal: { timeline_id: number; from_segment: string; to_segment: string; segments: number };
  target: Record<string, unknown>;
  restore_settings: Record<string, string | boolean>;
  warnings: string[];
}

/** A timestamptz literal with an explicit zone → microseconds since the epoch (UTC). */
export function parseTargetTime(value: string): bigint {
  const m = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?\s*(Z|[+-]\d\d(?::?\d\d)?)$/i.exec(value.trim());
  if (!m) {
    throw new PlanError(`invalid target time '${value}': give ISO 8601 with a zone, e.g. '2026-11-22 01:02:03+00'`, '22023');
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let offsetMin = 0;
  if (zone!.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d\d):?(\d\d)?$/.exec(zone!)!;
    offsetMin = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? 0));
  }
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  if (Number.isNaN(ms) || new Date(ms).getUTCDate() !== Number(d)) throw new PlanError(`invalid target time '${value}'`, '22023');
  return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * 1000n + BigInt((frac ?? '').padEnd(6, '0') || '0');
}

/** Microseconds → the plan's canonical form, as _iso_time() writes it. */
export function isoMicros(us: bigint): string {
  const ms = Number(us / 1000n);
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const frac = String(us % 1_000_000n).padStart(6, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${frac}+00`;
}

const micros = (t: string | null): bigint | null => commitMicros(t);

interface Candidate {
  b: BackupMetadata;
  timeline: number;
  start: bigint;
  stop: bigint;
  stopTime: bigint | null;
  startTime: bigint | null;
  startSegno: bigint;
  stopSegno: bigint;
}

function firstMissing(wal: WalIndex, timeline: number, from: bigint, to: bigint): bigint | null {
  if (to < from) return null;
  let expect = from;
  for (const s of wal.segments(timeline)) {
    if (s.segno < from) continue;
    if (s.segno > to) break;
    if (s.segno !== expect) return expect;
    expect = s.segno + 1n;
  }
  return expect > to ? null : expect;
}

function newestSegno(wal: WalIndex, timeline: number): bigint | null {
  const segs = wal.segments(timeline);
  return segs.length ? segs[segs.length - 1]!.segno : null;
}

export async function planOffline(input: OfflinePlanInput): Promise<OfflinePlan> {
  const { wal, systemIdentifier: sysid } = input;
  const seg = BigInt(input.segSize);
  const segnoOf = (lsn: bigint) => lsn / seg;
  const name = (tl: number, segno: bigint) => walFileNameForSegNo(tl, segno, input.segSize);
  const kind = input.kind;
  const value = input.value?.trim() ? input.value.trim() : null;
  let time: bigint | undefined;
  let lsn: bigint | undefined;
  let xid: bigint | undefined;
  let rp: RestorePointMetadata | undefined;
  let canonical = '';
  let desc = '';
  let givenBk = input.backupBk ?? null;

  if ((kind === 'time' || kind === 'xid' || kind === 'lsn' || kind === 'name') && value === null) {
    throw new PlanError(`a recovery target of kind ${kind} needs a value`, '22004');
  }
  switch (kind) {
    case 'time':
      time = parseTargetTime(value!);
      canonical = isoMicros(time);
      desc = canonical;
      break;
    case 'lsn':
      try {
        lsn = parseLsn(value!);
      } catch {
        throw new PlanError(`invalid target LSN '${value}'`, '22023');
      }
      canonical = formatLsn(lsn);
      desc = `LSN ${canonical}`;
      break;
    case 'xid':
      if (!/^[0-9]{1,19}$/.test(value!)) throw new PlanError(`invalid target transaction id '${value}'`, '22023');
      xid = BigInt(value!);
      if (xid < 3n) throw new PlanError(`transaction id ${xid} is not a normal transaction id`, '22023');
      canonical = xid.toString();
      desc = `xid ${canonical}`;
      break;
    case 'name':
      rp = input.restorePoints.find((r) => r.name === value);
      if (!rp) throw new PlanError(`no restore point named '${value}'`, 'P0002');
      if (rp.system_identifier !== sysid) throw new PlanError(`restore point '${rp.name}' belongs to system ${rp.system_identifier}, not to ${sysid}`, '22023');
      canonical = rp.name;
      desc = `restore point '${rp.name}' (LSN ${rp.lsn})`;
      break;
    case 'immediate':
      if (value !== null) {
        if (givenBk !== null && givenBk !== value) throw new PlanError('the target value and the backup name different backups', '22023');
        givenBk = value;
      }
      break;
    case 'latest':
      if (value !== null && value.toLowerCase() !== 'latest') throw new PlanError(`a recovery target of kind latest takes no value, not '${value}'`, '22023');
      canonical = 'latest';
      desc = 'latest';
      break;
    default:
      throw new PlanError(`unknown recovery target kind '${String(kind)}'`, '22023');
  }

  if (givenBk !== null) {
    const id = givenBk;
    const g = input.backups.find((b) => b.backup_bk === id.toUpperCase() || b.backup_hk === id.toLowerCase());
    if (!g) throw new PlanError(`no backup with id ${givenBk}`, 'P0002');
    givenBk = g.backup_bk;
    if (g.type !== 'FULL') throw new PlanError(`backup ${g.backup_bk} is an ${g.type} backup: a restore starts from a full backup`, '22023');
    if (g.status !== 'COMPLETED') throw new PlanError(`backup ${g.backup_bk} is ${g.status}, only COMPLETED backups can be restored`, '55000');
    if (g.files_present === false) throw new PlanError(`the files of backup ${g.backup_bk} are no longer stored`, '55000');
    if (g.stop_lsn === null) throw new PlanError(`backup ${g.backup_bk} has no recorded WAL position`, '55000');
    if (g.system_identifier !== sysid) throw new PlanError(`backup ${g.backup_bk} belongs to system ${g.system_identifier}, not to ${sysid}`, '22023');
    if (g.verification.status !== 'VERIFIED') throw new PlanError(`backup ${g.backup_bk} is not verified (verification ${g.verification.status ?? 'none'})`, '55000');
  }

  const candidates: Candidate[] = [];
  for (const b of input.backups) {
    if (givenBk !== null && b.backup_bk !== givenBk) continue;
    if (b.type !== 'FULL' || b.status !== 'COMPLETED' || b.files_present === false || b.verification.status !== 'VERIFIED') continue;
    if (b.system_identifier !== sysid || b.timeline === null || b.start_lsn === null || b.stop_lsn === null) continue;
    const start = parseLsn(b.start_lsn);
    const stop = parseLsn(b.stop_lsn);
    if (!(stop > start)) continue;
    const c: Candidate = {
      b,
      timeline: b.timeline,
      start,
      stop,
      stopTime: micros(b.stop_time),
      startTime: micros(b.start_time),
      startSegno: segnoOf(start),
      stopSegno: segnoOf(stop - 1n),
    };
    let ok: boolean;
    switch (kind) {
      case 'time':
        ok = c.startTime !== null && c.startTime < time! && c.stopTime !== null && c.stopTime < time!;
        break;
      case 'lsn':
        ok = stop <= lsn!;
        break;
      case 'name':
        ok = stop < parseLsn(rp!.lsn) && c.timeline === rp!.timeline;
        break;
      case 'xid':
        ok = b.next_xid !== null && BigInt(b.next_xid) <= xid!;
        break;
      default:
        ok = true;
    }
    if (ok) candidates.push(c);
  }
  candidates.sort((x, y) => {
    const t = (y.startTime ?? 0n) - (x.startTime ?? 0n);
    if (t !== 0n) return t > 0n ? 1 : -1;
    if (y.stop !== x.stop) return y.stop > x.stop ? 1 : -1;
    return y.b.backup_bk.localeCompare(x.b.backup_bk);
  });

  let base: Candidate | undefined;
  let baseTo = 0n;
  let gap: { segment: string; backup: string; to: string } | undefined;
  for (const c of candidates) {
    const newest = newestSegno(wal, c.timeline);
    let to: bigint | null = null;
    if (kind === 'time') {
      let found: bigint | null = null;
      const segs = wal.segments(c.timeline).filter((s) => s.segno >= c.startSegno);
      for (const [i, s] of segs.entries()) {
        // The next segment's commit times are read while this one's are awaited (two pg_waldump at a time).
        if (segs[i + 1]) void wal.lastCommit(segs[i + 1]!.name).catch(() => null);
        const last = await wal.lastCommit(s.name);
        if (last !== null && last > time!) {
          found = s.segno;
          break;
        }
      }
      if (found === null) continue;
      to = found;
    } else if (kind === 'lsn') to = segnoOf(lsn!);
    else if (kind === 'name') to = segnoOf(parseLsn(rp!.lsn) - 1n);
    else if (kind === 'xid' || kind === 'latest') to = newest;
    else to = c.stopSegno;
    to = to === null || to < c.stopSegno ? c.stopSegno : to;
    const missing = firstMissing(wal, c.timeline, c.startSegno, to);
    if (missing === null) {
      base = c;
      baseTo = to;
      break;
    }
    if (missing <= (newest ?? -1n) && !gap) gap = { segment: name(c.timeline, missing), backup: c.b.backup_bk, to: name(c.timeline, to) };
  }

  if (!base) {
    if (kind === 'immediate') desc = `the end of backup ${givenBk ?? 'the newest verified full backup'}`;
    if (gap) {
      throw new PlanError(
        `target ${desc} cannot be reached: WAL segment ${gap.segment} is missing from the archive (replaying from backup ${gap.backup} to segment ${gap.to} needs every segment in between)`,
        '22023',
      );
    }
    const anyVerified = input.backups.some(
      (b) => b.type === 'FULL' && b.status === 'COMPLETED' && b.verification.status === 'VERIFIED' && b.files_present !== false && b.system_identifier === sysid,
    );
    if (!anyVerified) throw new PlanError('no verified full backup of this cluster to recover from', '55000');
    throw new PlanError(`target ${desc} is outside the recoverable window ${await windowText(input, kind)}`, '22023');
  }

  if (kind === 'immediate') canonical = base.b.backup_bk;

  // Incremental backups of this base (transitively) that end before the target.
  const chain: BackupMetadata[] = [];
  const inChain = new Set([base.b.backup_bk]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const b of input.backups) {
      if (b.parent_bk && inChain.has(b.parent_bk) && !inChain.has(b.backup_bk)) {
        inChain.add(b.backup_bk);
        chain.push(b);
        grew = true;
      }
    }
  }
  const incrementals =
    kind === 'immediate'
      ? []
      : chain.filter((b) => {
          if (b.type !== 'INCREMENTAL' || b.status !== 'COMPLETED' || b.stop_lsn === null) return false;
          const stop = parseLsn(b.stop_lsn);
          if (segnoOf(stop - 1n) > baseTo) return false;
          switch (kind) {
            case 'time': {
              const st = micros(b.stop_time);
              return st !== null && st < time!;
            }
            case 'lsn':
              return stop <= lsn!;
            case 'name':
              return stop < parseLsn(rp!.lsn);
            case 'xid':
              return b.next_xid !== null && BigInt(b.next_xid) <= xid!;
            default:
              return true;
          }
        });
  incrementals.sort((x, y) => {
    const a = parseLsn(x.stop_lsn!);
    const b = parseLsn(y.stop_lsn!);
    return a === b ? x.backup_bk.localeCompare(y.backup_bk) : a < b ? -1 : 1;
  });
  const warnings = incrementals
    .filter((b) => b.verification.status === 'FAILED')
    .map((b) => `incremental backup ${b.backup_bk} in the chain failed its verification: ${b.verification.detail ?? 'no detail'}`);
  if (kind === 'xid') {
    warnings.push(
      `the repository cannot tell where transaction ${xid} ended: the whole archived WAL through ${name(base.timeline, baseTo)} was required to be complete; recovery fails if its commit or abort record is not archived`,
    );
  }

  const settings: Record<string, string | boolean> = { recovery_target_timeline: 'current' };
  if (kind === 'time') Object.assign(settings, { recovery_target_time: canonical, recovery_target_inclusive: true, recovery_target_action: 'promote' });
  else if (kind === 'xid') Object.assign(settings, { recovery_target_xid: canonical, recovery_target_inclusive: true, recovery_target_action: 'promote' });
  else if (kind === 'lsn') Object.assign(settings, { recovery_target_lsn: canonical, recovery_target_inclusive: true, recovery_target_action: 'promote' });
  else if (kind === 'name') Object.assign(settings, { recovery_target_name: canonical, recovery_target_action: 'promote' });
  else if (kind === 'immediate') Object.assign(settings, { recovery_target: 'immediate', recovery_target_action: 'promote' });

  const target: Record<string, unknown> = { kind, value: canonical, inclusive: true, action: 'promote' };
  if (kind === 'time') target.time = canonical;
  else if (kind === 'lsn') target.lsn = canonical;
  else if (kind === 'xid') target.xid = canonical;
  else if (kind === 'name') Object.assign(target, { lsn: rp!.lsn, restore_point: { name: rp!.name, lsn: rp!.lsn, timeline: rp!.timeline, created_at: rp!.time } });
  else if (kind === 'immediate') target.lsn = base.b.stop_lsn;

  return {
    base: base.b,
    chain: [base.b.backup_bk, ...incrementals.map((b) => b.backup_bk)],
    wal: {
      timeline_id: base.timeline,
      from_segment: name(base.timeline, base.startSegno),
      to_segment: name(base.timeline, baseTo),
      segments: Number(baseTo - base.startSegno + 1n),
    },
    target,
    restore_settings: settings,
    warnings,
  };
}

export interface TimelineWindow {
  timeline: number;
  earliest_backup_bk: string | null;
  earliest_recoverable_time: string | null;
  earliest_recoverable_lsn: string | null;
  latest_recoverable_time: string | null;
  latest_recoverable_lsn: string | null;
  first_segment: string | null;
  last_segment: string | null;
  wal_gaps: string[];
}

/**
 * Per timeline, as the recoverability view defines it: from the end of the
 * oldest verified full backup whose WAL reaches its own end, to the newest
 * commit of the unbroken WAL after it; gaps between present segments.
 */
export async function recoverableWindow(input: Pick<OfflinePlanInput, 'systemIdentifier' | 'segSize' | 'backups' | 'wal'> & { timelines: number[] }): Promise<TimelineWindow[]> {
  const seg = BigInt(input.segSize);
  const name = (tl: number, segno: bigint) => walFileNameForSegNo(tl, segno, input.segSize);
  const kept = input.backups.filter(
    (b) => b.type === 'FULL' && b.status === 'COMPLETED' && b.files_present !== false && b.system_identifier === input.systemIdentifier && b.timeline !== null && b.start_lsn !== null && b.stop_lsn !== null,
  );
  const timelines = [...new Set([...input.timelines, ...kept.map((b) => b.timeline!)])].sort((a, b) => a - b);
  const out: TimelineWindow[] = [];
  for (const tl of timelines) {
    const segs = input.wal.segments(tl);
    const present = new Set(segs.map((s) => s.segno));
    const onTl = kept.filter((b) => b.timeline === tl);
    const from = onTl.length ? onTl.map((b) => parseLsn(b.start_lsn!) / seg).reduce((a, b) => (a < b ? a : b)) : segs[0]?.segno;
    const to = segs.at(-1)?.segno;
    const gaps: string[] = [];
    if (from !== undefined && to !== undefined) {
      let gapStart: bigint | null = null;
      for (let s = from; s <= to; s++) {
        if (!present.has(s)) gapStart ??= s;
        else if (gapStart !== null) {
          gaps.push(gapStart === s - 1n ? name(tl, gapStart) : `${name(tl, gapStart)}..${name(tl, s - 1n)}`);
          gapStart = null;
        }
      }
    }
    // Usable: verified, and the run of present segments from its start reaches its stop.
    let best: { b: BackupMetadata; runEnd: bigint } | undefined;
    for (const b of onTl) {
      if (b.verification.status !== 'VERIFIED') continue;
      const start = parseLsn(b.start_lsn!) / seg;
      const stop = (parseLsn(b.stop_lsn!) - 1n) / seg;
      if (!present.has(start)) continue;
      let end = start;
      while (present.has(end + 1n)) end++;
      if (end < stop) continue;
      if (!best || (commitMicros(b.stop_time) ?? 0n) < (commitMicros(best.b.stop_time) ?? 0n)) best = { b, runEnd: end };
    }
    let latestTime: string | null = null;
    if (best) {
      const start = parseLsn(best.b.start_lsn!) / seg;
      for (let s = best.runEnd; s >= start && latestTime === null; s--) {
        const t = await input.wal.lastCommit(name(tl, s));
        if (t !== null) latestTime = isoMicros(t);
      }
    }
    out.push({
      timeline: tl,
      earliest_backup_bk: best?.b.backup_bk ?? null,
      earliest_recoverable_time: best?.b.stop_time ?? null,
      earliest_recoverable_lsn: best?.b.stop_lsn ?? null,
      latest_recoverable_time: latestTime,
      latest_recoverable_lsn: best ? formatLsn((best.runEnd + 1n) * seg) : null,
      first_segment: segs[0]?.name ?? null,
      last_segment: segs.at(-1)?.name ?? null,
      wal_gaps: gaps,
    });
  }
  return out;
}

async function windowText(input: OfflinePlanInput, kind: TargetKind): Promise<string> {
  const tls = [...new Set(input.backups.map((b) => b.timeline).filter((t): t is number => t !== null))];
  const w = (await recoverableWindow({ ...input, timelines: tls })).filter((x) => x.earliest_backup_bk !== null);
  if (w.length === 0) return '(empty: no verified full backup with its WAL archived)';
  if (kind === 'lsn' || kind === 'name') return w.map((x) => `timeline ${x.timeline}: ${x.earliest_recoverable_lsn} .. ${x.latest_recoverable_lsn}`).join('; ');
  return w.map((x) => `timeline ${x.timeline}: ${x.earliest_recoverable_time} .. ${x.latest_recoverable_time ?? '(no archived commit after it)'}`).join('; ');
}
