// Catalog DDL: hubs, satellites, links, their keys, checks and indexes,
// emitted as one node-pg-migrate migration per model version.
import type { Column, Model } from '../types.js';
import { bkOf, hkOf, hubOf, q, sqlHeader, sqlString } from './shared.js';

const columnDdl = (c: Column) => {
  const parts = [`    ${c.name} ${c.kind.sql}`];
  if (c.notNull) parts.push('NOT NULL');
  if (c.default) parts.push(`DEFAULT ${c.default}`);
  return parts.join(' ');
};

const enumCheck = (table: string, c: Column) =>
  c.enumOf
    ? [`    CONSTRAINT chk_${table}_${c.name} CHECK (${c.name} IN (${c.enumOf.map(sqlString).join(', ')}))`]
    : [];

/** What model version `version` added: tables, checks and indexes with that `since` (default 1). */
function addedIn(model: Model, version: number): Model {
  const at = <T extends { since?: number }>(xs: T[]) => xs.filter((x) => (x.since ?? 1) === version);
  // A new table is created with the columns known at its version; later ones are added by ALTER TABLE.
  const satellites = at(model.satellites).map((sat) => ({ ...sat, columns: sat.columns.filter((c) => (c.since ?? version) <= version) }));
  return { ...model, version, hubs: at(model.hubs), satellites, links: at(model.links), indexes: at(model.indexes) };
}

/** Columns model version `version` added to satellites of earlier versions. */
function addedColumns(model: Model, version: number): string[] {
  const out: string[] = [];
  for (const sat of model.satellites.filter((x) => (x.since ?? 1) < version)) {
    for (const c of sat.columns.filter((x) => x.since === version)) {
      const t = q(model.schema, sat.name);
      out.push(`ALTER TABLE ${t} ADD COLUMN ${columnDdl(c).trim()};`);
      for (const chk of enumCheck(sat.name, c)) out.push(`ALTER TABLE ${t} ADD ${chk.trim()};`);
      if (c.check) out.push(`ALTER TABLE ${t} ADD CONSTRAINT chk_${sat.name}_${c.name}_range CHECK (${c.check});`);
      if (c.comment) out.push(`COMMENT ON COLUMN ${t}.${c.name} IS ${sqlString(c.comment)};`);
    }
  }
  return out;
}

/** The migration of one model version: only what that version added (earlier ones are applied already). */
export function emitCatalogMigration(full: Model, version: number): string {
  const model = addedIn(full, version);
  const s = model.schema;
  const up: string[] = [];
  const down: string[] = [];

  for (const hub of model.hubs) {
    const hk = hkOf(hub);
    const bk = bkOf(hub);
    const lines = [
      `    ${hk} bytea NOT NULL PRIMARY KEY`,
      `    ${bk} varchar(255) NOT NULL UNIQUE`,
      `    tenant_hk bytea`,
      `    load_date timestamptz NOT NULL DEFAULT clock_timestamp()`,
      `    record_source varchar(100) NOT NULL`,
      `    CONSTRAINT chk_${hub.name}_hk_length CHECK (octet_length(${hk}) = 32)`,
    ];
    if (hub.bkPattern) lines.push(`    CONSTRAINT chk_${hub.name}_bk_format CHECK (${bk} ~ ${sqlString(hub.bkPattern)})`);
    up.push(`CREATE TABLE ${q(s, hub.name)} (\n${lines.join(',\n')}\n);`);
    up.push(`COMMENT ON TABLE ${q(s, hub.name)} IS ${sqlString(`Hub. ${hub.comment}`)};`);
  }

  for (const sat of model.satellites) {
    const hub = hubOf(full, sat);
    const hk = hkOf(hub);
    const lines = [
      `    ${hk} bytea NOT NULL REFERENCES ${q(s, hub.name)} (${hk})`,
      `    load_date timestamptz NOT NULL`,
      `    load_end_date timestamptz`,
      `    hash_diff bytea NOT NULL`,
      ...(sat.copyBusinessKey ? [`    ${bkOf(hub)} varchar(255) NOT NULL`] : []),
      ...sat.columns.map(columnDdl),
      `    record_source varchar(100) NOT NULL`,
      `    PRIMARY KEY (${hk}, load_date)`,
      `    CONSTRAINT chk_${sat.name}_end_after_load CHECK (load_end_date IS NULL OR load_end_date > load_date)`,
      ...sat.columns.flatMap((c) => enumCheck(sat.name, c)),
      ...sat.columns.filter((c) => c.check).map((c) => `    CONSTRAINT chk_${sat.name}_${c.name}_range CHECK (${c.check})`),
      ...(sat.checks ?? []).map((c) => `    CONSTRAINT chk_${sat.name}_${c.name} CHECK (${c.expr})`),
    ];
    up.push(`CREATE TABLE ${q(s, sat.name)} (\n${lines.join(',\n')}\n);`);
    up.push(`COMMENT ON TABLE ${q(s, sat.name)} IS ${sqlString(`Satellite of ${hub.name}. ${sat.comment} Insert-only: write through ${s}.${sat.name}_load().`)};`);
    // One current row per key, enforced; it also serves every "current row" lookup.
    up.push(`CREATE UNIQUE INDEX ux_${sat.name}_current ON ${q(s, sat.name)} (${hk}) WHERE load_end_date IS NULL;`);
    for (const c of sat.columns.filter((c) => c.comment)) {
      up.push(`COMMENT ON COLUMN ${q(s, sat.name)}.${c.name} IS ${sqlString(c.comment!)};`);
    }
  }

  for (const link of model.links) {
    const lines = [
      `    ${link.key} bytea NOT NULL PRIMARY KEY`,
      ...link.refs.map((r) => {
        const hub = full.hubs.find((h) => h.name === r.hub)!;
        return `    ${r.column} bytea NOT NULL REFERENCES ${q(s, hub.name)} (${hkOf(hub)})`;
      }),
      `    tenant_hk bytea`,
      `    load_date timestamptz NOT NULL DEFAULT clock_timestamp()`,
      `    record_source varchar(100) NOT NULL`,
      ...(link.checks ?? []).map((c) => `    CONSTRAINT chk_${link.name}_${c.name} CHECK (${c.expr})`),
    ];
    up.push(`CREATE TABLE ${q(s, link.name)} (\n${lines.join(',\n')}\n);`);
    up.push(`COMMENT ON TABLE ${q(s, link.name)} IS ${sqlString(`Link. ${link.comment}`)};`);
  }

  up.push(...addedColumns(full, version));

  for (const ix of [...model.indexes].sort((a, b) => a.name.localeCompare(b.name))) {
    up.push(
      `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${ix.name} ON ${q(s, ix.table)} (${ix.columns.join(', ')})${ix.where ? ` WHERE ${ix.where}` : ''};`,
    );
  }

  // Dropping in reverse dependency order: links, satellites, hubs; then the columns added to older tables.
  for (const t of [...model.links, ...model.satellites, ...model.hubs].map((t) => t.name)) {
    down.push(`DROP TABLE IF EXISTS ${q(s, t)};`);
  }
  for (const sat of full.satellites.filter((x) => (x.since ?? 1) < version)) {
    for (const c of sat.columns.filter((x) => x.since === version)) down.push(`ALTER TABLE ${q(s, sat.name)} DROP COLUMN IF EXISTS ${c.name};`);
  }

  return [
    sqlHeader(`Data Vault catalog, model version ${model.version}. A new model version gets a new migration.`),
    '-- Up Migration',
    up.join('\n\n'),
    '',
    '-- Down Migration',
    down.join('\n'),
    '',
  ].join('\n');
}
