-- Every directory under which a backup may be written.

CREATE OR REPLACE FUNCTION backup_mgmt._repository_roots()
RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- The configured roots (repository.roots, repository.root) first, then the
-- repository root of every registered agent; duplicates removed.
BEGIN
    RETURN (
        SELECT backup_mgmt._rank_roots(array_agg(v.root), array_agg(v.rank))
          FROM (SELECT btrim(x) AS root, 1::bigint AS rank
                  FROM unnest(string_to_array(backup_mgmt.setting('repository.roots'), ',')) AS x
                UNION ALL
                SELECT backup_mgmt.setting('repository.root'), 2
                UNION ALL
                SELECT a.repository_root, 3 FROM backup_mgmt.agent AS a) AS v);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._repository_roots() IS
'Internal: allowed repository roots = setting repository.roots, setting repository.root and every registered agent''s repository_root.';
