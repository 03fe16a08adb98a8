-- The agent's WAL receiver asks for its replication slot.

CREATE OR REPLACE FUNCTION backup_mgmt.stream_slot_ensure(
    OUT slot_name text,
    OUT created boolean,
    OUT restart_lsn pg_lsn,
    OUT synchronous boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Creates the pack's physical slot (reserving WAL at once, so nothing
-- written after this call can be recycled before the receiver has it) when
-- it does not exist; refuses (55000) while wal.streaming is off, so a
-- forgotten receiver cannot pin WAL against the operator's setting.
-- synchronous tells the receiver whether to run in synchronous mode.
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'stream_slot_ensure');
    IF backup_mgmt.setting('wal.streaming') IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'WAL streaming is off'
            USING ERRCODE = '55000', HINT = 'SELECT backup_mgmt.set_setting(''wal.streaming'', ''on'')';
    END IF;
    slot_name := backup_mgmt._stream_slot_name();
    synchronous := backup_mgmt.setting('wal.streaming_synchronous') = 'on';
    SELECT s.restart_lsn INTO restart_lsn FROM pg_replication_slots AS s WHERE s.slot_name = backup_mgmt._stream_slot_name();
    IF FOUND THEN
        created := false;
        RETURN;
    END IF;
    BEGIN
        SELECT c.lsn INTO restart_lsn FROM pg_create_physical_replication_slot(backup_mgmt._stream_slot_name(), true) AS c;
        created := true;
    EXCEPTION WHEN duplicate_object THEN
        -- A concurrent call created it.
        SELECT s.restart_lsn INTO restart_lsn FROM pg_replication_slots AS s WHERE s.slot_name = backup_mgmt._stream_slot_name();
        created := false;
    END;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.stream_slot_ensure() IS
'Agent protocol: creates the physical replication slot backup_mgmt_stream (WAL reserved immediately) if missing and returns it with its restart LSN and whether wal.streaming_synchronous is on. 55000 while wal.streaming is off.';
