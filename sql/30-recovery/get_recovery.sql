-- Looks one recovery up by hash key or business key.

CREATE OR REPLACE FUNCTION backup_mgmt.get_recovery(p_id text) RETURNS SETOF backup_mgmt.recovery_list
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
-- _get_subject resolves the id and reads recovery_list with the caller's privileges.
AS $$ SELECT * FROM backup_mgmt._get_subject(NULL::backup_mgmt.recovery_list, 'recovery', p_id, 'get_recovery') $$;

COMMENT ON FUNCTION backup_mgmt.get_recovery(text) IS
'One row of backup_mgmt.recovery_list, by hash key (64 hex digits, optionally \x-prefixed) or business key (e.g. RECOVERY_POINT_IN_TIME_20261122_010203_123456). Malformed id: 22023; no such recovery: P0002.';
