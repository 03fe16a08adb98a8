-- Writes the outcome of a finished DELETE job into the catalog.

CREATE OR REPLACE FUNCTION backup_mgmt._apply_delete_result(p_job backup_mgmt.job, p_result jsonb, p_agent_id text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- PROTOCOL.md "DELETE job". The files are gone (or were gone already): the
-- backup and the incrementals that went with it become EXPIRED once (a
-- retried job finds them EXPIRED and writes nothing), files_present false;
-- archived WAL of the purged timeline before before_segment gets purged_at.
-- A result that does not match the plan is refused (22023), nothing written.
DECLARE
    v_plan jsonb := p_job.plan;
    v_purge jsonb := p_job.plan->'wal_purge';
    v_dep jsonb;
    v_key text;
    v_before text;
    v_files bigint;
BEGIN
    BEGIN
        IF v_plan->>'backup_hk' IS NOT NULL THEN
            v_key := 'backup';
            IF jsonb_typeof(p_result->v_key) IS DISTINCT FROM 'object' THEN RAISE EXCEPTION 'missing: the plan deletes backup %', v_plan->>'backup_bk'; END IF;
            v_key := 'backup.removed';
            IF jsonb_typeof(p_result->'backup'->'removed') IS DISTINCT FROM 'boolean' THEN RAISE EXCEPTION 'must be true or false'; END IF;
        END IF;
        IF jsonb_typeof(v_purge) = 'object' THEN
            v_key := 'wal';
            IF jsonb_typeof(p_result->v_key) IS DISTINCT FROM 'object' THEN RAISE EXCEPTION 'missing: the plan purges WAL'; END IF;
            v_key := 'wal.files_removed';
            v_files := (p_result->'wal'->>'files_removed')::bigint;
            IF v_files IS NULL OR v_files < 0 THEN RAISE EXCEPTION 'must be a count'; END IF;
            v_key := 'wal_purge.before_segment (plan)';
            IF v_purge->>'before_segment' !~ '^[0-9A-F]{24}$' THEN RAISE EXCEPTION 'not a WAL segment name'; END IF;
            IF left(v_purge->>'before_segment', 8) <> lpad(upper(to_hex((v_purge->>'timeline')::integer)), 8, '0') THEN
                RAISE EXCEPTION 'not on timeline %', v_purge->>'timeline';
            END IF;
            v_before := v_purge->>'before_segment';
        END IF;
    EXCEPTION WHEN data_exception OR raise_exception THEN
        RAISE EXCEPTION 'complete_job: field % of the result of DELETE job % is invalid: %', v_key, p_job.job_id, SQLERRM
            USING ERRCODE = '22023', DETAIL = left(p_result::text, 500), HINT = 'See "DELETE job" in src/agent/PROTOCOL.md.';
    END;

    IF v_plan->>'backup_hk' IS NOT NULL THEN
        PERFORM backup_mgmt._retention_expire(p_job.subject_hk, (v_plan->>'expiration_date')::date,
                                              (v_plan->>'retention_period')::interval, v_plan->>'retention_policy',
                                              p_job.job_id, 'backup_mgmt.complete_job');
        FOR v_dep IN SELECT d.value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(v_plan->'dependents') = 'array'
                                                                   THEN v_plan->'dependents' ELSE '[]'::jsonb END) AS d
        LOOP
            PERFORM backup_mgmt._retention_expire(decode(v_dep->>'backup_hk', 'hex'), (v_dep->>'expiration_date')::date,
                                                  (v_dep->>'retention_period')::interval, v_dep->>'retention_policy',
                                                  p_job.job_id, 'backup_mgmt.complete_job');
        END LOOP;
    END IF;

    IF v_before IS NOT NULL THEN
        UPDATE backup_mgmt.wal_archive AS w
           SET purged_at = now()
         WHERE w.system_identifier = v_purge->>'system_identifier'
           AND w.timeline_id = (v_purge->>'timeline')::integer
           AND w.purged_at IS NULL
           -- Name order is segment order within a timeline; its .history file sorts before its first segment.
           AND w.file_name >= backup_mgmt.wal_file_name((v_purge->>'timeline')::integer, 0)
           AND w.file_name < v_purge->>'before_segment';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._apply_delete_result(backup_mgmt.job, jsonb, text) IS
'Internal (complete_job, DELETE): checks the result against the plan (result.backup.removed boolean when the plan deletes a backup, result.wal.files_removed when it purges WAL; 22023 naming the field, nothing written), then marks the backup and plan.dependents EXPIRED with files_present false (once: already EXPIRED is left alone) and sets purged_at on the archived WAL of plan.wal_purge (system_identifier, timeline) before before_segment (segments, .partial and .backup files; history files stay).';
