// The vocabulary the model is written in. Each column kind knows its SQL type,
// the TypeScript type node-postgres really returns for it (int8/numeric are
// strings, pg_lsn has no parser), and the zod schema that validates input.

export interface ColumnKind {
  sql: string;
  ts: string;
  zod: string;
}

export const kinds = {
  text: { sql: 'text', ts: 'string', zod: 'z.string()' },
  varchar: (n: number): ColumnKind => ({ sql: `varchar(${n})`, ts: 'string', zod: `z.string().max(${n})` }),
  bigint: { sql: 'bigint', ts: 'string', zod: 'z.union([z.string().regex(/^-?\\d+$/), z.bigint(), z.number().int()])' },
  integer: { sql: 'integer', ts: 'number', zod: 'z.number().int()' },
  numeric: (p: number, s: number): ColumnKind => ({ sql: `numeric(${p},${s})`, ts: 'string', zod: 'z.union([z.string(), z.number()])' }),
  boolean: { sql: 'boolean', ts: 'boolean', zod: 'z.boolean()' },
  timestamptz: { sql: 'timestamptz', ts: 'Date', zod: 'z.union([z.date(), z.string()])' },
  date: { sql: 'date', ts: 'Date', zod: 'z.union([z.date(), z.string()])' },
  time: { sql: 'time', ts: 'string', zod: 'z.string().regex(/^\\d{2}:\\d{2}(:\\d{2})?$/)' },
  interval: { sql: 'interval', ts: 'PgInterval', zod: 'z.string()' },
  bytea: { sql: 'bytea', ts: 'Buffer', zod: 'z.instanceof(Buffer)' },
  jsonb: { sql: 'jsonb', ts: 'JsonValue', zod: 'z.json()' },
  pgLsn: { sql: 'pg_lsn', ts: 'string', zod: 'z.string().regex(/^[0-9A-Fa-f]{1,8}\\/[0-9A-Fa-f]{1,8}$/)' },
  textArray: { sql: 'text[]', ts: 'string[]', zod: 'z.array(z.string())' },
} satisfies Record<string, ColumnKind | ((...a: number[]) => ColumnKind)>;

export interface Column {
  name: string;
  kind: ColumnKind;
  notNull?: boolean;
  default?: string;
  /** values allowed; becomes a CHECK, a TS union and a zod enum */
  enumOf?: readonly string[];
  check?: string;
  comment?: string;
  /** Model version that added it to an existing satellite (default: the satellite's): ALTER TABLE … ADD COLUMN there. */
  since?: number;
}

export interface Hub {
  name: string; // e.g. backup_execution_h
  key: string; // e.g. backup  -> backup_hk / backup_bk
  bkPattern?: string; // regex CHECK on the business key
  comment: string;
  /** Model version that added it (default 1): its DDL is in that version's migration. */
  since?: number;
}

export interface Satellite {
  name: string; // e.g. backup_execution_s
  hub: string; // parent hub name
  /** name of the current-row view joining hub + current satellite row */
  currentView: string;
  /** Keep a copy of the hub's business key in every version (filled by the loader). */
  copyBusinessKey?: boolean;
  columns: Column[];
  checks?: { name: string; expr: string }[];
  comment: string;
  since?: number;
}

export interface Link {
  name: string;
  key: string; // link hash key column
  refs: { column: string; hub: string }[];
  checks?: { name: string; expr: string }[];
  comment: string;
  since?: number;
}

export interface Index {
  name: string;
  table: string;
  columns: string[];
  where?: string;
  unique?: boolean;
  since?: number;
}

export interface Model {
  schema: string;
  /** bump when the table shapes change; each version is its own migration */
  version: number;
  /** Timestamp prefix of each version's migration (migrations are append-only). */
  migrations: Record<number, string>;
  hubs: Hub[];
  satellites: Satellite[];
  links: Link[];
  indexes: Index[];
}

export const col = (name: string, kind: ColumnKind, extra: Omit<Column, 'name' | 'kind'> = {}): Column => ({ name, kind, ...extra });
