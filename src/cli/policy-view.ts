// Prints a policy plan for people: one block per object, one line per field.
import type { PolicyChange } from '../client/policy/index.js';

const show = (v: unknown): string => (v === null || v === undefined ? 'null' : typeof v === 'string' ? v : JSON.stringify(v));

export function planSummary(changes: PolicyChange[]): Record<string, number> {
  const objects = new Map<string, string>();
  for (const c of changes) objects.set(`${c.object_kind}\0${c.object_name}\0${c.action}`, c.action);
  const counts: Record<string, number> = {};
  for (const action of objects.values()) counts[action] = (counts[action] ?? 0) + 1;
  return counts;
}

export function printPlan(changes: PolicyChange[], out: (line: string) => void): void {
  let current = '';
  for (const c of changes) {
    const object = `${c.object_kind} ${c.object_name}`;
    const mark = c.drift ? '  [undoes a change made by hand]' : '';
    if (c.action === 'create') {
      if (object !== current) out(`+ ${object}: create${c.detail ? ` (${c.detail})` : ''}`);
      current = object;
      // Defaults (off, none, empty) would only repeat what a new schedule starts with.
      if (c.new_value !== null && c.new_value !== false && !(Array.isArray(c.new_value) && c.new_value.length === 0)) out(`    ${c.field}: ${show(c.new_value)}`);
      continue;
    }
    current = object;
    if (c.field === null) {
      out(`${c.action === 'drop' ? '-' : '='} ${object}: ${c.action}${c.detail ? ` (${c.detail})` : ''}`);
    } else {
      out(`~ ${object}: ${c.action} ${c.field}: ${show(c.old_value)} -> ${show(c.new_value)}${mark}`);
    }
  }
  const counts = planSummary(changes);
  const drift = changes.filter((c) => c.drift).length;
  out(
    `${Object.entries(counts).map(([a, n]) => `${n} ${a}`).join(', ')}` +
      (drift ? `; ${drift} change(s) undo changes made by hand` : ''),
  );
}
