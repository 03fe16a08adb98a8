-- Orders candidate root directories by rank, each once.

CREATE OR REPLACE FUNCTION backup_mgmt._rank_roots(p_roots text[], p_ranks bigint[])
RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    -- p_roots[i] ranks p_ranks[i]; a root named twice keeps its best rank;
    -- NULL and empty names are dropped; ties by name.
    SELECT coalesce(array_agg(r.root ORDER BY r.rank, r.root), '{}')
      FROM (SELECT u.root, min(u.rank) AS rank
              FROM unnest(p_roots, p_ranks) AS u (root, rank)
             WHERE u.root IS NOT NULL AND u.root <> ''
             GROUP BY u.root) AS r
$$;

COMMENT ON FUNCTION backup_mgmt._rank_roots(text[], bigint[]) IS
'Internal (_repository_roots, _restore_roots): the distinct non-empty roots of p_roots ordered by their best rank in p_ranks, then by name.';
