-- Computes the plan of a recovery: base backup, WAL to replay, settings.

CREATE OR REPLACE FUNCTION backup_mgmt._plan_recovery(
    p_target_kind text,
    p_target_value text,
    p_backup_hk bytea,
    p_drill boolean
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
-- Each target has its own best plan: a session planning many targets would
-- otherwise switch to generic plans after five calls, and those read every
-- candidate from the newest backwards (p50 53 ms instead of 10 ms at
-- 1,000,000 backups). Planning each statement costs far less.
SET plan_cache_mode = force_custom_plan
-- Estimated costs over a big history pass jit_above_cost; compiling costs
-- more than these index lookups.
SET jit = off
AS $$
-- The base is the newest COMPLETED + VERIFIED full backup of this cluster
-- that ENDED before the target (a backup is consistent only from its end)
-- and whose WAL from its start segment to the target's segment is archived
-- without a gap. Restoring is always base + WAL replay; incremental backups
-- of the base that end before the target are listed in the chain (they prove
-- ranges of that WAL). Nothing is written. Refusals: unknown kind or bad
-- value 22023 (22004 NULL); unknown restore point or backup P0002; target
-- outside the recoverable window or behind a WAL gap 22023, with the window
-- or the missing segment in the message; nothing to recover from 55000.
-- p_drill (restore drills): the given backup need not be verified and its WAL
-- need not be archived (a backup carries the WAL to its own end).
DECLARE
    v_kind text := lower(btrim(p_target_kind));
    v_value text := nullif(btrim(p_target_value), '');
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
    v_segsize bigint := pg_size_bytes(current_setting('wal_segment_size'));
    v_time timestamptz;
    v_lsn pg_lsn;
    v_xid bigint;
    v_xid_status text;
    v_rp backup_mgmt.restore_point;
    v_given bytea := p_backup_hk;
    v_named bytea;
    v_given_bk text;
    v_cur record;
    v_cand record;
    v_base record;
    v_found boolean := false;
    v_to bigint;
    v_base_to bigint;
    v_newest bigint;
    v_missing bigint;
    v_gap_segment text;
    v_gap_backup text;
    v_gap_to text;
    v_canonical text;
    v_desc text;
    v_chain jsonb;
    v_settings jsonb;
    v_target jsonb;
    v_warnings jsonb := '[]'::jsonb;
    v_wal_bytes bigint;
    v_gaps text;
    v_from_name text;
    v_bound_name text;
BEGIN
    -- A physical recovery restores every tenant: system callers only.
    PERFORM backup_mgmt._require_tenant_access(NULL, 'recovery planning');
    IF v_kind IS NULL THEN
        RAISE EXCEPTION 'a recovery target kind is required'
            USING ERRCODE = '22004', HINT = 'One of time, xid, lsn, name, immediate, latest.';
    END IF;
    IF v_kind NOT IN ('time', 'xid', 'lsn', 'name', 'immediate', 'latest') THEN
        RAISE EXCEPTION 'unknown recovery target kind %', quote_literal(p_target_kind)
            USING ERRCODE = '22023', HINT = 'One of time, xid, lsn, name, immediate, latest.';
    END IF;
    IF v_value IS NULL AND v_kind IN ('time', 'xid', 'lsn', 'name') THEN
        RAISE EXCEPTION 'a recovery target of kind % needs a value', v_kind
            USING ERRCODE = '22004',
                  HINT = CASE v_kind WHEN 'time' THEN 'For example ''2026-11-22 01:02:03+00''.'
                                     WHEN 'xid' THEN 'A transaction id, e.g. ''1234''.'
                                     WHEN 'lsn' THEN 'An LSN, e.g. ''0/5000028''.'
                                     ELSE 'The name of a restore point (SELECT name FROM backup_mgmt.restore_point).' END;
    END IF;

    -- The target value, checked and in one canonical text form.
    CASE v_kind
        WHEN 'time' THEN
            BEGIN
                v_time := v_value::timestamptz;
            EXCEPTION WHEN data_exception THEN
                RAISE EXCEPTION 'invalid target time %', quote_literal(p_target_value)
                    USING ERRCODE = '22023', DETAIL = SQLERRM, HINT = 'For example ''2026-11-22 01:02:03+00''.';
            END;
            IF NOT isfinite(v_time) THEN
                RAISE EXCEPTION 'invalid target time %', quote_literal(p_target_value)
                    USING ERRCODE = '22023', HINT = 'Give a finite time, e.g. ''2026-11-22 01:02:03+00''.';
            END IF;
            v_canonical := backup_mgmt._iso_time(v_time);
            v_desc := v_canonical;
        WHEN 'lsn' THEN
            BEGIN
                v_lsn := v_value::pg_lsn;
            EXCEPTION WHEN data_exception THEN
                RAISE EXCEPTION 'invalid target LSN %', quote_literal(p_target_value)
                    USING ERRCODE = '22023', DETAIL = SQLERRM, HINT = 'For example ''0/5000028''.';
            END;
            v_canonical := v_lsn::text;
            v_desc := 'LSN ' || v_canonical;
        WHEN 'xid' THEN
            BEGIN
                IF v_value !~ '^[0-9]{1,19}$' THEN
                    RAISE EXCEPTION 'not a decimal number';
                END IF;
                v_xid := v_value::bigint;
            EXCEPTION WHEN data_exception OR raise_exception THEN
                RAISE EXCEPTION 'invalid target transaction id %', quote_literal(p_target_value)
                    USING ERRCODE = '22023', HINT = 'A transaction id is a decimal number, e.g. ''1234'' (txid_current(), pg_current_xact_id()).';
            END;
            IF v_xid < 3 THEN
                RAISE EXCEPTION 'transaction id % is not a normal transaction id', v_xid
                    USING ERRCODE = '22023', HINT = 'Normal transaction ids start at 3.';
            END IF;
            BEGIN
                v_xid_status := pg_xact_status(v_xid::text::xid8);
            EXCEPTION WHEN invalid_parameter_value THEN
                RAISE EXCEPTION 'transaction % has not been assigned yet', v_xid
                    USING ERRCODE = '22023', DETAIL = SQLERRM,
                          HINT = 'Recovery stops at the commit or abort of the target transaction; it must have ended.';
            END;
            IF v_xid_status IS NULL THEN
                RAISE EXCEPTION 'transaction % is too old: its status is no longer known', v_xid
                    USING ERRCODE = '22023', HINT = 'Use a time or LSN target instead.';
            ELSIF v_xid_status = 'in progress' THEN
                RAISE EXCEPTION 'transaction % is still in progress', v_xid
                    USING ERRCODE = '22023',
                          DETAIL = 'Recovery stops at its commit or abort record, which does not exist yet.',
                          HINT = 'Wait until it ends, or use a time or LSN target.';
            END IF;
            v_canonical := v_xid::text;
            v_desc := 'xid ' || v_canonical;
        WHEN 'name' THEN
            -- The name becomes recovery_target_name in the copy's configuration:
            -- only what create_restore_point() accepts can name a restore point.
            IF v_value !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
                RAISE EXCEPTION 'invalid restore point name %', left(quote_literal(v_value), 80)
                    USING ERRCODE = '22023',
                          DETAIL = 'A restore point name starts with a letter or digit and has at most 63 of A-Z a-z 0-9 _ . : -.',
                          HINT = 'SELECT name FROM backup_mgmt.restore_point lists the restore points.';
            END IF;
            SELECT * INTO v_rp FROM backup_mgmt.restore_point AS r WHERE r.name = v_value;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no restore point named %', quote_literal(v_value)
                    USING ERRCODE = 'P0002',
                          HINT = 'List them with SELECT name, lsn, created_at FROM backup_mgmt.restore_point; names are case-sensitive.';
            END IF;
            IF v_rp.system_identifier <> v_sysid THEN
                RAISE EXCEPTION 'restore point % belongs to system %, not to this cluster (%)', quote_literal(v_rp.name), v_rp.system_identifier, v_sysid
                    USING ERRCODE = '22023', HINT = 'Recover that cluster from its own catalog.';
            END IF;
            v_canonical := v_rp.name;
            v_desc := format('restore point %s (LSN %s)', quote_literal(v_rp.name), v_rp.lsn);
        WHEN 'immediate' THEN
            IF v_value IS NOT NULL THEN
                v_named := backup_mgmt._resolve_backup_id(v_value, 'target backup');
                IF v_given IS NOT NULL AND v_given <> v_named THEN
                    RAISE EXCEPTION 'the target value and p_backup_hk name different backups'
                        USING ERRCODE = '22023', HINT = 'Give the backup once: as the value of an immediate target or as p_backup_hk.';
                END IF;
                v_given := v_named;
            END IF;
        ELSE
            IF v_value IS NOT NULL AND lower(v_value) <> 'latest' THEN
                RAISE EXCEPTION 'a recovery target of kind latest takes no value, not %', quote_literal(p_target_value)
                    USING ERRCODE = '22023', HINT = 'Pass NULL: recovery replays all archived WAL.';
            END IF;
            v_canonical := 'latest';
            v_desc := 'latest';
    END CASE;

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
                   WHEN 'name' THEN l.stop_lsn < v_rp.lsn AND l.timeline_id = v_rp.timeline
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
        CASE v_kind
            WHEN 'time' THEN
                -- Recovery stops at the first commit after the target: the
                -- segment holding it is the last one needed. None archived:
                -- PostgreSQL 15 would end recovery before the target and refuse to promote.
                -- (Name order is segment order: walk forward from the base's start.)
                -- In two index probes rather than one query: that one read every
                -- segment after T (idx_wal_archive_last_commit) to sort them by
                -- name. First the segment with the earliest last commit after T
                -- (the first entry of that index): the answer is not after it.
                v_from_name := backup_mgmt.wal_file_name(v_cand.timeline_id, v_cand.start_segno);
                SELECT w.file_name INTO v_bound_name
                  FROM backup_mgmt.wal_archive AS w
                 WHERE w.system_identifier = v_sysid AND w.timeline_id = v_cand.timeline_id
                   AND w.purged_at IS NULL AND w.corrupt_at IS NULL AND w.last_commit_time > v_time
                   AND w.file_name >= v_from_name AND w.file_name ~ '^[0-9A-F]{24}$'
                 ORDER BY w.last_commit_time
                 LIMIT 1;
                CONTINUE WHEN NOT FOUND;
                SELECT backup_mgmt.wal_segno(w.file_name) INTO v_to
                  FROM backup_mgmt.wal_archive AS w
                 WHERE w.system_identifier = v_sysid AND w.timeline_id = v_cand.timeline_id
                   AND w.file_name >= v_from_name AND w.file_name <= v_bound_name
                   AND w.file_name ~ '^[0-9A-F]{24}$'
                   AND w.purged_at IS NULL AND w.corrupt_at IS NULL AND w.last_commit_time > v_time
                 ORDER BY w.file_name
                 LIMIT 1;
                CONTINUE WHEN NOT FOUND;
            WHEN 'lsn' THEN
                v_to := backup_mgmt.wal_segno_of_lsn(v_lsn);
            WHEN 'name' THEN
                v_to := backup_mgmt.wal_segno_of_lsn(v_rp.lsn - 1::numeric);
            WHEN 'xid', 'latest' THEN
                -- Where a transaction ended cannot be told from the catalog:
                -- the whole archived stream must be replayable.
                v_to := v_newest;
            ELSE
                v_to := v_cand.stop_segno;
        END CASE;
        v_to := greatest(coalesce(v_to, v_cand.stop_segno), v_cand.stop_segno);
        v_missing := CASE WHEN p_drill THEN NULL
                          ELSE backup_mgmt._wal_first_missing(v_sysid, v_cand.timeline_id, v_cand.start_segno, v_to) END;
        IF v_missing IS NULL THEN
            v_base := v_cand;
            v_base_to := v_to;
            v_found := true;
            EXIT;
        END IF;
        -- Past the newest archived segment the target is simply not reached
        -- yet (outside the window); below it, a segment is missing.
        IF v_missing <= coalesce(v_newest, -1) AND v_gap_segment IS NULL THEN
            v_gap_segment := backup_mgmt.wal_file_name(v_cand.timeline_id, v_missing);
            v_gap_backup := v_cand.backup_bk;
            v_gap_to := backup_mgmt.wal_file_name(v_cand.timeline_id, v_to);
        END IF;
    END LOOP;

    IF NOT v_found THEN
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
    END IF;

    IF v_kind = 'immediate' THEN
        v_canonical := v_base.backup_bk;
    END IF;

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
               WHEN 'name' THEN l.stop_lsn < v_rp.lsn
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

    v_settings := jsonb_build_object('recovery_target_timeline', 'current');
    v_settings := v_settings || CASE v_kind
        WHEN 'time' THEN jsonb_build_object('recovery_target_time', v_canonical, 'recovery_target_inclusive', true, 'recovery_target_action', 'promote')
        WHEN 'xid' THEN jsonb_build_object('recovery_target_xid', v_canonical, 'recovery_target_inclusive', true, 'recovery_target_action', 'promote')
        WHEN 'lsn' THEN jsonb_build_object('recovery_target_lsn', v_canonical, 'recovery_target_inclusive', true, 'recovery_target_action', 'promote')
        WHEN 'name' THEN jsonb_build_object('recovery_target_name', v_canonical, 'recovery_target_action', 'promote')
        WHEN 'immediate' THEN jsonb_build_object('recovery_target', 'immediate', 'recovery_target_action', 'promote')
        ELSE '{}'::jsonb END;

    v_target := jsonb_build_object('kind', v_kind, 'value', v_canonical, 'inclusive', true, 'action', 'promote')
        || CASE v_kind
               WHEN 'time' THEN jsonb_build_object('time', v_canonical)
               WHEN 'lsn' THEN jsonb_build_object('lsn', v_lsn::text)
               WHEN 'xid' THEN jsonb_build_object('xid', v_xid::text)
               WHEN 'name' THEN jsonb_build_object('lsn', v_rp.lsn::text, 'restore_point',
                                    jsonb_build_object('name', v_rp.name, 'lsn', v_rp.lsn::text, 'timeline', v_rp.timeline,
                                                       'created_at', backup_mgmt._iso_time(v_rp.created_at)))
               WHEN 'immediate' THEN jsonb_build_object('lsn', v_base.stop_lsn::text)
               ELSE '{}'::jsonb END;

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
        'target', v_target,
        'restore_settings', v_settings,
        'estimate', backup_mgmt._restore_estimate(coalesce(v_base.backup_size_bytes, 0) + v_wal_bytes),
        'warnings', v_warnings);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._plan_recovery(text, text, bytea, boolean) IS
'Internal: the plan behind plan_recovery() and the recovery/drill requests. p_drill: the given backup need not be VERIFIED and its WAL need not be archived (warnings say what is missing).';
