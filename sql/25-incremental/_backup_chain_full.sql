-- The full backup at the root of an incremental chain.

CREATE OR REPLACE FUNCTION backup_mgmt._backup_chain_full(p_backup_hk bytea)
RETURNS bytea
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- Follows backup_dependency_l from dependent to source until a backup
    -- without a source; UNION stops at a cycle. A full backup is its own root.
    WITH RECURSIVE up (hk, depth) AS (
        SELECT p_backup_hk, 0
        UNION
        SELECT l.source_backup_hk, up.depth + 1
          FROM backup_mgmt.backup_dependency_l AS l
          JOIN up ON l.dependent_backup_hk = up.hk
         WHERE up.depth < 10000
    )
    SELECT up.hk FROM up
     WHERE NOT EXISTS (SELECT 1 FROM backup_mgmt.backup_dependency_l AS l WHERE l.dependent_backup_hk = up.hk)
     ORDER BY up.depth DESC
     LIMIT 1
$$;

COMMENT ON FUNCTION backup_mgmt._backup_chain_full(bytea) IS
'Internal: hash key of the backup at the root of p_backup_hk''s dependency chain (the full backup an incremental ultimately depends on); p_backup_hk itself when it depends on nothing.';
