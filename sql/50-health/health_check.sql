-- The health of backups and recoverability: one row per check.

CREATE OR REPLACE FUNCTION backup_mgmt.health_check()
RETURNS TABLE (check_name text, status text, value text, threshold text, detail text)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- No JIT: some checks' estimated costs (history-heavy statistics) pass
-- jit_above_cost, and compiling took up to a second of a call whose queries
-- run in milliseconds (measured at 1,000,000 backups by npm run bench).
SET jit = off
AS $$
-- Runs each check (an internal function of sql/50-health) in its own
-- subtransaction, so that one that breaks reports WARNING with its error
-- instead of hiding the others. SECURITY DEFINER: monitoring roles need
-- EXECUTE on this function only, and the checks read pg_cron's jobs and the
-- archive status directory as the pack's owner. Reads only current rows
-- through partial indexes, never the satellites' history.
DECLARE
    v_checks CONSTANT text[] := ARRAY[
        'full_backup_age',        'SELECT status, value, threshold, detail FROM backup_mgmt._health_backup_age(''FULL'')',
        'incremental_backup_age', 'SELECT status, value, threshold, detail FROM backup_mgmt._health_backup_age(''INCREMENTAL'')',
        'failed_backups',         'SELECT status, value, threshold, detail FROM backup_mgmt._health_failed_backups()',
        'wal_archiving',          'SELECT status, value, threshold, detail FROM backup_mgmt._health_wal_archiving()',
        'rpo',                    'SELECT status, value, threshold, detail FROM backup_mgmt._health_rpo()',
        'recovery_window',        'SELECT status, value, threshold, detail FROM backup_mgmt._health_recovery_window()',
        'verification',           'SELECT status, value, threshold, detail FROM backup_mgmt._health_verification()',
        'restore_drill',          'SELECT status, value, threshold, detail FROM backup_mgmt._health_restore_drill()',
        'agent_heartbeat',        'SELECT status, value, threshold, detail FROM backup_mgmt._health_agent_heartbeat()',
        'pending_approvals',      'SELECT status, value, threshold, detail FROM backup_mgmt._health_pending_approvals()',
        'cron_jobs',              'SELECT status, value, threshold, detail FROM backup_mgmt._health_cron_jobs()',
        'repository_space',       'SELECT status, value, threshold, detail FROM backup_mgmt._health_repository_space()',
        'policy_drift',           'SELECT status, value, threshold, detail FROM backup_mgmt._health_policy_drift()',
        'wal_integrity',          'SELECT status, value, threshold, detail FROM backup_mgmt._health_wal_integrity()',
        'leftovers',              'SELECT status, value, threshold, detail FROM backup_mgmt._health_leftovers()',
        'repository_copies',      'SELECT status, value, threshold, detail FROM backup_mgmt._health_repository_copies()',

        'stream_slot',            'SELECT status, value, threshold, detail FROM backup_mgmt._health_stream_slot()'];
BEGIN
    -- System-wide figures: a role bound to a tenant must not see them.
    PERFORM backup_mgmt._require_tenant_access(NULL, 'health_check');
    FOR v_i IN 1 .. array_length(v_checks, 1) BY 2 LOOP
        check_name := v_checks[v_i];
        BEGIN
            EXECUTE v_checks[v_i + 1] INTO status, value, threshold, detail;
            IF status IS NULL OR status NOT IN ('OK', 'WARNING', 'CRITICAL') THEN
                RAISE EXCEPTION 'the check returned status %', coalesce(quote_literal(status), 'NULL') USING ERRCODE = 'XX000';
            END IF;
        EXCEPTION WHEN OTHERS THEN
            status := 'WARNING';
            value := 'error';
            threshold := NULL;
            detail := format('the check failed: %s (SQLSTATE %s)', SQLERRM, SQLSTATE);
        END;
        RETURN NEXT;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.health_check() IS
'One row per health check: check_name, status (OK, WARNING or CRITICAL), value, threshold, detail. Checks, in order: full_backup_age and incremental_backup_age (newest successful backup against its schedule: 1.5 / 3 intervals, health.schedule_*_factor; without schedule health.full_backup_*_age 26 h / 50 h, health.incremental_backup_*_age 6 h / 12 h; no incremental scheduled or taken: OK), failed_backups (in health.failed_backup_window 24 h: WARNING >= 1, CRITICAL >= health.failed_backups_critical 3), wal_archiving (archive_mode off, no archive_command or archive_command failing: CRITICAL; oldest unarchived finished segment > health.wal_archive_warning_age 15 min / _critical_age 1 h), rpo (health.rpo_warning 5 min / health.rpo_critical 15 min; 0 when no WAL beyond the newest archived segment), recovery_window (none: CRITICAL; shorter than health.min_recovery_window 1 day or WAL gaps: WARNING), verification (FAILED in health.verification_failed_window 7 days: CRITICAL; PENDING > health.verification_max_pending 1 h: WARNING), restore_drill (newest successful drill older than health.drill_max_age 30 days or none: WARNING), agent_heartbeat (no live agent: CRITICAL; a silent one beside live ones: WARNING; live = heartbeat within 3 x job.lease_seconds), pending_approvals (waiting > health.approval_max_wait 1 h: WARNING), cron_jobs (with pg_cron here: an active schedule''s job missing or inactive: WARNING), repository_space (agent-reported free space < health.repository_free_warning_percent 20 / _critical_percent 10), wal_integrity (a stored WAL file known damaged: CRITICAL, naming it), leftovers (staging or restore directories of finished work an agent could not remove: WARNING), policy_drift (a schedule or setting managed by a policy file changed by hand since policy_apply: WARNING), repository_copies (per repository: backups not yet copied off-host, FAILED copies, WAL behind, newest backup held; FAILED or waiting > health.copy_warning_age 2 h: WARNING, > health.copy_critical_age 24 h: CRITICAL), stream_slot (WAL retained by the streaming slot > health.stream_slot_warning_size 1GB / _critical_size 8GB, or lost). A check that fails reports WARNING with its error. Change thresholds with set_setting().';
