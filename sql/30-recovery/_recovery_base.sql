-- Chooses the base backup of a recovery.

CREATE OR REPLACE FUNCTION backup_mgmt._recovery_base(p_target jsonb, p_drill boolean)
RETURNS TABLE (
    backup_hk bytea,
    backup_bk text,
    verification_status text,
    backup_size_bytes bigint,
    timeline_id integer,
    start_lsn pg_lsn,
    stop_lsn pg_lsn,
    stop_time timestamptz,
    next_xid bigint,
    repository_root text,
    repository_path text,
    stored_files jsonb,
    start_segno bigint,
    stop_segno bigint,
    to_segno bigint
)
-- Each target has its own best plan (plan_cache_mode): a session planning
-- many targets would otherwise switch to generic plans after five calls, and
-- those read every candidate from the newest backwards (p50 53 ms instead of
-- 10 ms at 1,000,000 backups). Planning each statement costs far less.
-- Estimated costs over a big history pass jit_above_cost; compiling costs
-- more than these index lookups (jit off).
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan SET jit = off
AS $$
-- Step 2 of _plan_recovery, for a target from _recovery_target. The base is
-- the newest COMPLETED + VERIFIED full backup of this cluster that ENDED
-- before the target (a backup is consistent only from its end) and whose WAL
-- from its start segment to the target's segment (_recovery_wal_bound, the
-- returned to_segno) is archived without a gap. A backup the target names
-- (backup_hk) must be fit to restore from. p_drill: the named backup need not
-- be verified and its WAL need not be archived. One row, or an exception:
-- unknown backup P0002; target outside the recoverable window or behind a
-- WAL gap 22023, with the window or the missing segment in the message;
-- nothing to recover from 55000.
#variable_conflict use_column
DECLARE
    v_kind text := p_target->>'kind';
    v_time timestamptz := (p_target->>'time')::timestamptz;
    v_lsn pg_lsn := (p_target->>'lsn')::pg_lsn;
    v_xid bigint := (p_target->>'xid')::bigint;
    v_rp_lsn pg_lsn := (p_target#>>'{restore_point,lsn}')::pg_lsn;
    v_rp_timeline integer := (p_target#>>'{restore_point,timeline}')::integer;
    v_desc text := p_target->>'description';
    v_given bytea := decode(p_target->>'backup_hk', 'hex');
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
    v_given_bk text;
    v_cur record;
    v_cand record;
    v_to bigint;
    v_newest bigint;
    v_missing bigint;
    v_gap_segment text;
    v_gap_backup text;
    v_gap_to text;
    v_gaps text;
BEGIN
    -- A backup named by the caller must be fit to restore from.
    IF v_given IS NOT NULL THEN
        SELECT c.backup_bk, c.backup_type, c.backup_status, c.verification_status, st.files_present,
               l.system_identifier, l.stop_lsn
          INTO v_cur
          FROM backup_mgmt.backup_execution_current AS c
          LEFT JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = c.backup_hk
          LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
         WHERE c.backup_hk = v_given;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no backup with id %', encode(v_given, 'hex')
                USING ERRCODE = 'P0002', HINT = 'List backups with SELECT * FROM backup_mgmt.backup_list.';
        END IF;
        IF v_cur.backup_type <> 'FULL' THEN
            RAISE EXCEPTION 'backup % is an % backup: a restore starts from a full backup', v_cur.backup_bk, v_cur.backup_type
                USING ERRCODE = '22023',
                      HINT = 'Give its full backup (the incremental''s WAL is replayed from the archive), or a target such as lsn or time.';
        END IF;
        IF v_cur.backup_status <> 'COMPLETED' THEN
            RAISE EXCEPTION 'backup % is %, only COMPLETED backups can be restored', v_cur.backup_bk, v_cur.backup_status
                USING ERRCODE = '55000', HINT = 'Wait for it with backup_mgmt.await_backup(), or choose another backup.';
        END IF;
        IF v_cur.files_present IS FALSE THEN
            RAISE EXCEPTION 'the files of backup % are no longer stored', v_cur.backup_bk
                USING ERRCODE = '55000', HINT = 'Choose another backup; see backup_mgmt.backup_list.files_present.';
        END IF;
        IF v_cur.stop_lsn IS NULL OR v_cur.system_identifier IS NULL THEN
            RAISE EXCEPTION 'backup % has no recorded WAL position', v_cur.backup_bk
                USING ERRCODE = '55000', HINT = 'Choose another backup.';
        END IF;
        IF v_cur.system_identifier <> v_sysid THEN
            RAISE EXCEPTION 'backup % belongs to system %, not to this cluster (%)', v_cur.backup_bk, v_cur.system_identifier, v_sysid
                USING ERRCODE = '22023', HINT = 'Recover that cluster from its own catalog.';
        END IF;
        IF NOT p_drill AND v_cur.verification_status IS DISTINCT FROM 'VERIFIED' THEN
            RAISE EXCEPTION 'backup % is not verified (verification %)', v_cur.backup_bk, coalesce(v_cur.verification_status, 'none')
                USING ERRCODE = '55000',
                      HINT = 'A recovery only starts from a VERIFIED backup: SELECT * FROM backup_mgmt.verify_backup_integrity(<backup_id>), or run a restore drill.';
        END IF;
        v_given_bk := v_cur.backup_bk;
    END IF;

    -- Newest first: the first candidate whose WAL is complete is the base.
    FOR v_cand IN
        SELECT c.backup_hk, c.backup_bk, c.verification_status, c.backup_size_bytes,
               l.timeline_id, l.start_lsn, l.stop_lsn, coalesce(l.stop_time, c.backup_end_time) AS stop_time, l.next_xid,
               st.repository_root, st.repository_path, st.stored_files,
               backup_mgmt.wal_segno_of_lsn(l.start_lsn) AS start_segno,
               backup_mgmt.wal_segno_of_lsn(l.stop_lsn - 1::numeric) AS stop_segno
          -- The current rows of the satellites, not the *_current views: each
          -- view joins the hub again, three hub lookups per candidate for a
          -- backup_bk the execution satellite carries itself.
          FROM backup_mgmt.backup_execution_s AS c
          JOIN backup_mgmt.backup_lsn_s AS l ON l.backup_hk = c.backup_hk AND l.load_end_date IS NULL
          LEFT JOIN backup_mgmt.backup_storage_s AS st ON st.backup_hk = c.backup_hk AND st.load_end_date IS NULL
         WHERE c.load_end_date IS NULL
           AND (v_given IS NULL OR c.backup_hk = v_given)
           AND c.backup_type = 'FULL' AND c.backup_status = 'COMPLETED' AND st.files_present IS NOT FALSE
           AND (c.verification_status = 'VERIFIED' OR (p_drill AND v_given IS NOT NULL))
           -- A backup whose restore drill failed is never chosen by itself; named, it may be.
           AND (v_given IS NOT NULL OR c.recovery_test_success IS NOT FALSE)
           AND l.system_identifier = v_sysid AND l.timeline_id IS NOT NULL
           AND l.start_lsn IS NOT NULL AND l.stop_lsn > l.start_lsn
           -- Implied by the time test below (a backup starts before it stops),
           -- but on the execution row alone: full backups newer than the
           -- target are passed over without reading their other satellites.
           AND (v_kind <> 'time' OR c.backup_start_time < v_time)
           AND CASE v_kind
                   WHEN 'time' THEN coalesce(l.stop_time, c.backup_end_time) < v_time
                   WHEN 'lsn' THEN l.stop_lsn <= v_lsn
                   WHEN 'name' THEN l.stop_lsn < v_rp_lsn AND l.timeline_id = v_rp_timeline
                   WHEN 'xid' THEN l.next_xid <= v_xid
                   ELSE true
               END
         -- Newest first by start time: backups of a cluster run one at a time,
         -- so this is the order of stop times too, and
         -- idx_backup_execution_s_completed_type_start delivers it from the
         -- target backwards: the loop reads a few candidates lazily instead of
         -- every kept full backup newer than the target.
         ORDER BY c.backup_start_time DESC, l.stop_lsn DESC, c.backup_bk DESC
    LOOP
        SELECT backup_mgmt.wal_segno(w.file_name) INTO v_newest
          FROM backup_mgmt.wal_archive AS w
         WHERE w.system_identifier = v_sysid AND w.timeline_id = v_cand.timeline_id
           AND w.file_name ~ '^[0-9A-F]{24}$' AND w.purged_at IS NULL AND w.corrupt_at IS NULL
         ORDER BY w.file_name DESC
         LIMIT 1;
        v_to := backup_mgmt._recovery_wal_bound(p_target, v_sysid, v_cand.timeline_id, v_cand.start_segno, v_cand.stop_segno, v_newest);
        CONTINUE WHEN v_to IS NULL;
        v_missing := CASE WHEN p_drill THEN NULL
                          ELSE backup_mgmt._wal_first_missing(v_sysid, v_cand.timeline_id, v_cand.start_segno, v_to) END;
        IF v_missing IS NULL THEN
            backup_hk := v_cand.backup_hk;
            backup_bk := v_cand.backup_bk;
            verification_status := v_cand.verification_status;
            backup_size_bytes := v_cand.backup_size_bytes;
            timeline_id := v_cand.timeline_id;
            start_lsn := v_cand.start_lsn;
            stop_lsn := v_cand.stop_lsn;
            stop_time := v_cand.stop_time;
            next_xid := v_cand.next_xid;
            repository_root := v_cand.repository_root;
            repository_path := v_cand.repository_path;
            stored_files := v_cand.stored_files;
            start_segno := v_cand.start_segno;
            stop_segno := v_cand.stop_segno;
            to_segno := v_to;
            RETURN NEXT;
            RETURN;
        END IF;
        -- Past the newest archived segment the target is simply not reached
        -- yet (outside the window); below it, a segment is missing.
        IF v_missing <= coalesce(v_newest, -1) AND v_gap_segment IS NULL THEN
            v_gap_segment := backup_mgmt.wal_file_name(v_cand.timeline_id, v_missing);
            v_gap_backup := v_cand.backup_bk;
            v_gap_to := backup_mgmt.wal_file_name(v_cand.timeline_id, v_to);
        END IF;
    END LOOP;

    -- No base: say why.
    IF v_kind = 'immediate' THEN
        v_desc := 'the end of backup ' || coalesce(v_given_bk, 'the newest verified full backup');
    END IF;
    IF v_gap_segment IS NOT NULL THEN
        SELECT string_agg(array_to_string(w.wal_gaps, ', '), '; ') INTO v_gaps
          FROM backup_mgmt.recoverability AS w WHERE w.system_identifier = v_sysid AND w.missing_segments > 0;
        RAISE EXCEPTION 'target % cannot be reached: WAL segment % is missing from the archive', v_desc, v_gap_segment
            USING ERRCODE = '22023',
                  DETAIL = format('Replaying from backup %s to segment %s needs every segment in between. Recoverable window %s; missing segments: %s.',
                                  v_gap_backup, v_gap_to, backup_mgmt._recovery_window_text(v_kind), coalesce(v_gaps, v_gap_segment)),
                  HINT = 'Choose a target before the gap, or after the end of a full backup taken after it (SELECT * FROM backup_mgmt.recoverable_window()).';
    END IF;
    IF NOT EXISTS (SELECT 1
                     FROM backup_mgmt.backup_execution_current AS c
                     JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = c.backup_hk
                     LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
                    WHERE c.backup_type = 'FULL' AND c.backup_status = 'COMPLETED' AND c.verification_status = 'VERIFIED'
                      AND st.files_present IS NOT FALSE AND l.system_identifier = v_sysid) THEN
        RAISE EXCEPTION 'no verified full backup of this cluster to recover from'
            USING ERRCODE = '55000',
                  HINT = 'take a full backup first: SELECT * FROM backup_mgmt.create_full_backup()';
    END IF;
    RAISE EXCEPTION 'target % is outside the recoverable window %', v_desc, backup_mgmt._recovery_window_text(v_kind)
        USING ERRCODE = '22023',
              DETAIL = CASE v_kind
                  WHEN 'time' THEN 'A time target must lie after the end of a verified full backup and before the newest archived commit (PostgreSQL 15 does not promote when recovery ends before reaching its target).'
                  WHEN 'xid' THEN 'The transaction must have been assigned after a verified full backup ended, and its WAL must be archived.'
                  WHEN 'immediate' THEN 'The backup''s WAL is not archived yet.'
                  WHEN 'latest' THEN 'No verified full backup has its WAL archived.'
                  ELSE 'The target must lie after the end of a verified full backup and inside the archived WAL.' END,
              HINT = 'SELECT * FROM backup_mgmt.recoverable_window() shows what can be recovered; archive the current segment with SELECT pg_switch_wal() if the target is recent.';
END;
$$;

COMMENT ON FUNCTION backup_mgmt._recovery_base(jsonb, boolean) IS
'Internal (_plan_recovery, step 2): the base backup for a target (from _recovery_target) with the segments its WAL replay spans (start_segno .. to_segno); P0002 unknown backup, 22023 target outside the window or behind a WAL gap, 55000 nothing to recover from.';
