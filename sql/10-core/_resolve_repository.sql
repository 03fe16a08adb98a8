-- The one place where a backup location becomes a repository.

CREATE OR REPLACE FUNCTION backup_mgmt._resolve_repository(
    p_location text,
    p_caller text,
    OUT repository_root text,
    OUT location text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- A location NAMES a configured repository: the innermost repository root it
-- lies in. A sub-directory below that root is only a label the operator gave
-- (kept in the catalog), never a second repository: archive_command sends WAL
-- to the root, and a backup written to <root>/sub/<sysid>/… would be cut off
-- from it (an incremental there would wait for WAL that never arrives).
-- NULL = the default repository. Checks (inside a root, not inside a
-- <sysid> directory or a stored backup) are validate_repository_path's.
BEGIN
    IF p_location IS NULL THEN
        repository_root := backup_mgmt._default_repository_root();
        IF repository_root IS NULL THEN
            RAISE EXCEPTION '%: no backup repository is known', p_caller
                USING ERRCODE = '55000',
                      DETAIL = 'p_backup_location is NULL, setting repository.root is unset and no agent has registered.',
                      HINT = 'start `backup-mgmt agent` or set repository.root (SELECT backup_mgmt.set_setting(''repository.root'', ''/path''))';
        END IF;
        location := repository_root;
        RETURN;
    END IF;
    location := backup_mgmt.validate_repository_path(p_location);
    SELECT r INTO repository_root
      FROM unnest(backup_mgmt._repository_roots()) AS r
     WHERE location = r OR starts_with(location, r || '/')
     ORDER BY length(r) DESC, r
     LIMIT 1;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._resolve_repository(text, text) IS
'Internal: the repository a backup location names. NULL = _default_repository_root() (55000 if none is known, p_caller in the message); otherwise validate_repository_path(p_location) (22023) and the innermost repository root containing it. Returns (repository_root, location = the normalised location, equal to the root or a sub-directory kept as a label).';
