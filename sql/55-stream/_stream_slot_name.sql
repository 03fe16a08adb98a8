-- The name of the pack's WAL streaming slot.

CREATE OR REPLACE FUNCTION backup_mgmt._stream_slot_name()
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    -- One name, also the receiver's application_name: health_check() finds
    -- the slot by it and synchronous_standby_names lists it.
    SELECT 'backup_mgmt_stream'::text
$$;

COMMENT ON FUNCTION backup_mgmt._stream_slot_name() IS
'Internal: the physical replication slot of the agent''s WAL receiver, and the receiver''s application_name (backup_mgmt_stream).';
