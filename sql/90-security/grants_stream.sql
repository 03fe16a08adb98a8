-- Privileges of WAL streaming (sql/55-stream), applied after grants.sql:
--
--   backup_agent   stream_slot_ensure, stream_slot_drop: the receiver's slot
--   backup_viewer  wal_stored_position: the RPO behind recoverable_window()
SELECT backup_mgmt._grant_execute('backup_agent', ARRAY['stream_slot_ensure', 'stream_slot_drop']);
SELECT backup_mgmt._grant_execute('backup_viewer', ARRAY['wal_stored_position']);
