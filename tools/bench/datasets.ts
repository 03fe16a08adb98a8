// The two data sets: pgbench's own tables (compress about 21:1 under zstd,
// which flatters every tool) and a realistic mix of about the same size —
// text, JSON, numeric and random bytea — that compresses roughly 2–4:1.
import { join } from 'node:path';
import type pg from 'pg';
import { type BenchCluster, connArgs, connectClient, duBytes, log, one, pgbenchPath, timed } from './env.js';
import type { DatasetInfo } from './report.js';

export async function databaseBytes(client: pg.Client, db: string): Promise<number> {
  const r = await one<{ b: string }>(client, 'SELECT pg_database_size($1)::bigint AS b', [db]);
  return Number(r.b);
}

function dataDirBytes(c: BenchCluster): number {
  return duBytes(c.pg.dataDir) - duBytes(join(c.pg.dataDir, 'pg_wal'));
}

/** pgbench -i -s N with server-side generation, then vacuum and primary keys (pgbench's own steps). */
export async function loadPgbench(c: BenchCluster, scale: number): Promise<DatasetInfo> {
  log(`${c.name}: pgbench -i -s ${scale}`);
  const t0 = performance.now();
  await timed(pgbenchPath(), ['-i', '-s', String(scale), '-q', '-I', 'dtGvp', ...connArgs(c.pg, c.dataDb)], { timeoutMs: 3_600_000 });
  await c.catalog.query('CHECKPOINT');
  const seconds = (performance.now() - t0) / 1000;
  return {
    name: 'pgbench',
    description: `pgbench -i -s ${scale}: pgbench_accounts ${scale * 100_000} rows of integers and blank-padded chars`,
    databaseBytes: await databaseBytes(c.catalog, c.dataDb),
    dataDirBytes: dataDirBytes(c),
    loadSeconds: seconds,
  };
}

// One "unit" of the mix is about the size of one pgbench scale unit (~16 MB):
// 40,000 events with a JSON payload, 2,000 customers with free text, 20,000
// numeric readings and 1,000 documents of 4 KiB random bytes (about a quarter
// of the bytes, incompressible).
const WORDS = `alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa
  quebec romeo sierra tango uniform victor whiskey xray yankee zulu amber basil cedar dune ember fjord grove harbor
  island jasper kestrel lagoon meadow nectar orchard pebble quartz river saffron thistle umber valley willow yarrow
  zephyr account invoice order payment refund shipment delivery customer supplier warehouse ledger balance`
  .split(/\s+/)
  .filter(Boolean);

const wordArray = `ARRAY[${WORDS.map((w) => `'${w}'`).join(',')}]`;
const pick = (arr: string, n: number) => `(${arr})[1 + floor(random() * ${n})::int]`;
const word = pick(wordArray, WORDS.length);
const sentence = (n: number) => `array_to_string(ARRAY(SELECT ${word} FROM generate_series(1, ${n} + (g % 7))), ' ')`;

const MIX_DDL = `
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TABLE mix_customers (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, country char(2) NOT NULL,
  address text, signed_up timestamptz NOT NULL, balance numeric(12,2) NOT NULL, notes text);
CREATE TABLE mix_events (id bigint PRIMARY KEY, customer_id bigint NOT NULL, happened_at timestamptz NOT NULL,
  kind text NOT NULL, amount numeric(12,2), payload jsonb NOT NULL);
CREATE TABLE mix_metrics (ts timestamptz NOT NULL, sensor_id integer NOT NULL, value double precision NOT NULL, reading numeric(10,3));
CREATE TABLE mix_documents (id bigint PRIMARY KEY, content_type text NOT NULL, name text NOT NULL, body bytea NOT NULL);
`;

function unitSql(firstUnit: number, units: number): string[] {
  const range = (per: number) => `generate_series(${firstUnit * per + 1}::bigint, ${(firstUnit + units) * per}::bigint) AS g`;
  return [
    `INSERT INTO mix_customers
     SELECT g, initcap(${word}) || ' ' || initcap(${word}), ${word} || '.' || g || '@example.' || ${pick(`ARRAY['com','org','net','io']`, 4)},
            ${pick(`ARRAY['DE','FR','US','GB','JP','BR','IN','NL']`, 8)}, (1 + g % 999) || ' ' || initcap(${word}) || ' Street, ' || initcap(${word}),
            timestamptz '2020-01-01' + (g % 100000) * interval '17 minutes', round((random() * 10000)::numeric, 2), ${sentence(12)}
       FROM ${range(2000)}`,
    `INSERT INTO mix_events
     SELECT g, 1 + (g * 7919) % ${Math.max(1, (firstUnit + units) * 2000)}, timestamptz '2023-01-01' + g * interval '1.7 seconds',
            ${pick(`ARRAY['view','click','cart','purchase','refund','login','logout','search']`, 8)},
            CASE WHEN g % 3 = 0 THEN round((random() * 500)::numeric, 2) END,
            jsonb_build_object(
              'ip', format('10.%s.%s.%s', g % 256, (g / 256) % 256, (random() * 255)::int),
              'agent', ${pick(`ARRAY['Mozilla/5.0 (X11; Linux x86_64)','Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1)','Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)','curl/8.4.0','okhttp/4.12.0']`, 5)},
              'session', substr(md5(g::text), 1, 12),
              'items', jsonb_build_array(
                 jsonb_build_object('sku', 'SKU-' || (random() * 99999)::int, 'qty', 1 + (random() * 4)::int, 'price', round((random() * 200)::numeric, 2)),
                 jsonb_build_object('sku', 'SKU-' || (random() * 99999)::int, 'qty', 1 + (random() * 4)::int, 'price', round((random() * 200)::numeric, 2))),
              'tags', jsonb_build_array(${word}, ${word}),
              'note', ${sentence(4)})
       FROM ${range(40000)}`,
    `INSERT INTO mix_metrics
     SELECT timestamptz '2024-01-01' + g * interval '250 milliseconds', (g % 500)::int, random() * 100, round((random() * 1000)::numeric, 3)
       FROM ${range(20000)}`,
    `INSERT INTO mix_documents
     SELECT g, ${pick(`ARRAY['application/pdf','image/png','image/jpeg','application/zip']`, 4)}, 'doc-' || g || '.bin',
            gen_random_bytes(1024) || gen_random_bytes(1024) || gen_random_bytes(1024) || gen_random_bytes(1024)
       FROM ${range(1000)}`,
  ];
}

/** Loads the mix in units until the database is about `targetBytes` large. */
export async function loadMix(c: BenchCluster, targetBytes: number): Promise<DatasetInfo> {
  log(`${c.name}: loading the mix up to ${(targetBytes / 1024 / 1024).toFixed(0)} MB`);
  const t0 = performance.now();
  const db = await connectClient(c.pg, c.dataDb, 'bench loader');
  try {
    await db.query('SET synchronous_commit = off');
    await db.query(MIX_DDL);
    const empty = await databaseBytes(db, c.dataDb);
    let units = 0;
    let chunk = 1;
    for (;;) {
      for (const sql of unitSql(units, chunk)) await db.query(sql);
      units += chunk;
      const now = await databaseBytes(db, c.dataDb);
      const perUnit = (now - empty) / units;
      const left = targetBytes * 0.97 - now;
      if (left <= 0) break;
      chunk = Math.max(1, Math.min(8, Math.round(left / perUnit)));
    }
    await db.query('CREATE INDEX mix_events_customer ON mix_events (customer_id)');
    await db.query('CREATE INDEX mix_metrics_ts ON mix_metrics (ts)');
    await db.query('VACUUM (FREEZE, ANALYZE)');
    await db.query('CHECKPOINT');
    const seconds = (performance.now() - t0) / 1000;
    return {
      name: 'mix',
      description: `${units} units: ${units * 40_000} JSON events, ${units * 2000} customers (text), ${units * 20_000} numeric readings, ${units * 1000} documents of 4 KiB random bytea`,
      databaseBytes: await databaseBytes(db, c.dataDb),
      dataDirBytes: dataDirBytes(c),
      loadSeconds: seconds,
    };
  } finally {
    await db.end();
  }
}
