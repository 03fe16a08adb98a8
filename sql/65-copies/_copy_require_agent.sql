-- The agent calling a copy function must be registered and running.

CREATE OR REPLACE FUNCTION backup_mgmt._copy_require_agent(p_agent_id text, p_caller text)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, p_caller);
    IF p_agent_id IS NULL OR NOT EXISTS (SELECT 1 FROM backup_mgmt.agent AS a WHERE a.agent_id = p_agent_id AND a.stopped_at IS NULL) THEN
        RAISE EXCEPTION '%: agent % is not registered or has stopped', p_caller, coalesce(quote_literal(p_agent_id), 'NULL')
            USING ERRCODE = '55000', HINT = 'The agent registers with agent_register() when it starts.';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._copy_require_agent(text, text) IS
'Internal (repository copies): system roles only, and p_agent_id must be a registered agent that has not stopped (55000).';
