// TypeScript outputs: Kysely Database types matching what node-postgres
// returns, zod schemas for loader input, and the conventions as constants.
import * as conventions from '../conventions.js';
import type { Column, Model } from '../types.js';
import { bkOf, hkOf, hubOf, pascal, tsHeader } from './shared.js';

const tsType = (c: { kind: { ts: string }; enumOf?: readonly string[]; notNull?: boolean }) => {
  const base = c.enumOf ? c.enumOf.map((v) => `'${v}'`).join(' | ') : c.kind.ts;
  return c.notNull ? base : `${base} | null`;
};

interface Shape {
  name: string;
  columns: { name: string; type: string }[];
}

function shapes(model: Model): Shape[] {
  const out: Shape[] = [];
  for (const hub of model.hubs) {
    out.push({
      name: hub.name,
      columns: [
        { name: hkOf(hub), type: 'Buffer' },
        { name: bkOf(hub), type: 'string' },
        { name: 'tenant_hk', type: 'Buffer | null' },
        { name: 'load_date', type: 'Date' },
        { name: 'record_source', type: 'string' },
      ],
    });
  }
  for (const sat of model.satellites) {
    const hub = hubOf(model, sat);
    const own = sat.columns.map((c) => ({ name: c.name, type: tsType(c) }));
    out.push({
      name: sat.name,
      columns: [
        { name: hkOf(hub), type: 'Buffer' },
        { name: 'load_date', type: 'Date' },
        { name: 'load_end_date', type: 'Date | null' },
        { name: 'hash_diff', type: 'Buffer' },
        ...(sat.copyBusinessKey ? [{ name: bkOf(hub), type: 'string' }] : []),
        ...own,
        { name: 'record_source', type: 'string' },
      ],
    });
    out.push({
      name: sat.currentView,
      columns: [
        { name: hkOf(hub), type: 'Buffer' },
        { name: bkOf(hub), type: 'string' },
        { name: 'tenant_hk', type: 'Buffer | null' },
        { name: 'load_date', type: 'Date' },
        ...own,
        { name: 'record_source', type: 'string' },
      ],
    });
  }
  for (const link of model.links) {
    out.push({
      name: link.name,
      columns: [
        { name: link.key, type: 'Buffer' },
        ...link.refs.map((r) => ({ name: r.column, type: 'Buffer' })),
        { name: 'tenant_hk', type: 'Buffer | null' },
        { name: 'load_date', type: 'Date' },
        { name: 'record_source', type: 'string' },
      ],
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function emitKysely(model: Model): string {
  const all = shapes(model);
  const body = all
    .map((t) => `export interface ${pascal(t.name)} {\n${t.columns.map((c) => `  ${c.name}: ${c.type};`).join('\n')}\n}`)
    .join('\n\n');
  const db = all.map((t) => `  '${model.schema}.${t.name}': ${pascal(t.name)};`).join('\n');
  return `${tsHeader('Kysely types of the backup_mgmt catalog, as node-postgres returns them.')}
// int8 and numeric arrive as strings, pg_lsn as a string, bytea as a Buffer,
// timestamptz and date as Date, interval as node-postgres' interval object.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface PgInterval {
  years?: number;
  months?: number;
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  milliseconds?: number;
}

${body}

export interface Database {
${db}
}
`;
}

const zodFor = (c: Column) => {
  const base = c.enumOf ? `z.enum([${c.enumOf.map((v) => `'${v}'`).join(', ')}])` : c.kind.zod;
  return c.notNull ? base : `${base}.nullable()`;
};

export function emitZod(model: Model): string {
  const enums = new Map<string, readonly string[]>();
  for (const sat of model.satellites) {
    for (const c of sat.columns) {
      if (c.enumOf) enums.set(`${pascal(sat.name.replace(/_s$/, ''))}${pascal(c.name)}`, c.enumOf);
    }
  }
  const enumLines = [...enums.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, values]) => `export const ${name} = z.enum([${values.map((v) => `'${v}'`).join(', ')}]);\nexport type ${name} = z.infer<typeof ${name}>;`)
    .join('\n');
  const changes = [...model.satellites]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map(
      (sat) =>
        `/** Columns a caller may pass to ${model.schema}.${sat.name}_load(). */\nexport const ${pascal(sat.name)}Changes = z\n  .object({\n${sat.columns
          .map((c) => `    ${c.name}: ${zodFor(c)},`)
          .join('\n')}\n  })\n  .partial()\n  .strict();\nexport type ${pascal(sat.name)}Changes = z.infer<typeof ${pascal(sat.name)}Changes>;`,
    )
    .join('\n\n');
  return `${tsHeader('zod schemas of the backup_mgmt catalog: status vocabularies and satellite changes.')}
import { z } from 'zod';

${enumLines}

${changes}
`;
}

export function emitConventions(): string {
  return `${tsHeader('Data Vault conventions (codegen/conventions.ts) for TypeScript callers.')}
import { createHash } from 'node:crypto';

export const DELIMITER = ${JSON.stringify(conventions.DELIMITER)};
export const ESCAPE = ${JSON.stringify(conventions.ESCAPE)};
export const NULL_PLACEHOLDER = ${JSON.stringify(conventions.NULL_PLACEHOLDER)};
export const DEFAULT_RECORD_SOURCE = ${JSON.stringify(conventions.DEFAULT_RECORD_SOURCE)};

/** One part of a hash-key input: trimmed (spaces only, as btrim), upper-cased, escape and delimiter escaped. */
const normalisePart = (p: string) =>
  p.replace(/^ +| +$/g, '').toUpperCase().split(ESCAPE).join(ESCAPE + ESCAPE).split(DELIMITER).join(ESCAPE + DELIMITER);

/** Same result as the SQL function hash_key(VARIADIC text[]). */
export function hashKey(...parts: (string | null)[]): Buffer {
  const input = parts.map((p) => (p === null ? NULL_PLACEHOLDER : normalisePart(p))).join(DELIMITER);
  return createHash(${JSON.stringify(conventions.HASH_ALGORITHM)}).update(input, 'utf8').digest();
}
`;
}
