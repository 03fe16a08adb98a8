-- Computes the plan of a recovery: base backup, WAL to replay, settings.

CREATE OR REPLACE FUNCTION backup_mgmt._plan_recovery(
    p_target_kind text,
    p_target_value text,
    p_backup_hk bytea,
    p_drill boolean
)
RETURNS jsonb
-- Each target has its own best plan, no JIT (see _recovery_base).
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan SET jit = off
AS $$
-- In four steps, each a function of its own: the target
-- (_recovery_target: checked, canonical), the base (_recovery_base: the
-- newest COMPLETED + VERIFIED full backup that ended before the target and
-- whose WAL up to the target, _recovery_wal_bound, is archived without a
-- gap), here the incremental backups of that base that end before the
-- target (listed in the chain: they prove ranges of its WAL) and the
-- warnings, and the settings (_recovery_settings). Restoring is always base +
-- WAL replay. Nothing is written. Refusals: unknown kind or bad value 22023
-- (22004 NULL); unknown restore point or backup P0002; target outside the
-- recoverable window or behind a WAL gap 22023, with the window or the
-- missing segment in the message; nothing to recover from 55000. p_drill
-- (restore drills): the given backup need not be verified and its WAL need
-- not be archived (a backup carries the WAL to its own end).
DECLARE
    v_segsize bigint := pg_size_bytes(current_setting('wal_segment_size'));
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
    v_target jsonb;
    v_kind text;
    v_time timestamptz;
    v_lsn pg_lsn;
    v_xid bigint;
    v_rp_lsn pg_lsn;
    v_base record;
    v_base_to bigint;
    v_missing bigint;
    v_chain jsonb;
    v_settings jsonb;
    v_warnings jsonb := '[]'::jsonb;
    v_wal_bytes bigint;
BEGIN
    -- A physical recovery restores every tenant: system callers only.
    PERFORM backup_mgmt._require_tenant_access(NULL, 'recovery planning');
    v_target := backup_mgmt._recovery_target(p_target_kind, p_target_value, p_backup_hk);
    v_kind := v_target->>'kind';
    v_time := (v_target->>'time')::timestamptz;
    v_lsn := (v_target->>'lsn')::pg_lsn;
    v_xid := (v_target->>'xid')::bigint;
    v_rp_lsn := (v_target#>>'{restore_point,lsn}')::pg_lsn;

    SELECT * INTO v_base FROM backup_mgmt._recovery_base(v_target, p_drill);
    v_base_to := v_base.to_segno;

    -- Incremental backups of this base that end before the target.
    WITH RECURSIVE d (hk) AS (
        SELECT l.dependent_backup_hk FROM backup_mgmt.backup_dependency_l AS l WHERE l.source_backup_hk = v_base.backup_hk
        UNION
        SELECT l.dependent_backup_hk FROM backup_mgmt.backup_dependency_l AS l JOIN d ON l.source_backup_hk = d.hk
    )
    SELECT coalesce(jsonb_agg(encode(c.backup_hk, 'hex') ORDER BY l.stop_lsn, c.backup_bk), '[]'::jsonb),
           coalesce(jsonb_agg(format('incremental backup %s in the chain failed its verification: %s', c.backup_bk, coalesce(c.verification_detail, 'no detail')))
                        FILTER (WHERE c.verification_status = 'FAILED'), '[]'::jsonb)
      INTO v_chain, v_warnings
      FROM d
      -- Current satellite rows directly (the views would add two hub lookups per link).
      JOIN backup_mgmt.backup_execution_s AS c ON c.backup_hk = d.hk AND c.load_end_date IS NULL
      JOIN backup_mgmt.backup_lsn_s AS l ON l.backup_hk = d.hk AND l.load_end_date IS NULL
     WHERE v_kind <> 'immediate'
       AND c.backup_type = 'INCREMENTAL' AND c.backup_status = 'COMPLETED'
       AND l.stop_lsn IS NOT NULL AND backup_mgmt.wal_segno_of_lsn(l.stop_lsn - 1::numeric) <= v_base_to
       AND CASE v_kind
               WHEN 'time' THEN coalesce(l.stop_time, c.backup_end_time) < v_time
               WHEN 'lsn' THEN l.stop_lsn <= v_lsn
               WHEN 'name' THEN l.stop_lsn < v_rp_lsn
               WHEN 'xid' THEN l.next_xid <= v_xid
               ELSE true
           END;
    v_chain := jsonb_build_array(encode(v_base.backup_hk, 'hex')) || v_chain;

    IF v_kind = 'xid' THEN
        v_warnings := v_warnings || to_jsonb(format('the catalog cannot tell where transaction %s ended: the whole archived WAL through %s was required to be complete; recovery fails if its commit or abort record is not archived',
                                                    v_xid, backup_mgmt.wal_file_name(v_base.timeline_id, v_base_to)));
    END IF;
    IF p_drill THEN
        v_missing := backup_mgmt._wal_first_missing(v_sysid, v_base.timeline_id, v_base.start_segno, v_base_to);
        IF v_missing IS NOT NULL THEN
            v_warnings := v_warnings || to_jsonb(format('WAL segment %s is not in the archive; the restore relies on the WAL inside the backup',
                                                        backup_mgmt.wal_file_name(v_base.timeline_id, v_missing)));
        END IF;
    END IF;

    v_settings := backup_mgmt._recovery_settings(v_target, v_base.backup_bk, v_base.stop_lsn);

    v_wal_bytes := (v_base_to - v_base.start_segno + 1) * v_segsize;
    RETURN jsonb_build_object(
        'version', 1,
        'planned_at', backup_mgmt._iso_time(now()),
        'base', jsonb_build_object(
            'backup_hk', encode(v_base.backup_hk, 'hex'),
            'backup_bk', v_base.backup_bk,
            'repository_root', v_base.repository_root,
            'repository_path', v_base.repository_path,
            'system_identifier', v_sysid,
            'timeline_id', v_base.timeline_id,
            'start_lsn', v_base.start_lsn::text,
            'stop_lsn', v_base.stop_lsn::text,
            'stop_time', backup_mgmt._iso_time(v_base.stop_time),
            'verification_status', v_base.verification_status,
            'backup_size_bytes', v_base.backup_size_bytes,
            -- The agent compares the archives it restores with these checksums.
            'stored_files', v_base.stored_files),
        'chain', v_chain,
        'wal', jsonb_build_object(
            'timeline_id', v_base.timeline_id,
            'from_segment', backup_mgmt.wal_file_name(v_base.timeline_id, v_base.start_segno),
            'to_segment', backup_mgmt.wal_file_name(v_base.timeline_id, v_base_to),
            'segments', v_base_to - v_base.start_segno + 1,
            'bytes', v_wal_bytes),
        'target', v_settings->'target',
        'restore_settings', v_settings->'restore_settings',
        'estimate', backup_mgmt._restore_estimate(coalesce(v_base.backup_size_bytes, 0) + v_wal_bytes),
        'warnings', v_warnings);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._plan_recovery(text, text, bytea, boolean) IS
'Internal: the plan behind plan_recovery() and the recovery/drill requests (_recovery_target, _recovery_base, _recovery_wal_bound, _recovery_settings). p_drill: the given backup need not be VERIFIED and its WAL need not be archived (warnings say what is missing).';
