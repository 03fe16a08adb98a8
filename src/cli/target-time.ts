// --target-time as an operator types it: an instant with a zone, `now`, a
// time relative to now (`-5min`, `now-2h`, `-1 day`), or a local time without
// a zone, which is read in the zone of the machine running the CLI (TZ, else
// /etc/localtime) and shown back as UTC in the plan. Everything becomes ISO
// 8601 with Z before it reaches the catalog.
import { CliError } from './errors.js';

const UNITS: Record<string, number> = {
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400,
};

const RELATIVE = /^(?:now)?\s*-\s*(\d+(?:\.\d+)?)\s*([a-z]+)$/i;
const WITH_ZONE = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;
const LOCAL = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)$/;

export interface ResolvedTime {
  /** ISO 8601 in UTC, what the catalog receives. */
  iso: string;
  /** How the input was read, for the plan ("now", "local time (Europe/Berlin)"); null for an explicit zone. */
  readAs: string | null;
}

const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'local';

export function resolveTargetTime(input: string, now: Date = new Date()): ResolvedTime {
  const text = input.trim();
  const bad = (why: string) =>
    new CliError(`--target-time: ${why}; give an ISO 8601 time (2026-11-22T01:02:03Z, 2026-11-22 01:02:03+01, or without a zone in this machine's zone), now, or a time before now: -5min, -2h, -1day`, 2);
  if (/^now$/i.test(text)) return { iso: now.toISOString(), readAs: 'now' };
  const rel = RELATIVE.exec(text);
  if (rel) {
    const unit = UNITS[rel[2]!.toLowerCase()];
    if (unit === undefined) throw bad(`unknown unit ${JSON.stringify(rel[2])} (s, min, h, day)`);
    return { iso: new Date(now.getTime() - Number(rel[1]) * unit * 1000).toISOString(), readAs: `now - ${rel[1]} ${rel[2]}` };
  }
  if (WITH_ZONE.test(text)) return { iso: text, readAs: null }; // checked exactly by the client's schema
  const local = LOCAL.exec(text);
  if (local) {
    // JavaScript reads a date-time without a zone in the process's zone.
    const d = new Date(`${local[1]}T${local[2]}`);
    if (Number.isNaN(d.getTime()) || !d.toISOString().startsWith(local[1]!.slice(0, 4))) throw bad(`not a valid time: ${JSON.stringify(input)}`);
    return { iso: d.toISOString(), readAs: `local time of this machine (${localZone()})` };
  }
  throw bad(`not a time: ${JSON.stringify(input)}`);
}
