-- Every directory under which a recovery may restore.

CREATE OR REPLACE FUNCTION backup_mgmt._restore_roots()
RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Setting restore.root first, then the restore root of every registered
-- agent (in order of their last heartbeat); duplicates removed.
BEGIN
    RETURN (
        SELECT backup_mgmt._rank_roots(array_agg(v.root), array_agg(v.rank))
          FROM (SELECT backup_mgmt.setting('restore.root') AS root, 0::bigint AS rank
                UNION ALL
                SELECT a.restore_root, row_number() OVER (ORDER BY a.heartbeat_at DESC, a.agent_id)
                  FROM backup_mgmt.agent AS a) AS v);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._restore_roots() IS
'Internal: allowed restore roots = setting restore.root and every registered agent''s restore_root.';
