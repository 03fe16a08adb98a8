-- The agent takes the next backup to copy into a repository.

CREATE OR REPLACE FUNCTION backup_mgmt.copy_claim(p_agent_id text, p_repository text)
RETURNS TABLE (backup_bk text, backup_type text, system_identifier text, repository_path text, stored_files jsonb, attempt integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- At most one row: the oldest COMPLETED backup in the agent's repository
-- whose copy in p_repository is missing, PENDING, FAILED and due again
-- (next_attempt_at), or COPYING but abandoned (_copy_in_progress: its agent
-- is no longer live, or claimed it before it last started). The copy becomes COPYING for this agent
-- with one more attempt, under an advisory lock: two agents never copy the
-- same backup at once. No row: nothing to do.
DECLARE
    v_root text;
    v_row record;
BEGIN
    PERFORM backup_mgmt._copy_require_agent(p_agent_id, 'copy_claim');
    PERFORM backup_mgmt._copy_repository_name(p_repository, 'copy_claim');
    IF p_repository <> 's3' THEN
        RAISE EXCEPTION 'copy_claim: backups are copied into the off-host repository (s3), not %', quote_literal(p_repository)
            USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(7346226, 1);
    SELECT a.repository_root INTO v_root FROM backup_mgmt.agent AS a WHERE a.agent_id = p_agent_id;
    SELECT b.* INTO v_row
      FROM backup_mgmt._copy_local_backups(v_root) AS b
     WHERE b.backup_status = 'COMPLETED'
       AND b.local_status IS DISTINCT FROM 'EXPIRED' AND b.files_present IS DISTINCT FROM false
       AND (b.s3_status IS NULL OR b.s3_status = 'PENDING'
            OR (b.s3_status = 'FAILED' AND coalesce(b.s3_next_attempt_at, '-infinity') <= now())
            OR (b.s3_status = 'COPYING' AND NOT backup_mgmt._copy_in_progress(b.backup_hk, p_repository)))
     ORDER BY b.end_time NULLS LAST, b.backup_bk
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM backup_mgmt._copy_record(v_row.backup_hk, p_repository, jsonb_build_object(
        'copy_status', 'COPYING', 'status_reason', NULL, 'copy_started_at', now(), 'next_attempt_at', NULL,
        'attempts', coalesce(v_row.s3_attempts, 0) + 1, 'agent_id', p_agent_id));
    backup_bk := v_row.backup_bk;
    backup_type := v_row.backup_type;
    system_identifier := v_row.system_identifier;
    repository_path := v_row.repository_path;
    stored_files := v_row.stored_files;
    attempt := coalesce(v_row.s3_attempts, 0) + 1;
    RETURN NEXT;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.copy_claim(text, text) IS
'Agent protocol (repository copies): claims the oldest COMPLETED backup of the agent''s local repository that still needs a copy in p_repository (s3): none yet, PENDING, FAILED and due (next_attempt_at), or COPYING but abandoned (its agent no longer live or restarted since). Marks it COPYING for p_agent_id and returns (backup_bk, backup_type, system_identifier, repository_path, stored_files, attempt); no row when nothing is due. Serialised by advisory lock (7346226, 1). Bad repository 22023; unknown agent 55000.';
