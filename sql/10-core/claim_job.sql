-- An agent asks for work.

CREATE OR REPLACE FUNCTION backup_mgmt.claim_job(p_agent_id text, p_job_types text[] DEFAULT NULL)
RETURNS SETOF backup_mgmt.job
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Reclaims expired leases, then hands out the next QUEUED job that is due, by
-- (priority, run_after, job_id), FOR UPDATE SKIP LOCKED. A BACKUP job is never
-- handed out while another BACKUP job is RUNNING: one backup at a time. Claims
-- are serialised by an advisory lock so two claimers cannot both see "no
-- backup running". Returns 0 or 1 row.
DECLARE
    v_job backup_mgmt.job;
    v_type text;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'claim_job');
    PERFORM backup_mgmt._require_args(p_agent_id IS NULL, 'claim_job', 'p_agent_id', 'Pass the id the agent registered with.');
    IF p_job_types IS NOT NULL THEN
        -- The job types come from codegen/protocol.ts (sql/00-generated/protocol/_job_types.sql).
        IF cardinality(p_job_types) = 0 THEN
            RAISE EXCEPTION 'claim_job: p_job_types is empty'
                USING ERRCODE = '22023', HINT = format('Pass NULL for every type, or some of %s.', array_to_string(backup_mgmt._job_types(), ', '));
        END IF;
        FOREACH v_type IN ARRAY p_job_types LOOP
            IF v_type IS NULL OR NOT v_type = ANY (backup_mgmt._job_types()) THEN
                RAISE EXCEPTION 'claim_job: unknown job type %', coalesce(quote_literal(v_type), 'NULL')
                    USING ERRCODE = '22023', HINT = format('Job types: %s.', array_to_string(backup_mgmt._job_types(), ', '));
            END IF;
        END LOOP;
    END IF;

    UPDATE backup_mgmt.agent AS a SET heartbeat_at = now(), stopped_at = NULL WHERE a.agent_id = p_agent_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'claim_job: agent % is not registered', quote_literal(p_agent_id)
            USING ERRCODE = '55000', HINT = 'Call backup_mgmt.agent_register() first.';
    END IF;

    -- (7346221, 2): the claim lock of backup_mgmt, held to the end of the transaction.
    PERFORM pg_advisory_xact_lock(7346221, 2);
    PERFORM backup_mgmt._reclaim_expired_jobs();

    SELECT * INTO v_job
      FROM backup_mgmt.job AS j
     WHERE j.status = 'QUEUED'
       AND j.run_after <= now()
       AND (p_job_types IS NULL OR j.job_type = ANY (p_job_types))
       AND (j.job_type <> 'BACKUP'
            OR NOT EXISTS (SELECT 1 FROM backup_mgmt.job AS r WHERE r.job_type = 'BACKUP' AND r.status = 'RUNNING'))
     ORDER BY j.priority, j.run_after, j.job_id
     LIMIT 1
       FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    UPDATE backup_mgmt.job AS j
       SET status = 'RUNNING', locked_by = p_agent_id, lease_expires_at = now() + backup_mgmt._lease_interval(),
           attempts = j.attempts + 1, started_at = now(), finished_at = NULL,
           progress_done = NULL, progress_total = NULL, progress_phase = NULL
     WHERE j.job_id = v_job.job_id
    RETURNING * INTO v_job;

    PERFORM backup_mgmt._job_subject_transition(v_job, 'started', NULL, 'backup_mgmt.claim_job');
    RETURN NEXT v_job;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.claim_job(text, text[]) IS
'Agent protocol: reclaims expired leases, then claims the next due QUEUED job (of p_job_types, NULL = any) by priority, run_after, job_id with FOR UPDATE SKIP LOCKED; never a BACKUP while another BACKUP is RUNNING. The job becomes RUNNING with a lease of job.lease_seconds and attempts + 1; a BACKUP''s backup becomes RUNNING. Returns 0 or 1 row. Unregistered agent: 55000.';
