-- Health check stream_slot: WAL the pack's streaming slot keeps on the server.

CREATE OR REPLACE FUNCTION backup_mgmt._health_stream_slot(
    OUT status text,
    OUT value text,
    OUT threshold text,
    OUT detail text
)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- A slot whose receiver is gone keeps every WAL file from its restart_lsn on:
-- it fills the server's disk unless max_slot_wal_keep_size caps it (then the
-- slot is lost and the stream has a gap). Retained bytes = current LSN -
-- restart_lsn; above health.stream_slot_critical_size CRITICAL, above
-- health.stream_slot_warning_size WARNING; a lost slot CRITICAL. Streaming on
-- without the slot: WARNING (the agent creates it). Off and no slot: OK.
DECLARE
    v_warn numeric := pg_size_bytes(backup_mgmt.setting('health.stream_slot_warning_size'));
    v_crit numeric := pg_size_bytes(backup_mgmt.setting('health.stream_slot_critical_size'));
    v_on boolean := backup_mgmt.setting('wal.streaming') = 'on';
    v_slot record;
    v_retained numeric;
BEGIN
    threshold := format('retained WAL > %s: warning, > %s: critical', pg_size_pretty(v_warn), pg_size_pretty(v_crit));
    SELECT s.active, s.restart_lsn, s.wal_status, s.safe_wal_size INTO v_slot
      FROM pg_replication_slots AS s WHERE s.slot_name = backup_mgmt._stream_slot_name();
    IF NOT FOUND THEN
        status := CASE WHEN v_on THEN 'WARNING' ELSE 'OK' END;
        value := 'no slot';
        detail := CASE WHEN v_on THEN format('wal.streaming is on but slot %s does not exist: is an agent running?', backup_mgmt._stream_slot_name())
                       ELSE 'WAL streaming is off (wal.streaming)' END;
        RETURN;
    END IF;
    IF v_slot.wal_status = 'lost' OR v_slot.restart_lsn IS NULL THEN
        status := 'CRITICAL';
        value := 'lost';
        detail := format('slot %s has lost WAL it needed (max_slot_wal_keep_size): the stream has a gap; archiving must cover it', backup_mgmt._stream_slot_name());
        RETURN;
    END IF;
    v_retained := CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_replay_lsn(), v_slot.restart_lsn)
                       ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), v_slot.restart_lsn) END;
    value := pg_size_pretty(greatest(v_retained, 0));
    status := CASE WHEN v_retained > v_crit THEN 'CRITICAL' WHEN v_retained > v_warn THEN 'WARNING' ELSE 'OK' END;
    detail := format('slot %s (%s) retains %s of WAL from %s%s', backup_mgmt._stream_slot_name(),
                     CASE WHEN v_slot.active THEN 'receiver connected' ELSE 'no receiver connected' END,
                     pg_size_pretty(greatest(v_retained, 0)), v_slot.restart_lsn,
                     CASE WHEN v_slot.safe_wal_size IS NOT NULL THEN format('; %s more before max_slot_wal_keep_size invalidates it', pg_size_pretty(v_slot.safe_wal_size)) ELSE '' END);
    IF status <> 'OK' THEN
        detail := detail || '; start the agent (its receiver resumes from the slot), or set wal.streaming off to drop the slot; cap it with max_slot_wal_keep_size';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_stream_slot() IS
'Internal (health_check): WAL retained by the streaming slot backup_mgmt_stream: WARNING above health.stream_slot_warning_size (1GB), CRITICAL above health.stream_slot_critical_size (8GB) or when the slot lost WAL; streaming on without the slot WARNING; off without a slot OK.';
