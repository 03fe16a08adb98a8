-- The agent reports how a copy ended: COPIED, FAILED or EXPIRED.

CREATE OR REPLACE FUNCTION backup_mgmt.copy_report(p_agent_id text, p_repository text, p_backup_bk text, p_status text, p_result jsonb DEFAULT '{}')
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- COPIED and FAILED end the agent's own claim (copy_claim): anyone else's
-- report, or one without a claim, is refused (55000) and changes nothing.
--   COPIED  p_result {bytes, objects, location}: every object stored and its
--           plaintext SHA-256 equal to stored_files'
--   FAILED  p_result {reason}: retried from now + job.retry_delay_seconds x
--           2^(attempts-1), at most 15 minutes later (backoff while S3 is down)
--   EXPIRED p_result {reason}: the repository's retention removed the copy
--           (copy_expire_plan); needs no claim.
-- Returns the copy's status afterwards.
DECLARE
    v_hk bytea;
    v_cur record;
    v_delay numeric;
BEGIN
    PERFORM backup_mgmt._copy_require_agent(p_agent_id, 'copy_report');
    PERFORM backup_mgmt._copy_repository_name(p_repository, 'copy_report');
    IF p_status IS NULL OR p_status NOT IN ('COPIED', 'FAILED', 'EXPIRED') THEN
        RAISE EXCEPTION 'copy_report: p_status must be COPIED, FAILED or EXPIRED, not %', coalesce(quote_literal(p_status), 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF p_result IS NULL OR jsonb_typeof(p_result) <> 'object' THEN
        RAISE EXCEPTION 'copy_report: p_result must be a JSON object' USING ERRCODE = '22023';
    END IF;
    SELECT h.backup_hk INTO v_hk FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_bk = p_backup_bk;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'copy_report: no backup %', coalesce(quote_literal(p_backup_bk), 'NULL') USING ERRCODE = 'P0002';
    END IF;
    SELECT cc.copy_status, cc.agent_id, cc.attempts INTO v_cur
      FROM backup_mgmt.backup_copy_current AS cc WHERE cc.copy_bk = p_repository || ':' || p_backup_bk;

    IF p_status IN ('COPIED', 'FAILED') THEN
        IF v_cur.copy_status IS DISTINCT FROM 'COPYING' OR v_cur.agent_id IS DISTINCT FROM p_agent_id THEN
            RAISE EXCEPTION 'copy_report: the copy of % in % is not being copied by agent %', p_backup_bk, p_repository, quote_literal(p_agent_id)
                USING ERRCODE = '55000', DETAIL = format('its state is %s', coalesce(v_cur.copy_status, 'none')),
                      HINT = 'Claim it first with copy_claim().';
        END IF;
    END IF;

    IF p_status = 'COPIED' THEN
        IF jsonb_typeof(p_result->'bytes') IS DISTINCT FROM 'number' OR (p_result->>'bytes')::numeric < 0
           OR jsonb_typeof(p_result->'objects') IS DISTINCT FROM 'number' OR (p_result->>'objects')::numeric < 0
           OR jsonb_typeof(p_result->'location') IS DISTINCT FROM 'string'
           OR p_result->>'location' !~ '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._/-]*)?$' THEN
            RAISE EXCEPTION 'copy_report: COPIED needs {"bytes": n, "objects": n, "location": "s3://…"}' USING ERRCODE = '22023';
        END IF;
        PERFORM backup_mgmt._copy_record(v_hk, p_repository, jsonb_build_object(
            'copy_status', 'COPIED', 'status_reason', NULL, 'copied_at', now(), 'next_attempt_at', NULL,
            'copied_bytes', (p_result->>'bytes')::bigint, 'copied_objects', (p_result->>'objects')::integer,
            'copy_location', p_result->>'location'));
    ELSIF p_status = 'FAILED' THEN
        IF coalesce(btrim(p_result->>'reason'), '') = '' THEN
            RAISE EXCEPTION 'copy_report: FAILED needs {"reason": "…"}' USING ERRCODE = '22023';
        END IF;
        v_delay := least(greatest(backup_mgmt.setting('job.retry_delay_seconds')::numeric, 1)
                         * power(2, least(greatest(coalesce(v_cur.attempts, 1), 1) - 1, 20)), 900);
        PERFORM backup_mgmt._copy_record(v_hk, p_repository, jsonb_build_object(
            'copy_status', 'FAILED', 'status_reason', left(p_result->>'reason', 2000),
            'next_attempt_at', now() + make_interval(secs => v_delay::double precision)));
    ELSE
        IF coalesce(btrim(p_result->>'reason'), '') = '' THEN
            RAISE EXCEPTION 'copy_report: EXPIRED needs {"reason": "…"}' USING ERRCODE = '22023';
        END IF;
        PERFORM backup_mgmt._copy_record(v_hk, p_repository, jsonb_build_object(
            'copy_status', 'EXPIRED', 'status_reason', left(p_result->>'reason', 2000), 'expired_at', now(),
            'next_attempt_at', NULL, 'agent_id', p_agent_id));
    END IF;
    RETURN p_status;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.copy_report(text, text, text, text, jsonb) IS
'Agent protocol (repository copies): ends a copy. COPIED {bytes, objects, location} and FAILED {reason} need the agent''s own COPYING claim (else 55000); FAILED is retried after job.retry_delay_seconds x 2^(attempts-1), at most 15 minutes. EXPIRED {reason}: the repository''s retention removed the copy. Returns the new status. Bad input 22023; unknown backup P0002.';
