-- The newest WAL byte of this cluster that is safely stored, by either path.

CREATE OR REPLACE FUNCTION backup_mgmt.wal_stored_position(
    OUT stored_lsn pg_lsn,
    OUT source text,
    OUT current_lsn pg_lsn,
    OUT rpo_seconds numeric,
    OUT detail text
)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Archived: the end of the newest registered segment of the current
-- timeline. Streamed: the position the pack's receiver reported flushed (its
-- slot's restart_lsn, which a physical slot advances to the flush position;
-- pg_stat_replication.flush_lsn while it is connected). The RPO now is 0 when
-- the server has written nothing beyond the stored position; otherwise, while
-- the receiver is connected, its flush lag (how old the newest unflushed WAL
-- is); else the age of the newest archived segment, as before streaming.
-- SECURITY DEFINER: monitoring roles cannot read pg_stat_replication's lags.
DECLARE
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
    v_tli integer;
    v_seg record;
    v_archived_end pg_lsn;
    v_slot_lsn pg_lsn;
    v_rep record;
BEGIN
    IF pg_is_in_recovery() THEN
        v_tli := (SELECT c.timeline_id FROM pg_control_checkpoint() AS c);
    ELSE
        current_lsn := pg_current_wal_lsn();
        v_tli := ('x' || substr(pg_walfile_name(current_lsn), 1, 8))::bit(32)::integer;
    END IF;
    SELECT w.file_name, w.archived_at INTO v_seg
      FROM backup_mgmt.wal_archive AS w
     WHERE w.system_identifier = v_sysid AND w.timeline_id = v_tli
       AND w.purged_at IS NULL AND length(w.file_name) = 24
     ORDER BY w.file_name DESC
     LIMIT 1;
    IF v_seg.file_name IS NOT NULL THEN
        v_archived_end := backup_mgmt.wal_segment_start_lsn(backup_mgmt.wal_segno(v_seg.file_name) + 1);
    END IF;
    SELECT s.restart_lsn INTO v_slot_lsn FROM pg_replication_slots AS s WHERE s.slot_name = backup_mgmt._stream_slot_name();
    SELECT r.flush_lsn, r.flush_lag, r.reply_time INTO v_rep
      FROM pg_stat_replication AS r
     WHERE r.application_name = backup_mgmt._stream_slot_name() AND r.state = 'streaming'
     ORDER BY r.flush_lsn DESC NULLS LAST
     LIMIT 1;
    v_slot_lsn := greatest(v_slot_lsn, v_rep.flush_lsn);

    IF v_slot_lsn IS NOT NULL AND (v_archived_end IS NULL OR v_slot_lsn > v_archived_end) THEN
        stored_lsn := v_slot_lsn;
        source := 'streamed';
    ELSE
        stored_lsn := v_archived_end;
        source := CASE WHEN v_archived_end IS NOT NULL THEN 'archived' END;
    END IF;

    IF stored_lsn IS NULL THEN
        detail := 'no WAL of this cluster is stored (archived and registered, or streamed)';
        RETURN;
    END IF;
    IF current_lsn IS NOT NULL AND stored_lsn >= current_lsn THEN
        rpo_seconds := 0;
        detail := CASE source
            WHEN 'archived' THEN format('all WAL up to the current position is archived (newest segment %s, archived %s ago)',
                                        v_seg.file_name, backup_mgmt._health_duration_text(now() - v_seg.archived_at))
            ELSE format('all WAL up to the current position is streamed (the receiver flushed %s)', stored_lsn) END;
    ELSIF v_rep.flush_lsn IS NOT NULL THEN
        rpo_seconds := round(extract(epoch FROM coalesce(v_rep.flush_lag, now() - v_rep.reply_time, interval '0')), 3);
        detail := format('the WAL receiver has flushed up to %s, the server writes %s', v_rep.flush_lsn, current_lsn);
    ELSIF v_seg.file_name IS NOT NULL THEN
        rpo_seconds := greatest(round(extract(epoch FROM now() - v_seg.archived_at), 3), 0);
        detail := format('newest archived segment %s (timeline %s) was archived at %s%s', v_seg.file_name, v_tli,
                         to_char(v_seg.archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                         CASE WHEN current_lsn IS NOT NULL THEN format('; the server writes %s', pg_walfile_name(current_lsn)) ELSE '' END);
    ELSE
        detail := format('WAL is stored up to %s (%s) but the receiver is not connected and nothing is archived', stored_lsn, source);
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.wal_stored_position() IS
'The newest WAL byte of this cluster safely stored (stored_lsn; source archived = end of the newest registered segment of the current timeline, streamed = flush position of the backup_mgmt_stream receiver), the server''s current LSN, and the RPO now in seconds: 0 when nothing beyond stored_lsn is written, else the receiver''s flush lag while it streams, else the age of the newest archived segment. NULLs when nothing is stored.';
