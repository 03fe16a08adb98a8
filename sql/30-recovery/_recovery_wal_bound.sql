-- The last WAL segment a recovery from one candidate base must replay.

CREATE OR REPLACE FUNCTION backup_mgmt._recovery_wal_bound(
    p_target jsonb, p_system_identifier text, p_timeline_id integer, p_start_segno bigint, p_stop_segno bigint, p_newest bigint)
RETURNS bigint
-- As _recovery_base: each target gets its own plan, and no JIT for a few
-- index lookups.
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan SET jit = off
AS $$
-- Step 3 of _plan_recovery, for a base on timeline p_timeline_id whose WAL
-- runs from segment p_start_segno to p_stop_segno (p_target from
-- _recovery_target; p_newest: the newest archived segment of that timeline).
-- time: the segment holding the first commit after the target; lsn, name:
-- the segment holding the target; xid, latest: the newest archived segment;
-- immediate: the base's own end. Never before p_stop_segno. NULL: no
-- archived commit after a time target yet, this base cannot reach it.
DECLARE
    v_kind text := p_target->>'kind';
    v_time timestamptz := (p_target->>'time')::timestamptz;
    v_lsn pg_lsn := (p_target->>'lsn')::pg_lsn;
    v_rp_lsn pg_lsn := (p_target#>>'{restore_point,lsn}')::pg_lsn;
    v_from_name text;
    v_bound_name text;
    v_to bigint;
BEGIN
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
            v_from_name := backup_mgmt.wal_file_name(p_timeline_id, p_start_segno);
            SELECT w.file_name INTO v_bound_name
              FROM backup_mgmt.wal_archive AS w
             WHERE w.system_identifier = p_system_identifier AND w.timeline_id = p_timeline_id
               AND w.purged_at IS NULL AND w.corrupt_at IS NULL AND w.last_commit_time > v_time
               AND w.file_name >= v_from_name AND w.file_name ~ '^[0-9A-F]{24}$'
             ORDER BY w.last_commit_time
             LIMIT 1;
            IF NOT FOUND THEN
                RETURN NULL;
            END IF;
            SELECT backup_mgmt.wal_segno(w.file_name) INTO v_to
              FROM backup_mgmt.wal_archive AS w
             WHERE w.system_identifier = p_system_identifier AND w.timeline_id = p_timeline_id
               AND w.file_name >= v_from_name AND w.file_name <= v_bound_name
               AND w.file_name ~ '^[0-9A-F]{24}$'
               AND w.purged_at IS NULL AND w.corrupt_at IS NULL AND w.last_commit_time > v_time
             ORDER BY w.file_name
             LIMIT 1;
            IF NOT FOUND THEN
                RETURN NULL;
            END IF;
        WHEN 'lsn' THEN
            v_to := backup_mgmt.wal_segno_of_lsn(v_lsn);
        WHEN 'name' THEN
            v_to := backup_mgmt.wal_segno_of_lsn(v_rp_lsn - 1::numeric);
        WHEN 'xid', 'latest' THEN
            -- Where a transaction ended cannot be told from the catalog:
            -- the whole archived stream must be replayable.
            v_to := p_newest;
        ELSE
            v_to := p_stop_segno;
    END CASE;
    RETURN greatest(coalesce(v_to, p_stop_segno), p_stop_segno);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._recovery_wal_bound(jsonb, text, integer, bigint, bigint, bigint) IS
'Internal (_plan_recovery, step 3): the segment number through which WAL must be replayed from a base (timeline, start and stop segment) to reach the target; NULL when a time target lies after the newest archived commit.';
