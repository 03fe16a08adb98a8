-- Reads one setting of the pack, falling back to its documented default.

CREATE OR REPLACE FUNCTION backup_mgmt.setting(p_name text)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Looks the name up in the catalog of known settings (so that a typo is an
-- error, not a silent NULL) and returns the stored value or the default.
DECLARE
    v_default text;
    v_value text;
BEGIN
    PERFORM backup_mgmt._require_args(p_name IS NULL, 'setting', 'p_name', 'Known settings: SELECT name FROM backup_mgmt._setting_catalog().');

    SELECT c.default_value INTO v_default
      FROM backup_mgmt._setting_catalog() AS c
     WHERE c.name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'setting: unknown setting %', quote_literal(p_name)
            USING ERRCODE = '22023',
                  DETAIL = 'Known settings: ' || (SELECT string_agg(c.name, ', ' ORDER BY c.name) FROM backup_mgmt._setting_catalog() AS c) || '.',
                  HINT = 'Setting names are lower case, e.g. job.lease_seconds.';
    END IF;

    SELECT s.value INTO v_value FROM backup_mgmt.setting AS s WHERE s.name = p_name;
    RETURN coalesce(v_value, v_default);
END;
$$;

COMMENT ON FUNCTION backup_mgmt.setting(text) IS
'Value of a backup_mgmt setting, or its default. Known settings (default): repository.roots (unset; comma-separated absolute directories allowed for p_backup_location), repository.root (unset; default backup target, else the newest live agent''s repository_root), job.lease_seconds (30), job.max_attempts (3), backup.compression_level (3), backup.max_rate (unset = unlimited), backup.retention_period (7 years), restore.root (unset; default restore root, else the newest live agent''s restore_root). Unknown name: SQLSTATE 22023.';
