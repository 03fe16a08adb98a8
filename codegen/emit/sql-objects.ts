// Repeatable SQL objects derived from the model: the hash-key function, one
// current-row view per satellite and one loader per satellite. They are
// re-applied from sql/ on every migrate, so they are CREATE OR REPLACE.
import {
  DEFAULT_RECORD_SOURCE,
  DELIMITER,
  ESCAPE,
  hashDiffColumns,
  hashKeyNormalisationSql,
  LOADER_SETTINGS,
  NULL_PLACEHOLDER,
} from '../conventions.js';
import type { Model, Satellite } from '../types.js';
import { sqlArray, bkOf, hkOf, hubOf, loaderName, q, sqlHeader, sqlString } from './shared.js';

export function emitHashKeyFunction(model: Model): string {
  const s = model.schema;
  return `${sqlHeader('Hash keys: the one definition of business-key normalisation.')}
CREATE OR REPLACE FUNCTION ${s}.hash_key(VARIADIC p_parts text[])
RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- parts are trimmed and upper-cased, ${sqlString(ESCAPE)} and ${sqlString(DELIMITER)} escaped with ${sqlString(ESCAPE)},
    -- NULL becomes ${sqlString(NULL_PLACEHOLDER)}, joined with ${sqlString(DELIMITER)}
    SELECT sha256(convert_to(${hashKeyNormalisationSql('p_parts')}, 'UTF8'))
$$;
COMMENT ON FUNCTION ${s}.hash_key(text[]) IS ${sqlString(
    `SHA-256 hash key of a business key: parts trimmed, upper-cased, ${ESCAPE} and ${DELIMITER} escaped with ${ESCAPE}, NULL as ${NULL_PLACEHOLDER}, joined with ${DELIMITER}.`,
  )};
`;
}

export function emitCurrentView(model: Model, sat: Satellite): string {
  const s = model.schema;
  const hub = hubOf(model, sat);
  const hk = hkOf(hub);
  const cols = [`s.${hk}`, `h.${bkOf(hub)}`, 'h.tenant_hk', 's.load_date', ...sat.columns.map((c) => `s.${c.name}`), 's.record_source'];
  // One line per clause: every current view has this shape, and a column a
  // line made each new satellite's view repeat the others line by line.
  return `${sqlHeader(`Current row of ${sat.name} joined to its hub.`)}
CREATE OR REPLACE VIEW ${q(s, sat.currentView)} WITH (security_invoker = true) AS
SELECT ${cols.join(', ')}
FROM ${q(s, sat.name)} AS s JOIN ${q(s, hub.name)} AS h ON h.${hk} = s.${hk}
WHERE s.load_end_date IS NULL;
COMMENT ON VIEW ${q(s, sat.currentView)} IS ${sqlString(`Current version of every ${hub.key} in ${sat.name}, with its business key.`)};
`;
}

/**
 * The one satellite loader every generated `<satellite>_load` calls: the
 * insert-only, end-dating algorithm written once, over the names and columns
 * each wrapper passes. The session settings are pinned here, where value::text
 * feeds the hash diff.
 */
export function emitSatelliteLoader(model: Model): string {
  const s = model.schema;
  const settings = Object.entries(LOADER_SETTINGS)
    .map(([k, v]) => `SET ${k} = ${v}`)
    .join('\n');
  return `${sqlHeader('Shared loader of every satellite: insert-only history with end-dating.')}
CREATE OR REPLACE FUNCTION ${s}._load_satellite(
    p_satellite text,
    p_hub text,
    p_hk_column text,
    p_bk_column text,
    p_copy_business_key boolean,
    p_columns text[],
    p_hk bytea,
    p_changes jsonb,
    p_record_source text
)
RETURNS boolean
LANGUAGE plpgsql
${settings}
AS $$
-- Overlays p_changes on the current row of p_satellite. Inserts a new version
-- and end-dates the old one only when the hash diff changes; returns whether
-- it did. p_columns are the descriptive columns in hash-diff order. Rows are
-- handled as jsonb and typed by jsonb_populate_record, so every value passes
-- through its column type before it is hashed.
DECLARE
    v_loader text := p_satellite || '_load';
    v_table text := format('%I.%I', ${sqlString(s)}, p_satellite);
    v_bk text;
    v_rows bigint;
    v_current jsonb;
    v_new jsonb;
    v_hash_diff bytea;
    v_load_date timestamptz;
BEGIN
    IF p_hk IS NULL OR p_changes IS NULL OR jsonb_typeof(p_changes) <> 'object' THEN
        RAISE EXCEPTION '%: a hash key and a JSON object of changes are required', v_loader
            USING ERRCODE = '22004';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_object_keys(p_changes) AS v_key WHERE v_key <> ALL (p_columns)) THEN
        RAISE EXCEPTION '%: unknown column in changes', v_loader
            USING ERRCODE = '42703', DETAIL = p_changes::text,
                  HINT = format('Only descriptive columns of %s can be changed.', p_satellite);
    END IF;
    -- Lock the hub row: loads of one key run one after another, so two
    -- writers never both end-date the same current row.
    EXECUTE format('SELECT %I FROM %I.%I WHERE %I = $1 FOR NO KEY UPDATE', p_bk_column, ${sqlString(s)}, p_hub, p_hk_column)
       INTO v_bk USING p_hk;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    IF v_rows = 0 THEN
        RAISE EXCEPTION '%: no % row for this key', v_loader, p_hub
            USING ERRCODE = '23503', DETAIL = encode(p_hk, 'hex');
    END IF;

    EXECUTE format('SELECT to_jsonb(s) FROM %s AS s WHERE %I = $1 AND load_end_date IS NULL', v_table, p_hk_column)
       INTO v_current USING p_hk;

    -- The typed overlay: the current row (if any), the changes, the keys.
    v_new := coalesce(v_current, '{}'::jsonb) || p_changes
             || jsonb_build_object(p_hk_column, p_hk, 'load_end_date', NULL,
                                   'record_source', coalesce(p_record_source, v_current->>'record_source', ${sqlString(DEFAULT_RECORD_SOURCE)}));
    IF p_copy_business_key THEN
        v_new := v_new || jsonb_build_object(p_bk_column, v_bk);
    END IF;
    EXECUTE format('SELECT to_jsonb(r), sha256(convert_to(concat_ws(%L, %s), %L)) FROM jsonb_populate_record(NULL::%s, $1) AS r',
                   ${sqlString(DELIMITER)},
                   (SELECT string_agg(format('coalesce(r.%I::text, %L)', v_column, ${sqlString(NULL_PLACEHOLDER)}), ', ' ORDER BY v_ord)
                      FROM unnest(p_columns) WITH ORDINALITY AS c(v_column, v_ord)),
                   'UTF8', v_table)
       INTO v_new, v_hash_diff USING v_new;

    IF v_current IS NOT NULL AND (v_current->>'hash_diff')::bytea = v_hash_diff THEN
        RETURN false;
    END IF;

    -- now() is fixed for the whole transaction; two versions written in one
    -- transaction still get strictly increasing load dates.
    v_load_date := greatest(clock_timestamp(), (v_current->>'load_date')::timestamptz + interval '1 microsecond');

    IF v_current IS NOT NULL THEN
        EXECUTE format('UPDATE %s SET load_end_date = $1 WHERE %I = $2 AND load_date = $3', v_table, p_hk_column)
          USING v_load_date, p_hk, (v_current->>'load_date')::timestamptz;
    END IF;
    EXECUTE format('INSERT INTO %s SELECT * FROM jsonb_populate_record(NULL::%s, $1)', v_table, v_table)
      USING v_new || jsonb_build_object('load_date', v_load_date, 'hash_diff', v_hash_diff);
    RETURN true;
END;
$$;
COMMENT ON FUNCTION ${s}._load_satellite(text, text, text, text, boolean, text[], bytea, jsonb, text) IS ${sqlString(
    'Internal: the satellite loader behind every generated <satellite>_load (insert-only, end-dates the previous version, no new version when the hash diff is unchanged).',
  )};
`;
}

/**
 * One loader per satellite: a thin wrapper that names the satellite, its hub
 * and its descriptive columns (in hash-diff order) for _load_satellite.
 */
export function emitLoader(model: Model, sat: Satellite): string {
  const s = model.schema;
  const hub = hubOf(model, sat);
  const hk = hkOf(hub);
  const fn = q(s, loaderName(sat));
  const args = [
    sqlString(sat.name),
    sqlString(hub.name),
    sqlString(hk),
    sqlString(bkOf(hub)),
    String(Boolean(sat.copyBusinessKey)),
    sqlArray(hashDiffColumns(sat.columns.map((c) => c.name))),
    `p_${hk}`,
    'p_changes',
    'p_record_source',
  ];
  return `${sqlHeader(`Loader of ${sat.name}: insert-only history with end-dating (${s}._load_satellite).`)}
CREATE OR REPLACE FUNCTION ${fn}(p_${hk} bytea, p_changes jsonb, p_record_source text DEFAULT NULL)
RETURNS boolean LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT ${s}._load_satellite(${args.join(', ')}) $$;
COMMENT ON FUNCTION ${fn}(bytea, jsonb, text) IS ${sqlString(
    `Writes a new version of ${sat.name} for a key when the changed columns differ from the current row (insert-only, end-dates the previous version).`,
  )};
`;
}
