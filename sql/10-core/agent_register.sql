-- An agent announces itself: host, repository, tool versions.

CREATE OR REPLACE FUNCTION backup_mgmt.agent_register(
    p_agent_id text,
    p_hostname text,
    p_pid integer,
    p_repository_root text,
    p_restore_root text,
    p_info jsonb
)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Upserts the agent row (a re-registration restarts it: new start time,
-- heartbeat now, not stopped). An id held by another live process (not
-- stopped, heartbeat within _agent_live_window()) is refused with 55006. A
-- registering process holds no job yet, so jobs still held under this id
-- belong to a stopped or silent previous incarnation: their leases are
-- expired at once and the next claim_job reclaims them (the attempt counts). When no repository.roots is configured yet, the agent's
-- root becomes the configured root list.
DECLARE
    v_prev backup_mgmt.agent;
    v_root text;
    v_restore_root text;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'agent_register');
    PERFORM backup_mgmt._require_args(p_agent_id IS NULL OR p_hostname IS NULL OR p_repository_root IS NULL, 'agent_register', 'p_agent_id, p_hostname and p_repository_root', 'The repository root is the agent''s BACKUP_MGMT_REPO.');
    -- The agent's own rule for its id (src/agent/config.ts): no '/', no quotes.
    IF p_agent_id !~ '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$' THEN
        RAISE EXCEPTION 'agent_register: invalid agent id %', left(quote_literal(p_agent_id), 210)
            USING ERRCODE = '22023',
                  DETAIL = 'An agent id has 1 to 200 characters: a letter or digit, then letters, digits and . _ : @ -.',
                  HINT = 'For example <hostname>:<pid>.';
    END IF;
    IF p_hostname !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$' THEN
        RAISE EXCEPTION 'agent_register: invalid host name %', left(quote_literal(p_hostname), 265)
            USING ERRCODE = '22023', DETAIL = 'A host name has 1 to 255 characters: a letter or digit, then letters, digits and . _ -.';
    END IF;
    IF p_pid IS NOT NULL AND p_pid <= 0 THEN
        RAISE EXCEPTION 'agent_register: invalid pid %', p_pid
            USING ERRCODE = '22023', DETAIL = 'A process id is positive (or NULL).';
    END IF;
    IF p_info IS NOT NULL AND jsonb_typeof(p_info) <> 'object' THEN
        RAISE EXCEPTION 'agent_register: p_info must be a JSON object'
            USING ERRCODE = '22023', DETAIL = left(p_info::text, 200),
                  HINT = 'For example {"cpu_count": 2, "pg_basebackup": "pg_basebackup (PostgreSQL) 15.18"}.';
    END IF;
    v_root := backup_mgmt._normalize_root(p_repository_root, 'repository root');
    IF p_restore_root IS NOT NULL THEN
        v_restore_root := backup_mgmt._normalize_root(p_restore_root, 'restore root');
    END IF;

    -- One live process per id: a second one would expire the first one's
    -- leases and run its job again. Same host and pid is the live process
    -- introducing itself again (after the catalog forgot it); a dead
    -- predecessor on this host is released first with agent_take_over().
    SELECT * INTO v_prev FROM backup_mgmt.agent AS a WHERE a.agent_id = p_agent_id FOR UPDATE;
    IF FOUND AND v_prev.stopped_at IS NULL AND v_prev.heartbeat_at > now() - backup_mgmt._agent_live_window()
       AND (v_prev.hostname IS DISTINCT FROM p_hostname OR v_prev.pid IS DISTINCT FROM p_pid) THEN
        RAISE EXCEPTION 'agent_register: agent id % is in use by pid % on host %', quote_literal(p_agent_id),
                        coalesce(v_prev.pid::text, '?'), v_prev.hostname
            USING ERRCODE = '55006',
                  DETAIL = format('pid=%s host=%s; its last heartbeat was %s s ago.', coalesce(v_prev.pid::text, '?'), v_prev.hostname,
                                  round(extract(epoch FROM now() - v_prev.heartbeat_at)::numeric, 1)),
                  HINT = format('Give this agent another --agent-id, or stop the other one; an id is free once its agent stops or misses heartbeats for %s.',
                                backup_mgmt._agent_live_window());
    END IF;

    INSERT INTO backup_mgmt.agent AS a (agent_id, hostname, pid, repository_root, restore_root, info, started_at, heartbeat_at, stopped_at)
    VALUES (p_agent_id, p_hostname, p_pid, v_root, v_restore_root, coalesce(p_info, '{}'::jsonb), now(), now(), NULL)
    ON CONFLICT (agent_id) DO UPDATE
        SET hostname = excluded.hostname, pid = excluded.pid, repository_root = excluded.repository_root,
            restore_root = excluded.restore_root, info = excluded.info, started_at = excluded.started_at,
            heartbeat_at = excluded.heartbeat_at, stopped_at = NULL;

    UPDATE backup_mgmt.job AS j SET lease_expires_at = now() - interval '1 second'
     WHERE j.locked_by = p_agent_id AND j.finished_at IS NULL AND j.status IN ('RUNNING', 'CANCELLED');

    IF NOT EXISTS (SELECT 1 FROM backup_mgmt.setting AS s WHERE s.name = 'repository.roots') THEN
        INSERT INTO backup_mgmt.setting AS s (name, value, description, updated_at, updated_by)
        SELECT 'repository.roots', v_root, c.description, now(), session_user
          FROM backup_mgmt._setting_catalog() AS c WHERE c.name = 'repository.roots'
        ON CONFLICT (name) DO NOTHING;
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.agent_register(text, text, integer, text, text, jsonb) IS
'Agent protocol: registers or re-registers an agent (host, pid, absolute repository and restore roots, p_info with tool versions and cpu_count). An id held by another live process (other host or pid, heartbeat within _agent_live_window()) is refused: 55006, DETAIL "pid=N host=H; …". Jobs still held under p_agent_id (a stopped or silent previous incarnation) get an expired lease, so the next claim_job reclaims them. Sets repository.roots to the agent''s root when that setting is still unset. Bad input: 22004/22023.';
