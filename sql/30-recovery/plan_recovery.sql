-- The one PITR planner: what a recovery to a target would restore and replay.

CREATE OR REPLACE FUNCTION backup_mgmt.plan_recovery(
    p_target_kind text,
    p_target_value text,
    p_backup_hk bytea DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Read-only: the same plan initiate_recovery() and
-- initiate_point_in_time_recovery() record, for a dry run.
BEGIN
    RETURN backup_mgmt._plan_recovery(p_target_kind, p_target_value, p_backup_hk, false);
END;
$$;

COMMENT ON FUNCTION backup_mgmt.plan_recovery(text, text, bytea) IS
'Plans a recovery of this cluster without writing anything. Kinds: time (value: a timestamptz), xid (a committed or aborted transaction id), lsn, name (a restore point of backup_mgmt.restore_point), immediate (the end of p_backup_hk, or of the backup named by the value, or of the newest verified full backup), latest (all archived WAL). Base = the newest COMPLETED+VERIFIED full backup that ENDED before the target (time: stop_time < T; lsn: stop_lsn <= L; name: stop_lsn < the restore point''s LSN, same timeline; xid: next_xid <= X) whose WAL from its start segment to the target''s segment (time: the first segment with a commit after T; xid, latest: the newest archived) is complete in wal_archive. Returns {version, planned_at, base {backup_hk, backup_bk, repository_root, repository_path, system_identifier, timeline_id, start_lsn, stop_lsn, stop_time, verification_status, backup_size_bytes}, chain [backup_hk: the base, then its incremental backups that end before the target], wal {timeline_id, from_segment, to_segment, segments, bytes}, target {kind, value, inclusive, action: promote, time|lsn|xid|restore_point}, restore_settings {recovery_target_time|xid|lsn|name or recovery_target = immediate, recovery_target_inclusive, recovery_target_action, recovery_target_timeline: current}, estimate {bytes, throughput_bytes_per_second, basis, minutes}, warnings [text]}. Target outside the recoverable window or behind a WAL gap: 22023 naming the window or the missing segment; bad kind or value: 22023 (22004 NULL); unknown restore point or backup: P0002; no verified full backup, or a named backup that is not COMPLETED/VERIFIED: 55000.';
