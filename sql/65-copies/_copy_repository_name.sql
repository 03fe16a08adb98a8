-- Checks a repository name given to a copy function.

CREATE OR REPLACE FUNCTION backup_mgmt._copy_repository_name(p_repository text, p_caller text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Copies go to a repository that is not a backup's home; today that is the
-- off-host one ('s3'). 'local' is accepted where its copies expire.
BEGIN
    IF p_repository IS NULL OR p_repository NOT IN ('local', 's3') THEN
        RAISE EXCEPTION '%: repository must be local or s3, not %', p_caller, coalesce(quote_literal(p_repository), 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM backup_mgmt.backup_repository_h AS r WHERE r.repository_bk = p_repository) THEN
        RAISE EXCEPTION '%: repository % has not been reported by an agent', p_caller, quote_literal(p_repository)
            USING ERRCODE = '22023', HINT = 'The agent reports its repositories (agent_report_repositories) when it starts.';
    END IF;
    RETURN p_repository;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._copy_repository_name(text, text) IS
'Internal (repository copies): p_repository must be local or s3 and reported by an agent (22023); returns it.';
