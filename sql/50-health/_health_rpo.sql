-- Health check rpo: how much committed work would be lost if the server died now.

CREATE OR REPLACE FUNCTION backup_mgmt._health_rpo(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text,
    OUT rpo_seconds numeric
)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- As recoverable_window()'s rpo_seconds: time since the newest archived
-- segment of this cluster known to the catalog was archived (found through
-- the primary key backwards, not through the view). When the server has
-- written no WAL beyond that segment (an idle primary: its current WAL file
-- is not newer), nothing is at risk: RPO 0. No archived WAL at all: CRITICAL.
-- Thresholds health.rpo_warning / health.rpo_critical.
DECLARE
    v_warn interval := backup_mgmt._health_interval('health.rpo_warning');
    v_crit interval := backup_mgmt._health_interval('health.rpo_critical');
    v_w record;
    v_current text;
BEGIN
    threshold := format('warning > %s, critical > %s', backup_mgmt._health_duration_text(v_warn), backup_mgmt._health_duration_text(v_crit));
    SELECT w.timeline_id, w.file_name AS newest_segment, w.archived_at AS newest_archived_at,
           round(extract(epoch FROM now() - w.archived_at), 3) AS rpo_seconds INTO v_w
      FROM backup_mgmt.wal_archive AS w
     WHERE w.system_identifier = (SELECT c.system_identifier::text FROM pg_control_system() AS c)
       AND w.purged_at IS NULL AND length(w.file_name) = 24
     ORDER BY w.file_name DESC
     LIMIT 1;
    IF v_w.newest_segment IS NULL THEN
        status := 'CRITICAL';
        value := 'unknown';
        detail := 'no archived WAL of this cluster is registered in the catalog: is archive_command set to backup-mgmt wal-push and an agent running?';
        RETURN;
    END IF;

    IF NOT pg_is_in_recovery() THEN
        v_current := pg_walfile_name(pg_current_wal_lsn());
    END IF;
    IF v_current IS NOT NULL AND v_w.newest_segment >= v_current THEN
        rpo_seconds := 0;
        detail := format('all WAL up to the current position is archived (newest segment %s, archived %s ago)',
                         v_w.newest_segment, backup_mgmt._health_duration_text(now() - v_w.newest_archived_at));
    ELSE
        rpo_seconds := greatest(v_w.rpo_seconds, 0);
        detail := format('newest archived segment %s (timeline %s) was archived at %s%s', v_w.newest_segment, v_w.timeline_id,
                         to_char(v_w.newest_archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                         CASE WHEN v_current IS NOT NULL THEN format('; the server writes %s', v_current) ELSE '' END);
    END IF;
    status := CASE WHEN rpo_seconds > extract(epoch FROM v_crit) THEN 'CRITICAL'
                   WHEN rpo_seconds > extract(epoch FROM v_warn) THEN 'WARNING' ELSE 'OK' END;
    value := backup_mgmt._health_duration_text(make_interval(secs => rpo_seconds));
    IF status <> 'OK' THEN
        detail := detail || '; lower archive_timeout (e.g. 60s) so that segments are archived at least that often, and check that the agent registers archived WAL';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_rpo() IS
'Internal (health_check, metrics_snapshot): recovery point objective now, as recoverable_window().rpo_seconds: the age of the newest archived segment of this cluster registered in the catalog, or 0 when this (primary) server has written no WAL beyond it. WARNING above health.rpo_warning (5 minutes), CRITICAL above health.rpo_critical (15 minutes) or without any archived WAL. rpo_seconds is NULL when unknown.';
