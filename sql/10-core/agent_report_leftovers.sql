-- An agent's janitor says what it could not remove.

CREATE OR REPLACE FUNCTION backup_mgmt.agent_report_leftovers(p_agent_id text, p_items jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- p_items = [{path, kind: staging|restore, reason}] is the janitor's whole
-- answer for this run: the agent's earlier rows are replaced. An empty array
-- clears them. Returns the number of rows now recorded for the agent.
DECLARE
    v_count integer;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'agent_report_leftovers');
    IF p_agent_id IS NULL OR p_items IS NULL OR jsonb_typeof(p_items) <> 'array' THEN
        RAISE EXCEPTION 'agent_report_leftovers: p_agent_id and p_items (a JSON array) must be given'
            USING ERRCODE = '22023', HINT = 'p_items: [{"path": "/…", "kind": "staging", "reason": "EACCES"}]';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_items) AS e
                WHERE jsonb_typeof(e.value->'path') IS DISTINCT FROM 'string' OR left(e.value->>'path', 1) <> '/'
                   OR coalesce(e.value->>'kind', '') NOT IN ('staging', 'restore') OR coalesce(e.value->>'reason', '') = '') THEN
        RAISE EXCEPTION 'agent_report_leftovers: every item needs an absolute path, kind staging or restore, and a reason'
            USING ERRCODE = '22023';
    END IF;
    DELETE FROM backup_mgmt.agent_leftover AS l WHERE l.agent_id = p_agent_id;
    INSERT INTO backup_mgmt.agent_leftover (agent_id, path, kind, reason)
    SELECT DISTINCT ON (e.value->>'path') p_agent_id, left(e.value->>'path', 4000), e.value->>'kind', left(e.value->>'reason', 1000)
      FROM jsonb_array_elements(p_items) AS e;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.agent_report_leftovers(text, jsonb) IS
'Agent protocol (janitor): replaces the agent''s list of leftovers it could not remove (p_items = [{path, kind staging|restore, reason}]; [] clears it); health_check''s leftovers check reports them. Malformed input: 22023.';
