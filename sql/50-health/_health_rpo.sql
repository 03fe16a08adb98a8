-- Health check rpo: how much committed work would be lost if the server died now.

CREATE OR REPLACE FUNCTION backup_mgmt._health_rpo(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text,
    OUT rpo_seconds numeric
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- As recoverable_window()'s rpo_seconds: wal_stored_position(), from the
-- newest WAL byte safely stored by streaming or archiving. When the server
-- has written nothing beyond it, nothing is at risk: RPO 0. Nothing stored
-- at all: CRITICAL.
-- Thresholds health.rpo_warning / health.rpo_critical.
DECLARE
    v_warn interval := backup_mgmt._health_interval('health.rpo_warning');
    v_crit interval := backup_mgmt._health_interval('health.rpo_critical');
    v_p record;
BEGIN
    threshold := format('warning > %s, critical > %s', backup_mgmt._health_duration_text(v_warn), backup_mgmt._health_duration_text(v_crit));
    SELECT * INTO v_p FROM backup_mgmt.wal_stored_position() AS p;
    IF v_p.stored_lsn IS NULL OR v_p.rpo_seconds IS NULL THEN
        status := 'CRITICAL';
        value := 'unknown';
        detail := v_p.detail || ': is archive_command set to backup-mgmt wal-push (or wal.streaming on) and an agent running?';
        RETURN;
    END IF;
    rpo_seconds := v_p.rpo_seconds;
    detail := v_p.detail;
    status := CASE WHEN rpo_seconds > extract(epoch FROM v_crit) THEN 'CRITICAL'
                   WHEN rpo_seconds > extract(epoch FROM v_warn) THEN 'WARNING' ELSE 'OK' END;
    value := backup_mgmt._health_duration_text(make_interval(secs => rpo_seconds));
    IF status <> 'OK' THEN
        detail := detail || '; lower archive_timeout (e.g. 60s) so that segments are archived at least that often, or stream WAL (wal.streaming = on), and check that the agent registers archived WAL';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_rpo() IS
'Internal (health_check, metrics_snapshot): recovery point objective now, as recoverable_window().rpo_seconds (wal_stored_position()): 0 when this server has written no WAL beyond the newest byte stored by streaming or archiving, else the receiver''s flush lag while it streams, else the age of the newest archived segment. WARNING above health.rpo_warning (5 minutes), CRITICAL above health.rpo_critical (15 minutes) or without any archived WAL. rpo_seconds is NULL when unknown.';
