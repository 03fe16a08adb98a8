-- Drops the pack's WAL streaming slot once streaming is off.

CREATE OR REPLACE FUNCTION backup_mgmt.stream_slot_drop()
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Returns whether a slot was dropped. Refuses (55000) while wal.streaming is
-- on (the agent would create it again) and while a receiver uses it (stop
-- the receiver first: set wal.streaming off and the agent stops it).
DECLARE
    v_active boolean;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'stream_slot_drop');
    IF backup_mgmt.setting('wal.streaming') = 'on' THEN
        RAISE EXCEPTION 'WAL streaming is on: the slot is in use'
            USING ERRCODE = '55000', HINT = 'SELECT backup_mgmt.set_setting(''wal.streaming'', ''off'') first; the agent stops its receiver and drops the slot.';
    END IF;
    SELECT s.active INTO v_active FROM pg_replication_slots AS s WHERE s.slot_name = backup_mgmt._stream_slot_name();
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF v_active THEN
        RAISE EXCEPTION 'the WAL receiver still uses slot %', backup_mgmt._stream_slot_name()
            USING ERRCODE = '55000', HINT = 'Wait until the agent has stopped its receiver (within seconds of wal.streaming = off).';
    END IF;
    PERFORM pg_drop_replication_slot(backup_mgmt._stream_slot_name());
    RETURN true;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.stream_slot_drop() IS
'Agent protocol and admins: drops the slot backup_mgmt_stream when wal.streaming is off and no receiver uses it; returns whether it dropped one. 55000 while streaming is on or the slot is active.';
