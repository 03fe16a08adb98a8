-- Health check wal_archiving: does the server's archive_command keep up?

CREATE OR REPLACE FUNCTION backup_mgmt._health_wal_archiving(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- CRITICAL: archive_mode off, no archive_command, or pg_stat_archiver's last
-- failure is newer than its last success (archive_command is failing now).
-- Otherwise the wait of the oldest finished segment not yet archived (the
-- oldest .ready file in pg_wal/archive_status, which needs superuser or
-- pg_monitor; without it: the last archived segment's age while a newer
-- segment is finished) against health.wal_archive_warning_age and
-- _critical_age. A standby with archive_mode = on archives nothing: OK.
DECLARE
    v_mode text := current_setting('archive_mode');
    v_library text := coalesce(current_setting('archive_library', true), '');
    v_warn interval := backup_mgmt._health_interval('health.wal_archive_warning_age');
    v_crit interval := backup_mgmt._health_interval('health.wal_archive_critical_age');
    v_a record;
    v_ready integer;
    v_oldest timestamptz;
    v_wait interval := interval '0';
    v_last text;
    v_how text;
BEGIN
    threshold := format('segment waiting: warning > %s, critical > %s; failing: critical',
                        backup_mgmt._health_duration_text(v_warn), backup_mgmt._health_duration_text(v_crit));
    IF pg_is_in_recovery() AND v_mode <> 'always' THEN
        status := 'OK';
        value := 'standby';
        detail := format('this server is a standby (archive_mode = %s): the primary archives the WAL; check it there', v_mode);
        RETURN;
    END IF;
    IF v_mode = 'off' THEN
        status := 'CRITICAL';
        value := 'archive_mode = off';
        detail := 'WAL is not archived: no point-in-time recovery and no incremental backups; set archive_mode = on and archive_command (backup-mgmt setup --apply) and restart the server';
        RETURN;
    END IF;
    IF current_setting('archive_command') = '' AND v_library = '' THEN
        status := 'CRITICAL';
        value := 'archive_command is empty';
        detail := 'archive_mode is on but no archive_command is set: finished WAL segments pile up in pg_wal and nothing is archived; set archive_command (backup-mgmt setup --apply)';
        RETURN;
    END IF;

    SELECT * INTO v_a FROM pg_catalog.pg_stat_archiver;
    v_last := CASE WHEN v_a.last_archived_time IS NULL THEN 'nothing archived since ' || coalesce(to_char(v_a.stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'the statistics were reset')
                   ELSE format('last archived %s %s ago', v_a.last_archived_wal, backup_mgmt._health_duration_text(now() - v_a.last_archived_time)) END;

    IF v_a.last_failed_time IS NOT NULL AND (v_a.last_archived_time IS NULL OR v_a.last_failed_time > v_a.last_archived_time) THEN
        status := 'CRITICAL';
        value := format('failing since %s', backup_mgmt._health_duration_text(now() - coalesce(v_a.last_archived_time, v_a.stats_reset, v_a.last_failed_time)));
        detail := format('archive_command fails: last failure %s at %s, %s failures since %s; %s. WAL stays in pg_wal until it succeeds: look at the server log',
                         v_a.last_failed_wal, to_char(v_a.last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                         v_a.failed_count, coalesce(to_char(v_a.stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'the last statistics reset'), v_last);
        RETURN;
    END IF;

    BEGIN
        SELECT count(*)::integer, min(f.modification) INTO v_ready, v_oldest
          FROM pg_catalog.pg_ls_archive_statusdir() AS f
         WHERE f.name LIKE '%.ready';
        v_wait := coalesce(now() - v_oldest, interval '0');
        v_how := format('%s segment(s) waiting', v_ready);
    EXCEPTION WHEN insufficient_privilege THEN
        -- Without pg_monitor: a finished segment newer than the last archived one is waiting.
        IF backup_mgmt.wal_segno(pg_walfile_name(pg_current_wal_lsn())) > coalesce(backup_mgmt.wal_segno(v_a.last_archived_wal), -1) + 1 THEN
            v_wait := now() - coalesce(v_a.last_archived_time, v_a.stats_reset, now());
            v_how := 'finished segments waiting (estimated: no access to pg_wal/archive_status)';
        ELSE
            v_how := 'no finished segment waiting (estimated: no access to pg_wal/archive_status)';
        END IF;
    END;

    status := CASE WHEN v_wait > v_crit THEN 'CRITICAL' WHEN v_wait > v_warn THEN 'WARNING' ELSE 'OK' END;
    value := format('oldest waiting %s', backup_mgmt._health_duration_text(v_wait));
    detail := format('%s; %s; %s archived, %s failed since %s', v_how, v_last, v_a.archived_count, v_a.failed_count,
                     coalesce(to_char(v_a.stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'the last statistics reset'));
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_wal_archiving() IS
'Internal (health_check): WAL archiving of this server. CRITICAL when archive_mode is off, no archive_command is set, or pg_stat_archiver.last_failed_time is newer than last_archived_time; otherwise the wait of the oldest finished segment not yet archived (.ready in pg_wal/archive_status) against health.wal_archive_warning_age (15 minutes) and health.wal_archive_critical_age (1 hour). A standby with archive_mode = on: OK.';
