-- Checks a backup location requested by a user against the repository roots.

CREATE OR REPLACE FUNCTION backup_mgmt.validate_repository_path(p_path text)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Normalises the path (absolute, no '..', no control characters, <= 1024
-- characters) and proves it lies inside one of the allowed roots, so that no
-- request can make the agent write anywhere else.
DECLARE
    v_path text;
    v_roots text[];
    v_inside text;
BEGIN
    v_path := backup_mgmt._normalize_path(p_path, 'backup location');
    v_roots := backup_mgmt._repository_roots();

    IF cardinality(v_roots) = 0 THEN
        RAISE EXCEPTION 'backup location % is not inside a repository root: no repository roots are configured', quote_literal(v_path)
            USING ERRCODE = '22023',
                  DETAIL = 'Allowed roots: (none).',
                  HINT = 'Run SELECT backup_mgmt.set_setting(''repository.roots'', ''/dir1,/dir2''), or start `backup-mgmt agent` (its repository root is allowed).';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM unnest(v_roots) AS r
                    WHERE v_path = r OR starts_with(v_path, r || '/')) THEN
        RAISE EXCEPTION 'backup location % is not inside a repository root', quote_literal(v_path)
            USING ERRCODE = '22023',
                  DETAIL = 'Allowed roots: ' || array_to_string(v_roots, ', ') || '.',
                  HINT = 'Choose a directory under one of them, or add a root: SELECT backup_mgmt.set_setting(''repository.roots'', ''' || array_to_string(v_roots, ',') || ',/new/root'').';
    END IF;
    -- Backups go to <location>/<system identifier>/backups/<key>: a location
    -- inside some root's <system identifier> directory, or inside a stored
    -- backup, would nest one backup in another's files, and expiring the
    -- outer one would destroy the inner one.
    SELECT r INTO v_inside FROM unnest(v_roots) AS r
     WHERE starts_with(v_path, r || '/') AND split_part(substr(v_path, length(r) + 2), '/', 1) ~ '^[0-9]+$'
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'backup location % lies inside the repository layout of root %', quote_literal(v_path), quote_literal(v_inside)
            USING ERRCODE = '22023',
                  DETAIL = 'Directories named by a system identifier under a root hold that cluster''s backups and WAL.',
                  HINT = 'Give the root itself, or a directory beside the system identifier directories.';
    END IF;
    SELECT st.repository_path INTO v_inside FROM backup_mgmt.backup_storage_s AS st
     WHERE st.load_end_date IS NULL AND st.repository_path IS NOT NULL
       AND (v_path = st.repository_path OR starts_with(v_path, st.repository_path || '/'))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'backup location % lies inside the stored backup %', quote_literal(v_path), quote_literal(v_inside)
            USING ERRCODE = '22023',
                  DETAIL = 'Removing that backup would remove this one too.',
                  HINT = 'Give a repository root, or a directory outside every stored backup.';
    END IF;
    RETURN v_path;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.validate_repository_path(text) IS
'Returns the normalised absolute path if it is acceptable as a backup location: no .., no control characters, at most 1024 characters, inside setting repository.roots, setting repository.root or a registered agent''s repository_root, not inside a root''s <system identifier> directory nor inside a stored backup. Otherwise SQLSTATE 22023 (22004 for NULL) with the allowed roots in DETAIL.';
