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
  return `${sqlHeader(`Current row of ${sat.name} joined to its hub.`)}
CREATE OR REPLACE VIEW ${q(s, sat.currentView)}
WITH (security_invoker = true) AS
SELECT
    ${cols.join(',\n    ')}
FROM ${q(s, sat.name)} AS s
JOIN ${q(s, hub.name)} AS h ON h.${hk} = s.${hk}
WHERE s.load_end_date IS NULL;
COMMENT ON VIEW ${q(s, sat.currentView)} IS ${sqlString(`Current version of every ${hub.key} in ${sat.name}, with its business key.`)};
`;
}

/** The hash-diff expression over a record variable, columns in sorted order. */
export function hashDiffExpr(sat: Satellite, recordVar: string): string {
  const parts = hashDiffColumns(sat.columns.map((c) => c.name)).map(
    (name) => `coalesce(${recordVar}.${name}::text, ${sqlString(NULL_PLACEHOLDER)})`,
  );
  return `sha256(convert_to(concat_ws(${sqlString(DELIMITER)},\n            ${parts.join(',\n            ')}), 'UTF8'))`;
}

export function emitLoader(model: Model, sat: Satellite): string {
  const s = model.schema;
  const hub = hubOf(model, sat);
  const hk = hkOf(hub);
  const fn = q(s, loaderName(sat));
  const settings = Object.entries(LOADER_SETTINGS)
    .map(([k, v]) => `SET ${k} = ${v}`)
    .join('\n');
  return `${sqlHeader(`Loader of ${sat.name}: insert-only history with end-dating.`)}
CREATE OR REPLACE FUNCTION ${fn}(
    p_${hk} bytea,
    p_changes jsonb,
    p_record_source text DEFAULT NULL
)
RETURNS boolean
LANGUAGE plpgsql
${settings}
AS $$
-- Overlays p_changes on the current row. Inserts a new version and end-dates
-- the old one only when the hash diff changes; returns whether it did.
DECLARE
    v_current ${q(s, sat.name)};
    v_new ${q(s, sat.name)};
    v_load_date timestamptz;
    v_bk text;
BEGIN
    IF p_${hk} IS NULL OR p_changes IS NULL OR jsonb_typeof(p_changes) <> 'object' THEN
        RAISE EXCEPTION '${loaderName(sat)}: a hash key and a JSON object of changes are required'
            USING ERRCODE = '22004';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_object_keys(p_changes) AS v_key
                WHERE v_key <> ALL (${sqlArray(sat.columns.map((c) => c.name))})) THEN
        RAISE EXCEPTION '${loaderName(sat)}: unknown column in changes'
            USING ERRCODE = '42703', DETAIL = p_changes::text,
                  HINT = 'Only descriptive columns of ${sat.name} can be changed.';
    END IF;
    -- Lock the hub row: loads of one key run one after another, so two
    -- writers never both end-date the same current row.
    SELECT ${bkOf(hub)} INTO v_bk FROM ${q(s, hub.name)} WHERE ${hk} = p_${hk} FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '${loaderName(sat)}: no ${hub.name} row for this key'
            USING ERRCODE = '23503', DETAIL = encode(p_${hk}, 'hex');
    END IF;

    SELECT * INTO v_current FROM ${q(s, sat.name)}
     WHERE ${hk} = p_${hk} AND load_end_date IS NULL;

    IF FOUND THEN
        v_new := jsonb_populate_record(v_current, p_changes);
    ELSE
        v_new := jsonb_populate_record(NULL::${q(s, sat.name)}, p_changes);
    END IF;
    v_new.${hk} := p_${hk};${sat.copyBusinessKey ? `\n    v_new.${bkOf(hub)} := v_bk;` : ''}
    v_new.load_end_date := NULL;
    v_new.record_source := coalesce(p_record_source, v_current.record_source, ${sqlString(DEFAULT_RECORD_SOURCE)});
    v_new.hash_diff := ${hashDiffExpr(sat, 'v_new')};

    IF v_current.${hk} IS NOT NULL AND v_current.hash_diff = v_new.hash_diff THEN
        RETURN false;
    END IF;

    -- now() is fixed for the whole transaction; two versions written in one
    -- transaction still get strictly increasing load dates.
    v_load_date := greatest(clock_timestamp(), v_current.load_date + interval '1 microsecond');
    v_new.load_date := v_load_date;

    IF v_current.${hk} IS NOT NULL THEN
        UPDATE ${q(s, sat.name)} SET load_end_date = v_load_date
         WHERE ${hk} = p_${hk} AND load_date = v_current.load_date;
    END IF;
    INSERT INTO ${q(s, sat.name)} SELECT v_new.*;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION ${fn}(bytea, jsonb, text) IS ${sqlString(
    `Writes a new version of ${sat.name} for a key when the changed columns differ from the current row (insert-only, end-dates the previous version).`,
  )};
`;
}
