-- Refuses an agent's job result that lacks a required field.

CREATE OR REPLACE FUNCTION backup_mgmt._require_result_fields(
    p_job backup_mgmt.job, p_result jsonb, p_plan_kind text, p_section text, p_also_missing text[] DEFAULT ARRAY[]::text[])
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Presence first, so the error names every missing field at once: the
-- fields the protocol requires of the job type and plan kind
-- (_job_result_required, generated from codegen/protocol.ts) that are absent
-- or null, then p_also_missing (what the caller found missing by rules of its
-- own). 22023 pointing at PROTOCOL.md section p_section.
DECLARE
    v_missing text[];
BEGIN
    v_missing := ARRAY(
        SELECT k FROM unnest(backup_mgmt._job_result_required(p_job.job_type, p_plan_kind)) WITH ORDINALITY AS u (k, n)
         WHERE jsonb_typeof(p_result->k) IS NULL OR jsonb_typeof(p_result->k) = 'null'
         ORDER BY n) || p_also_missing;
    IF cardinality(v_missing) > 0 THEN
        RAISE EXCEPTION 'complete_job: the result of job % lacks %', p_job.job_id, array_to_string(v_missing, ', ')
            USING ERRCODE = '22023', DETAIL = left(p_result::text, 500), HINT = format('See "%s" in src/agent/PROTOCOL.md.', p_section);
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._require_result_fields(backup_mgmt.job, jsonb, text, text, text[]) IS
'Internal (the _apply_*_result handlers): 22023 naming every field the protocol requires of the job''s result (job type, p_plan_kind) that is absent or null, plus p_also_missing; nothing otherwise.';
