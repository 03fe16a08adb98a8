-- Checks a backup location requested by a user against the repository roots.

CREATE OR REPLACE FUNCTION backup_mgmt.validate_repository_path(p_path text)
RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Normalises the path (absolute, no '..', no control characters, <= 1024
-- characters) and proves it lies inside one of the allowed roots, so that no
-- request can make the agent write anywhere else.
DECLARE
    v_path text;
    v_roots text[];
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
                    WHERE r = '/' OR v_path = r OR starts_with(v_path, r || '/')) THEN
        RAISE EXCEPTION 'backup location % is not inside a repository root', quote_literal(v_path)
            USING ERRCODE = '22023',
                  DETAIL = 'Allowed roots: ' || array_to_string(v_roots, ', ') || '.',
                  HINT = 'Choose a directory under one of them, or add a root: SELECT backup_mgmt.set_setting(''repository.roots'', ''' || array_to_string(v_roots, ',') || ',/new/root'').';
    END IF;
    RETURN v_path;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.validate_repository_path(text) IS
'Returns the normalised absolute path if it is acceptable as a backup location: no .., no control characters, at most 1024 characters, inside setting repository.roots, setting repository.root or a registered agent''s repository_root. Otherwise SQLSTATE 22023 (22004 for NULL) with the allowed roots in DETAIL.';
