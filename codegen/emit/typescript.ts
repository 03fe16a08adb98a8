// TypeScript outputs: Kysely Database types matching what node-postgres
// returns, zod schemas for loader input, and the conventions as constants.
import * as conventions from '../conventions.js';
import type { Column, Hub, Model, Satellite } from '../types.js';
import { bkOf, hkOf, hubOf, pascal, tsHeader } from './shared.js';

const tsType = (c: { kind: { ts: string }; enumOf?: readonly string[]; notNull?: boolean }) => {
  const base = c.enumOf ? c.enumOf.map((v) => `'${v}'`).join(' | ') : c.kind.ts;
  return c.notNull ? base : `${base} | null`;
};

const member = (name: string, type: string) => `${name}: ${type}`;
/** An interface body, one member a line. */
const block = (members: string[]) => `{\n${members.map((m) => `  ${m};`).join('\n')}\n}`;

// The columns the loaders and the DDL give every hub and link, and every satellite version.
const VAULT_ROW = [member('tenant_hk', 'Buffer | null'), member('load_date', 'Date'), member('record_source', 'string')];
const SATELLITE_VERSION = [member('load_date', 'Date'), member('load_end_date', 'Date | null'), member('hash_diff', 'Buffer'), member('record_source', 'string')];

/** A one-line type literal: { a: A; b: B } */
const inline = (members: string[]) => `{ ${members.join('; ')} }`;

/**
 * The table and view types. What hubs, links and satellites have in common is
 * declared once (VaultRow, SatelliteVersion); a satellite's own columns once
 * (…Columns), shared by its table and its current-row view.
 */
function declarations(model: Model): { tables: string[]; columns: string[]; names: string[] } {
  const byName = <T extends { name: string }>(xs: T[]) => [...xs].sort((a, b) => a.name.localeCompare(b.name));
  const hubKeys = (hub: Hub) => [member(hkOf(hub), 'Buffer'), member(bkOf(hub), 'string')];
  const sats = byName(model.satellites);
  const columns = sats.map(
    (sat) => `/** The own columns of ${sat.name}, also in ${sat.currentView}. */
export interface ${pascal(sat.name)}Columns ${block(sat.columns.map((c) => member(c.name, tsType(c))))}`,
  );
  const hubs = byName(model.hubs).map((hub) => `export interface ${pascal(hub.name)} extends VaultRow ${inline(hubKeys(hub))}`);
  const links = byName(model.links).map(
    (link) => `export interface ${pascal(link.name)} extends VaultRow ${inline([link.key, ...link.refs.map((r) => r.column)].map((c) => member(c, 'Buffer')))}`,
  );
  const versions = sats.map((sat) => {
    const hub = hubOf(model, sat);
    const keys = sat.copyBusinessKey ? hubKeys(hub) : [member(hkOf(hub), 'Buffer')];
    return `export type ${pascal(sat.name)} = SatelliteVersion & ${pascal(sat.name)}Columns & ${inline(keys)};`;
  });
  const views = sats.map((sat) => `export type ${pascal(sat.currentView)} = ${pascal(hubOf(model, sat).name)} & ${pascal(sat.name)}Columns;`);
  const tables = [
    `/** Hubs: one row per business key. */\n${hubs.join('\n')}`,
    `/** Links between hubs. */\n${links.join('\n')}`,
    `/** Satellite tables: every version of a hub row's attributes. */\n${versions.join('\n')}`,
    `/** Current-row views: the hub row joined with its satellite's current version. */\n${views.join('\n')}`,
  ];
  const names = [...model.hubs, ...model.links, ...model.satellites].map((t) => t.name).concat(model.satellites.map((s) => s.currentView));
  return { tables, columns, names: names.sort() };
}

export function emitKysely(model: Model): string {
  const { tables, columns, names } = declarations(model);
  const db = names.map((name) => `  '${model.schema}.${name}': ${pascal(name)};`).join('\n');
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

/** Besides its keys, every hub and link row (and every current-row view) has these. */
export interface VaultRow ${block(VAULT_ROW)}

/** Besides the parent's key and its own columns, every satellite version has these. */
export interface SatelliteVersion ${block(SATELLITE_VERSION)}

${tables.join('\n\n')}

${columns.join('\n\n')}

export interface Database {
${db}
}
`;
}

const enumName = (sat: Satellite, c: Column) => `${pascal(sat.name.replace(/_s$/, ''))}${pascal(c.name)}`;

const zodFor = (sat: Satellite, c: Column) => {
  const base = c.enumOf ? enumName(sat, c) : c.kind.zod;
  return c.notNull ? base : `${base}.nullable()`;
};

export function emitZod(model: Model): string {
  const enums = new Map<string, readonly string[]>();
  for (const sat of model.satellites) {
    for (const c of sat.columns) {
      if (c.enumOf) enums.set(enumName(sat, c), c.enumOf);
    }
  }
  const sorted = [...enums.entries()].sort(([a], [b]) => a.localeCompare(b));
  const enumLines = [
    ...sorted.map(([name, values]) => `export const ${name} = z.enum([${values.map((v) => `'${v}'`).join(', ')}]);`),
    '',
    ...sorted.map(([name]) => `export type ${name} = z.infer<typeof ${name}>;`),
  ].join('\n');
  const changes = [...model.satellites]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map(
      (sat) =>
        `/** Columns a caller may pass to ${model.schema}.${sat.name}_load(). */\nexport const ${pascal(sat.name)}Changes = changes({\n${sat.columns
          .map((c) => `  ${c.name}: ${zodFor(sat, c)},`)
          .join('\n')}\n});\nexport type ${pascal(sat.name)}Changes = z.infer<typeof ${pascal(sat.name)}Changes>;`,
    )
    .join('\n\n');
  return `${tsHeader('zod schemas of the backup_mgmt catalog: status vocabularies and satellite changes.')}
import { z } from 'zod';

${enumLines}

/** A loader takes any subset of a satellite's own columns, and nothing else. */
const changes = <S extends z.ZodRawShape>(shape: S) => z.object(shape).partial().strict();

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
