// Data Vault conventions, defined once. The SQL hash functions, the loaders
// and the TypeScript helpers are all generated from these constants.

/** Separates the parts of a business key and the columns of a hash diff. */
export const DELIMITER = '|';
/**
 * Escapes the delimiter (and itself) inside a hash-key part, so that
 * ('a|b','c') and ('a','b|c') hash differently. A part containing neither
 * character is unchanged, so every key computed before the escape still holds.
 */
export const ESCAPE = '\\';
/** Stands for SQL NULL inside a hash input, so NULL and '' hash differently. */
export const NULL_PLACEHOLDER = '~NULL~';
/** Hash algorithm for hash keys and hash diffs (PostgreSQL's built-in sha256()). */
export const HASH_ALGORITHM = 'sha256';
/** Record source written when a caller gives none. */
export const DEFAULT_RECORD_SOURCE = 'backup_mgmt';

/**
 * Session settings pinned on every generated loader so that value::text,
 * and therefore the hash diff, does not depend on the caller's TimeZone,
 * DateStyle or IntervalStyle.
 */
export const LOADER_SETTINGS: Record<string, string> = {
  search_path: 'pg_catalog, pg_temp',
  TimeZone: "'UTC'",
  DateStyle: "'ISO, YMD'",
  IntervalStyle: "'iso_8601'",
  extra_float_digits: '3',
};

/** Columns every satellite has; they are never part of the hash diff. */
export const SATELLITE_CONTROL_COLUMNS = ['load_date', 'load_end_date', 'hash_diff', 'record_source'] as const;

/**
 * Hash-key normalisation: trim and upper-case each part, escape the escape
 * character and the delimiter, NULL becomes the placeholder, parts are joined
 * with the delimiter. Business keys are case-insensitive identities; hash
 * diffs are not normalised (a change of case is a real change).
 */
export const hashKeyNormalisationSql = (partsExpr: string) =>
  `array_to_string(ARRAY(SELECT coalesce(replace(replace(upper(btrim(v_part)), '${ESCAPE}', '${ESCAPE}${ESCAPE}'), '${DELIMITER}', '${ESCAPE}${DELIMITER}'), '${NULL_PLACEHOLDER}') FROM unnest(${partsExpr}) AS v_part), '${DELIMITER}')`;

/** Hash-diff input: the descriptive columns in sorted name order. */
export const hashDiffColumns = (columns: string[]) => [...columns].sort();
