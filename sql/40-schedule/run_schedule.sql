-- Runs a schedule if it is due: the one call a pg_cron job (or an agent) makes.

CREATE OR REPLACE FUNCTION backup_mgmt.run_schedule(p_schedule_name text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- In order: dropped or paused -> skipped; not due yet -> skipped (nothing
-- recorded; several triggers of one slot run it once); previous run still
-- going -> skipped; outside the execution window -> deferred to the window
-- start; else the work starts. Every decision but the first three is a new
-- schedule version (tags.last_run) with the next slot computed from the later
-- of now and the due slot, so a run missed while nothing was running is made
-- up once, not once per missed slot. Errors of the work are recorded as
-- FAILED and returned, so the schedule moves on.
DECLARE
    v_early constant interval := interval '5 seconds';  -- pg_cron may start a hair early
    v_s backup_mgmt.backup_schedule_s := backup_mgmt._schedule_lock(p_schedule_name, true);
    v_tenant bytea;
    v_zone text := coalesce(v_s.timezone, 'UTC');
    v_slot timestamptz := v_s.next_execution_time;
    v_run_at timestamptz;
    v_next timestamptz;
    v_running text;
    v_window_start timestamptz;
    v_work record;
    v_state text;
    v_message text;
    v_backup_bk text;
BEGIN
    IF coalesce(v_s.tags ? 'dropped_at', false) THEN
        RETURN 'skipped: dropped';
    END IF;
    IF NOT coalesce(v_s.is_active, false) THEN
        RETURN 'skipped: paused';
    END IF;
    IF v_slot IS NULL OR v_slot > now() + v_early THEN
        RETURN format('skipped: not due until %s', v_slot);
    END IF;
    SELECT h.tenant_hk INTO v_tenant FROM backup_mgmt.backup_schedule_h AS h WHERE h.schedule_hk = v_s.schedule_hk;
    v_run_at := greatest(now(), v_slot);
    v_next := backup_mgmt._schedule_next_run(v_s.schedule_expression, v_run_at, v_zone, v_s.execution_window_start, v_s.execution_window_end);

    v_running := backup_mgmt._schedule_running_run(v_s.schedule_hk, v_s.backup_type);
    IF v_running IS NOT NULL THEN
        PERFORM backup_mgmt._schedule_record_run(v_s.schedule_hk, 'SKIPPED', 'previous run still running: ' || v_running,
                                                 jsonb_build_object('next_execution_time', v_next), v_slot);
        RETURN format('skipped: previous run still running (%s)', v_running);
    END IF;

    IF NOT backup_mgmt._schedule_in_window(v_run_at, v_zone, v_s.execution_window_start, v_s.execution_window_end) THEN
        v_window_start := backup_mgmt.cron_next(
            format('%s %s * * *', extract(minute FROM v_s.execution_window_start)::integer, extract(hour FROM v_s.execution_window_start)::integer),
            v_run_at, v_zone);
        PERFORM backup_mgmt._schedule_record_run(v_s.schedule_hk, 'DEFERRED',
            format('outside execution window %s-%s %s', to_char(v_s.execution_window_start, 'HH24:MI'), to_char(v_s.execution_window_end, 'HH24:MI'), v_zone),
            jsonb_build_object('next_execution_time', v_window_start), v_slot);
        RETURN format('deferred: outside execution window %s-%s %s, next run at %s',
                      to_char(v_s.execution_window_start, 'HH24:MI'), to_char(v_s.execution_window_end, 'HH24:MI'), v_zone, v_window_start);
    END IF;

    BEGIN
        -- Runs happen as the pack's owner: the schedule's owner must still be allowed the work.
        PERFORM backup_mgmt._schedule_authorize(v_s.backup_type, v_tenant, v_s.created_by, 'run_schedule');
        SELECT * INTO v_work FROM backup_mgmt._schedule_start_work(v_s.backup_type, v_tenant);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
        PERFORM backup_mgmt._schedule_record_run(v_s.schedule_hk, 'FAILED', format('SQLSTATE %s: %s', v_state, v_message),
            jsonb_build_object('next_execution_time', v_next, 'last_execution_time', now()), v_slot);
        RAISE WARNING 'backup schedule %: % (SQLSTATE %)', v_s.schedule_name, v_message, v_state;
        RETURN format('failed: %s (SQLSTATE %s)', v_message, v_state);
    END;

    IF v_work.backup_hk IS NOT NULL AND v_s.backup_type IN ('FULL', 'INCREMENTAL') THEN
        SELECT h.backup_bk INTO v_backup_bk FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_hk = v_work.backup_hk;
        INSERT INTO backup_mgmt.schedule_execution_l (link_schedule_execution_hk, schedule_hk, backup_hk, tenant_hk, record_source)
        VALUES (backup_mgmt.hash_key(v_s.schedule_name, v_backup_bk), v_s.schedule_hk, v_work.backup_hk, v_tenant,
                'backup_mgmt.run_schedule')
        ON CONFLICT DO NOTHING;
    END IF;
    PERFORM backup_mgmt._schedule_record_run(v_s.schedule_hk, v_work.outcome, v_work.detail,
        CASE WHEN v_work.outcome = 'SKIPPED' THEN jsonb_build_object('next_execution_time', v_next)
             ELSE jsonb_build_object('next_execution_time', v_next, 'last_execution_time', now(),
                                     'execution_count', coalesce(v_s.execution_count, 0) + 1) END,
        v_slot, v_work.backup_hk);
    RETURN lower(v_work.outcome) || ': ' || v_work.detail || coalesce(' ' || v_backup_bk, '');
END;
$$;

COMMENT ON FUNCTION backup_mgmt.run_schedule(text) IS
'Runs schedule p_schedule_name if it is due and returns what happened: ''skipped: dropped'', ''skipped: paused'', ''skipped: not due until …'' (nothing recorded), ''skipped: previous run still running (…)'', ''deferred: outside execution window …, next run at …'', ''started: full requested FULL_BACKUP_…'' (and the like per type), ''skipped: incremental backups not available (…)'' when the work function is not installed, or ''failed: … (SQLSTATE …)'' (42501 when the schedule''s owner may no longer start its work directly, see _schedule_authorize). Each of the last kinds is recorded as a backup_schedule_s version (tags.last_run) and moves next_execution_time to the next slot after max(now, due slot), so a missed run is made up once. Backups started are linked in schedule_execution_l. Called by the pg_cron job backup_mgmt:<name> and by run_due_schedules(); 42704 for an unknown schedule.';
