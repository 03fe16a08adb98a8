-- Decides the directory a recovery restores into, refusing dangerous ones.

CREATE OR REPLACE FUNCTION backup_mgmt._validate_restore_directory(p_directory text, p_recovery_bk text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- NULL: <default restore root>/<recovery_bk>. Given: normalised (absolute,
-- no '..') and strictly inside a restore root. Either way it must not be,
-- contain or lie inside the running cluster's data directory or one of its
-- tablespaces, nor overlap the directory of a recovery still pending or
-- running. That it does not exist or is empty only the agent can check.
DECLARE
    v_dir text;
    v_roots text[];
    v_root text;
    v_other text;
    v_data text;
BEGIN
    IF p_directory IS NULL THEN
        v_root := backup_mgmt._default_restore_root();
        IF v_root IS NULL THEN
            RAISE EXCEPTION 'no restore root is known'
                USING ERRCODE = '55000',
                      DETAIL = 'The restore directory is NULL, setting restore.root is unset and no agent registered a restore root.',
                      HINT = 'SELECT backup_mgmt.set_setting(''restore.root'', ''/path''), or start `backup-mgmt agent` with a restore root.';
        END IF;
        v_dir := backup_mgmt._normalize_path(v_root || '/' || p_recovery_bk, 'restore directory');
    ELSE
        v_dir := backup_mgmt._normalize_path(p_directory, 'restore directory');
        v_roots := backup_mgmt._restore_roots();
        IF cardinality(v_roots) = 0 THEN
            RAISE EXCEPTION 'restore directory % is not inside a restore root: no restore root is configured', quote_literal(v_dir)
                USING ERRCODE = '22023', DETAIL = 'Allowed roots: (none).',
                      HINT = 'SELECT backup_mgmt.set_setting(''restore.root'', ''/path''), or start `backup-mgmt agent` with a restore root.';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM unnest(v_roots) AS r
                        WHERE v_dir <> r AND r <> '/' AND starts_with(v_dir, r || '/')) THEN
            RAISE EXCEPTION 'restore directory % is not inside a restore root', quote_literal(v_dir)
                USING ERRCODE = '22023',
                      DETAIL = 'Allowed roots: ' || array_to_string(v_roots, ', ') || '.',
                      HINT = 'Choose a new directory below one of them, or leave it NULL for <restore root>/<recovery key>.';
        END IF;
    END IF;

    -- The running cluster's own files are never a restore target.
    -- The server's own directories are compared, not accepted: any character goes.
    v_data := rtrim(regexp_replace(current_setting('data_directory'), '/+', '/', 'g'), '/');
    FOR v_other IN
        SELECT v_data
        UNION ALL
        SELECT rtrim(regexp_replace(pg_tablespace_location(t.oid), '/+', '/', 'g'), '/')
          FROM pg_tablespace AS t WHERE pg_tablespace_location(t.oid) LIKE '/%'
    LOOP
        IF v_dir = v_other OR starts_with(v_dir, v_other || '/') OR starts_with(v_other, v_dir || '/') THEN
            RAISE EXCEPTION 'restore directory % overlaps % of the running cluster', quote_literal(v_dir),
                            CASE WHEN v_other = v_data THEN 'the data directory' ELSE 'tablespace ' || quote_literal(v_other) END
                USING ERRCODE = '22023',
                      DETAIL = format('A restore never writes into, around or over %s.', quote_literal(v_other)),
                      HINT = 'Restore into a new directory elsewhere under the restore root.';
        END IF;
    END LOOP;

    SELECT r.recovery_bk INTO v_other
      FROM backup_mgmt.recovery_operation_current AS r
     WHERE r.recovery_status IN ('PENDING', 'APPROVED', 'RUNNING') AND r.restore_directory IS NOT NULL
       AND (r.restore_directory = v_dir OR starts_with(r.restore_directory, v_dir || '/') OR starts_with(v_dir, r.restore_directory || '/'))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'restore directory % is already claimed by recovery %', quote_literal(v_dir), v_other
            USING ERRCODE = '22023', HINT = 'Choose another directory, or cancel that recovery first.';
    END IF;
    RETURN v_dir;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._validate_restore_directory(text, text) IS
'Internal: the restore directory of a new recovery: NULL = <default restore root>/<p_recovery_bk> (55000 if no root is known); a given path must be absolute, without .., strictly inside a restore root (setting restore.root or an agent''s restore_root), must not be, contain or lie inside the data directory or a tablespace of the running cluster, nor overlap a pending or running recovery''s directory (22023).';
