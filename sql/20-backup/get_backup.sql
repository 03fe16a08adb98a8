-- Looks one backup up by hash key or business key.

CREATE OR REPLACE FUNCTION backup_mgmt.get_backup(p_id text) RETURNS SETOF backup_mgmt.backup_list
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
-- _get_subject resolves the id and reads backup_list with the caller's privileges.
AS $$ SELECT * FROM backup_mgmt._get_subject(NULL::backup_mgmt.backup_list, 'backup', p_id, 'get_backup') $$;

COMMENT ON FUNCTION backup_mgmt.get_backup(text) IS
'One row of backup_mgmt.backup_list, by hash key (64 hex digits, optionally \x-prefixed) or business key (e.g. FULL_BACKUP_SYSTEM_20261122_010203_123456). Malformed id: 22023; no such backup: P0002.';
