-- Writes the outcome of one run_schedule() decision as a new schedule version.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_record_run(
    p_schedule_hk bytea,
    p_outcome text,
    p_detail text,
    p_changes jsonb,
    p_slot timestamptz,
    p_backup_hk bytea DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The satellite has no column for the last decision, so it goes to
-- tags.last_run ({at, outcome, detail, slot, backup_hk}); p_changes carries
-- the run-state columns (next_execution_time, ...). Through the loader, so
-- every decision is one version in the history.
DECLARE
    v_tags jsonb;
BEGIN
    SELECT coalesce(s.tags, '{}'::jsonb) INTO v_tags FROM backup_mgmt.backup_schedule_s AS s
     WHERE s.schedule_hk = p_schedule_hk AND s.load_end_date IS NULL;
    PERFORM backup_mgmt.backup_schedule_s_load(p_schedule_hk,
        p_changes || jsonb_build_object(
            'changed_by', session_user,
            'tags', v_tags || jsonb_build_object('last_run', jsonb_build_object(
                'at', clock_timestamp(),
                'outcome', p_outcome,
                'detail', p_detail,
                'slot', p_slot,
                'backup_hk', encode(p_backup_hk, 'hex')))),
        'backup_mgmt.run_schedule');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_record_run(bytea, text, text, jsonb, timestamptz, bytea) IS
'Internal: records a run_schedule() decision (STARTED, DEFERRED, SKIPPED, FAILED) in tags.last_run of a new backup_schedule_s version, together with the run-state changes in p_changes.';
