-- Whether a jsonb value lists encryption key fingerprints.

CREATE OR REPLACE FUNCTION backup_mgmt._is_fingerprint_list(p_value jsonb)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- A non-empty array of "age-x25519:<32 lower-case hex>": what the agent
-- reports for an off-host repository and a backup stored there (never a key).
SELECT coalesce(jsonb_typeof(p_value) = 'array' AND jsonb_array_length(p_value) > 0
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_value) AS f
                        WHERE jsonb_typeof(f.value) <> 'string' OR f.value #>> '{}' !~ '^age-x25519:[0-9a-f]{32}$'), false);
$$;

COMMENT ON FUNCTION backup_mgmt._is_fingerprint_list(jsonb) IS
'Internal: true when p_value is a non-empty JSON array of key fingerprints "age-x25519:<32 lower-case hex>".';
