// Random cron cases for the property test of backup_mgmt.cron_next(), the
// reference answers of the JS library cron-parser, and an independent
// minute-scan oracle of our documented DST rules for the few cases that
// cron-parser cannot answer (see sql/40-schedule/README.md).
import { createRequire } from 'node:module';
import { CronExpressionParser } from 'cron-parser';
import { prng } from '../harness/prng.js';
export { prng };

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const ZONES = ['UTC', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'Asia/Kolkata'] as const;
export type Zone = (typeof ZONES)[number];

export interface CronCase {
  expr: string;
  zone: Zone;
  /** ms since the epoch; may carry seconds and milliseconds */
  after: number;
}

// ---------------------------------------------------------------- time zones

const formatters = new Map<string, Intl.DateTimeFormat>();

/** UTC offset of a zone at an instant, in minutes (Intl, not luxon). */
export function offsetMinutes(zone: string, at: number): number {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(at))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return Math.round((wall - Math.floor(at / 1000) * 1000) / MINUTE);
}

/** Wall-clock fields of an instant in a zone. */
function wallOf(zone: string, at: number) {
  const d = new Date(at + offsetMinutes(zone, at) * MINUTE);
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), dow: d.getUTCDay() };
}

/** The instant of local midnight (day may overflow the month, as in Date.UTC). */
function localMidnight(zone: string, y: number, mo: number, d: number): number {
  const wall = Date.UTC(y, mo - 1, d);
  const guess = wall - offsetMinutes(zone, wall) * MINUTE;
  return wall - offsetMinutes(zone, guess) * MINUTE;
}

/** First instant (whole minute) in (a, b] with b's offset, when a and b differ. */
function changeBetween(zone: string, a: number, b: number): number {
  const oa = offsetMinutes(zone, a);
  let lo = a;
  let hi = b;
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
    if (offsetMinutes(zone, mid) === oa) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Offset changes of a zone between two years (daily scan, then bisection). */
export function offsetChanges(zone: string, fromYear: number, toYear: number): number[] {
  const out: number[] = [];
  const end = Date.UTC(toYear, 0, 1);
  let t = Date.UTC(fromYear, 0, 1);
  let o = offsetMinutes(zone, t);
  for (t += DAY; t < end; t += DAY) {
    const o2 = offsetMinutes(zone, t);
    if (o2 !== o) {
      out.push(changeBetween(zone, t - DAY, t));
      o = o2;
    }
  }
  return out;
}

// ---------------------------------------------------------------- generator

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MAX_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const ALIASES = ['@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually'];

interface FieldSpec {
  lo: number;
  hi: number;
  pStar: number;
  names?: string[];
  /** day of week: 7 is Sunday, the same value as 0 */
  dow?: boolean;
}

/**
 * Deterministic random cases: every field mixes single values, lists,
 * ranges, a-b/n and * / n steps, month and day names in any case; day
 * fields are often both restricted (the OR rule) or one of them a * / n step
 * (Vixie's AND rule); instants cluster around each zone's DST changes.
 * Lists never repeat a value (cron-parser refuses duplicates, cron does not
 * care) and every expression can match some day.
 */
export function generateCases(seed: number, count: number): CronCase[] {
  const r = prng(seed);
  const int = (a: number, b: number) => a + Math.floor(r() * (b - a + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const spell = (s: string) => {
    const k = r();
    return k < 0.4 ? s : k < 0.7 ? s.toLowerCase() : s[0] + s.slice(1).toLowerCase();
  };

  const token = (v: number, f: FieldSpec) => {
    const i = v - (f.dow ? 0 : f.lo);
    return f.names && i >= 0 && i < f.names.length && r() < 0.5 ? spell(f.names[i]!) : String(v);
  };
  const valuesOf = (item: string, f: FieldSpec): number[] => {
    const [range, step] = item.split('/');
    const value = (t: string) => {
      const i = f.names ? f.names.indexOf(t.toUpperCase()) : -1;
      return i >= 0 ? i + (f.dow ? 0 : f.lo) : Number(t);
    };
    let from = f.lo;
    let to = f.hi;
    if (range !== '*') {
      const [a, b] = range!.split('-');
      from = value(a!);
      to = b === undefined ? from : value(b);
    }
    const out: number[] = [];
    for (let v = from; v <= to; v += step ? Number(step) : 1) out.push(f.dow ? v % 7 : v);
    return out;
  };
  const item = (f: FieldSpec) => {
    const k = r();
    const maxStep = Math.max(1, Math.min(f.hi - f.lo, 15));
    if (k < 0.35) return token(int(f.lo, f.hi), f);
    const a = int(f.lo, f.hi);
    const b = int(a, f.hi);
    if (k < 0.6) return `${token(a, f)}-${token(b, f)}`;
    if (k < 0.8) return `${token(a, f)}-${token(b, f)}/${int(1, maxStep)}`;
    return `*/${int(1, Math.max(1, Math.min(f.hi - f.lo + 1, 20)))}`;
  };
  const field = (f: FieldSpec) => {
    if (r() < f.pStar) return '*';
    const want = r() < 0.6 ? 1 : int(2, 4);
    const items: string[] = [];
    const seen = new Set<number>();
    for (let tries = 0; items.length < want && tries < 30; tries++) {
      const it = item(f);
      const vs = valuesOf(it, f);
      if (new Set(vs).size !== vs.length || vs.some((v) => seen.has(v))) continue;
      for (const v of vs) seen.add(v);
      items.push(it);
    }
    return items.join(',');
  };

  const expression = () => {
    if (r() < 0.03) return pick(ALIASES);
    const fields = [
      field({ lo: 0, hi: 59, pStar: 0.15 }),
      field({ lo: 0, hi: 23, pStar: 0.4 }),
      field({ lo: 1, hi: 31, pStar: 0.6 }),
      field({ lo: 1, hi: 12, pStar: 0.75, names: MONTH_NAMES }),
      field({ lo: 0, hi: 7, pStar: 0.6, names: DAY_NAMES, dow: true }),
    ];
    return fields.join(r() < 0.1 ? '\t' : ' ');
  };

  const changes = new Map<Zone, number[]>(ZONES.map((z) => [z, offsetChanges(z, 2019, 2031)]));
  const instant = (zone: Zone) => {
    const near = changes.get(zone)!;
    let t: number;
    if (near.length > 0 && r() < 0.6) t = pick(near) + int(-8 * 60, 8 * 60) * MINUTE;
    else t = Date.UTC(2020, 0, 1) + int(0, Math.floor((Date.UTC(2030, 0, 1) - Date.UTC(2020, 0, 1)) / MINUTE)) * MINUTE;
    if (r() < 0.5) t += int(0, 59) * 1000 + (r() < 0.5 ? int(0, 999) : 0);
    return t;
  };

  const cases: CronCase[] = [];
  while (cases.length < count) {
    const expr = expression();
    const sets = cronSets(expr);
    if (!sets) continue;
    if (!sets.dayPossible) continue;
    const zone = pick(ZONES);
    cases.push({ expr, zone, after: instant(zone) });
  }
  return cases;
}

// ---------------------------------------------------------------- value sets

export interface CronSets {
  minutes: Set<number>;
  hours: Set<number>;
  doms: Set<number>;
  months: Set<number>;
  dows: Set<number>;
  /** Vixie cron: a day field beginning with * does not take part in the OR rule */
  domStar: boolean;
  dowStar: boolean;
  allHours: boolean;
  dayPossible: boolean;
  fields: string[];
}

const ALIAS_FIELDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

/** Value sets from cron-parser's own parser (null when it refuses the expression). */
export function cronSets(expr: string): CronSets | null {
  const text = ALIAS_FIELDS[expr.toLowerCase()] ?? expr;
  const fields = text.trim().split(/\s+/);
  let parsed;
  try {
    parsed = CronExpressionParser.parse(fields.join(' ')).fields;
  } catch {
    return null;
  }
  const nums = (vs: readonly unknown[]) => vs.filter((v): v is number => typeof v === 'number');
  const s: CronSets = {
    minutes: new Set(nums(parsed.minute.values)),
    hours: new Set(nums(parsed.hour.values)),
    doms: new Set(nums(parsed.dayOfMonth.values)),
    months: new Set(nums(parsed.month.values)),
    dows: new Set(nums(parsed.dayOfWeek.values).map((v) => v % 7)),
    domStar: fields[2]!.startsWith('*'),
    dowStar: fields[4]!.startsWith('*'),
    allHours: false,
    dayPossible: true,
    fields,
  };
  s.allHours = s.hours.size === 24;
  if (s.domStar || s.dowStar) {
    s.dayPossible = [...s.months].some((m) => [...s.doms].some((d) => d <= MAX_DAYS[m - 1]!));
  }
  return s;
}

function dayMatches(s: CronSets, y: number, mo: number, d: number): boolean {
  if (!s.months.has(mo)) return false;
  const a = s.doms.has(d);
  const b = s.dows.has(new Date(Date.UTC(y, mo - 1, d)).getUTCDay());
  return s.domStar || s.dowStar ? a && b : a || b;
}

// ---------------------------------------------------------------- reference: cron-parser

const requireFromCronParser = createRequire(createRequire(import.meta.url).resolve('cron-parser'));
interface LuxonLike {
  DateTime: { prototype: { plus: (...args: unknown[]) => unknown } };
}
const luxon = requireFromCronParser('luxon') as LuxonLike;

/**
 * cron-parser 5.10 spins to its loop limit (10,000 steps, seconds of CPU)
 * around Lord Howe's half-hour fall-back. Every legitimate case here needs
 * fewer than 100 date steps, so a step budget turns the spin into an
 * immediate "no answer" without changing any answer it does give.
 */
export class ReferenceGaveUp extends Error {}
let stepBudget = Infinity;
const plus = luxon.DateTime.prototype.plus;
export function installStepBudget(): () => void {
  luxon.DateTime.prototype.plus = function (this: unknown, ...args: unknown[]) {
    if (--stepBudget < 0) throw new ReferenceGaveUp('cron-parser exceeded 500 date steps');
    return plus.apply(this, args);
  };
  return () => {
    luxon.DateTime.prototype.plus = plus;
  };
}

function cronParserNext(expr: string, after: number, zone: string): number {
  stepBudget = 500;
  try {
    return CronExpressionParser.parse(expr, { currentDate: new Date(after), tz: zone }).next().toDate().getTime();
  } finally {
    stepBudget = Infinity;
  }
}

/**
 * The reference answer. cron-parser treats a day field as "restricted"
 * unless it is exactly *, so "*\/2" in one day field and a restricted other
 * field is an OR for it, while Vixie cron and pg_cron (which fires our jobs)
 * AND them: a day field that begins with * is unrestricted. For those
 * expressions the reference is cron-parser on the day-of-month part alone,
 * keeping the first result whose weekday is allowed.
 */
export function referenceNext(c: CronCase, s: CronSets): { at: number; adapted: boolean } {
  const [mi, h, dom, mon, dow] = s.fields;
  const expr = ALIAS_FIELDS[c.expr.toLowerCase()] ? c.expr.toLowerCase() : s.fields.join(' ');
  const vixieAnd = dom !== '*' && dow !== '*' && (s.domStar || s.dowStar);
  if (!vixieAnd) return { at: cronParserNext(expr, c.after, c.zone), adapted: false };
  const domOnly = [mi, h, dom, mon, '*'].join(' ');
  let from = c.after;
  for (let i = 0; i < 5000; i++) {
    const at = cronParserNext(domOnly, from, c.zone);
    const w = wallOf(c.zone, at);
    if (s.dows.has(w.dow)) return { at, adapted: true };
    from = localMidnight(c.zone, w.y, w.mo, w.d + 1) - 1;
  }
  throw new Error(`reference: no weekday match for ${c.expr}`);
}

// ---------------------------------------------------------------- oracle: minute scan

export type FireKind = 'plain' | 'repeat' | 'landing';

/**
 * Whether instant t fires under the documented rules, checked minute by
 * minute from the instant's own wall clock (no day/hour piecewise logic):
 *  plain   - its wall time matches and occurs once (or is a first occurrence);
 *  repeat  - second occurrence of a repeated wall time, allowed when the
 *            search starts at/after the change, or all 24 hours are
 *            scheduled and the repeat is a whole clock hour;
 *  landing - within the hour after a spring-forward gap that skipped a
 *            whole scheduled clock hour, at one of the schedule's minutes,
 *            when the search starts before the change.
 */
export function fireKind(s: CronSets, zone: string, after: number, t: number): FireKind | null {
  const o = offsetMinutes(zone, t);
  const oBefore = offsetMinutes(zone, t - 12 * HOUR);
  const w = wallOf(zone, t);
  if (s.minutes.has(w.mi) && s.hours.has(w.h) && dayMatches(s, w.y, w.mo, w.d)) {
    if (oBefore > o) {
      const earlier = t - (oBefore - o) * MINUTE;
      if (offsetMinutes(zone, earlier) === oBefore) {
        const change = changeBetween(zone, t - 12 * HOUR, t);
        const repeatStart = change + o * MINUTE;
        const wholeHour = repeatStart % HOUR === 0 && (oBefore - o) % 60 === 0;
        return after >= change || (s.allHours && wholeHour) ? 'repeat' : null;
      }
    }
    return 'plain';
  }
  if (oBefore < o) {
    const change = changeBetween(zone, t - 12 * HOUR, t);
    const gapStart = change + oBefore * MINUTE;
    const gapEnd = change + o * MINUTE;
    if (after < change && t - change < HOUR && gapEnd % HOUR === 0 && s.minutes.has(w.mi)) {
      for (let h0 = Math.ceil(gapStart / HOUR) * HOUR; h0 + HOUR <= gapEnd; h0 += HOUR) {
        const d = new Date(h0);
        if (s.hours.has(d.getUTCHours()) && dayMatches(s, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())) return 'landing';
      }
    }
  }
  return null;
}

/** First firing instant in (after, limit] by scanning minutes (whole days/hours skipped only where no offset changes nearby). */
export function scanNext(s: CronSets, zone: string, after: number, limit: number): { at: number; kind: FireKind } | null {
  let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  while (t <= limit) {
    const kind = fireKind(s, zone, after, t);
    if (kind) return { at: t, kind };
    const o = offsetMinutes(zone, t);
    if (offsetMinutes(zone, t - DAY) === o && offsetMinutes(zone, t + DAY) === o) {
      const w = wallOf(zone, t);
      if (!dayMatches(s, w.y, w.mo, w.d)) {
        t = Date.UTC(w.y, w.mo - 1, w.d + 1) - o * MINUTE;
        continue;
      }
      if (!s.hours.has(w.h)) {
        t = Date.UTC(w.y, w.mo - 1, w.d, w.h + 1) - o * MINUTE;
        continue;
      }
    }
    t += MINUTE;
  }
  return null;
}
