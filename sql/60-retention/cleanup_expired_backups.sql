-- Applies retention: queues deletions, marks what has no files EXPIRED (seed 001 signature).

CREATE OR REPLACE FUNCTION backup_mgmt.cleanup_expired_backups(
    p_tenant_hk bytea DEFAULT NULL,
    p_dry_run boolean DEFAULT true
)
RETURNS TABLE (
    backup_id bytea,
    backup_name varchar(255),
    expiration_date date,
    backup_size_bytes bigint,
    action_taken varchar(50)
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
-- Dry run: the rows of cleanup_plan(). Real run, under the retention lock:
-- a DELETE job per backup whose files go (its incrementals listed in the
-- plan as dependents), EXPIRED at once for what has no files, and a DELETE
-- job per timeline whose archived WAL no kept backup needs. The files are
-- removed by the agent; complete_job then marks the backups EXPIRED. Nothing
-- is queued twice: what a queued or running job covers is DELETE_PENDING.
DECLARE
    v_rows jsonb;
    v_r record;
    v_w record;
    v_kept bytea[];
    v_job_id bigint;
    v_max_attempts integer;
    v_root text;
BEGIN
    PERFORM backup_mgmt._require_args(p_dry_run IS NULL, 'cleanup_expired_backups', 'p_dry_run', 'true lists what would happen (the default), false applies it.');
    -- A role bound to a tenant acts for that tenant only (sql/90-security).
    IF octet_length(p_tenant_hk) <> 32 THEN
        RAISE EXCEPTION 'cleanup_expired_backups: % is not a tenant hash key', encode(p_tenant_hk, 'hex')
            USING ERRCODE = '22023', HINT = 'A tenant hash key is 32 bytes (backup_mgmt.hash_key(<tenant>)); NULL = system-wide.';
    END IF;
    PERFORM backup_mgmt._require_tenant_access(p_tenant_hk, 'cleanup_expired_backups');
    IF p_dry_run THEN
        RETURN QUERY SELECT p.backup_id, p.backup_name, p.expiration_date, p.backup_size_bytes, p.action
                       FROM backup_mgmt.cleanup_plan(p_tenant_hk) AS p;
        RETURN;
    END IF;

    -- (7346224, 1): the retention lock; a second cleanup waits and then sees
    -- this one's jobs. Outside READ COMMITTED its snapshot would hide them.
    IF current_setting('transaction_isolation') = 'read committed' THEN
        PERFORM pg_advisory_xact_lock(7346224, 1);
    ELSIF NOT pg_try_advisory_xact_lock(7346224, 1) THEN
        RAISE EXCEPTION 'cleanup_expired_backups: another cleanup is running'
            USING ERRCODE = '40001', HINT = 'Retry the transaction, or call cleanup_expired_backups in READ COMMITTED.';
    END IF;
    v_max_attempts := backup_mgmt.setting('job.max_attempts')::integer;

    -- One reading of the catalog for every decision below.
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'backup_hk', encode(p.backup_hk, 'hex'), 'backup_bk', p.backup_bk, 'backup_type', p.backup_type,
               'system_identifier', p.system_identifier, 'end_time', p.end_time,
               'retention_period', p.retention_period, 'retention_policy', p.retention_policy,
               'expiration_date', p.expiration_date, 'backup_size_bytes', p.backup_size_bytes,
               'chain_full_hk', encode(p.chain_full_hk, 'hex'), 'present_full', p.present_full, 'has_files', p.has_files,
               'repository_root', p.repository_root, 'repository_path', p.repository_path,
               'action', p.action, 'reason', p.reason) ORDER BY p.end_time, p.backup_bk), '[]'::jsonb)
      INTO v_rows
      FROM backup_mgmt._retention_plan(p_tenant_hk) AS p;

    FOR v_r IN
        SELECT x.*, decode(x.backup_hk, 'hex') AS hk
          FROM jsonb_to_recordset(v_rows) AS x (backup_hk text, backup_bk varchar(255), backup_type text, system_identifier text,
                                                retention_period interval, retention_policy text, expiration_date date,
                                                backup_size_bytes bigint, chain_full_hk text, present_full boolean, has_files boolean,
                                                repository_root text, repository_path text, action text, reason text)
    LOOP
        IF v_r.action = 'WOULD_DELETE' AND v_r.has_files THEN
            INSERT INTO backup_mgmt.job (job_type, subject_hk, plan, priority, max_attempts, created_by)
            VALUES ('DELETE', v_r.hk, jsonb_build_object(
                        'kind', 'delete',
                        'version', 1,
                        'backup_hk', v_r.backup_hk,
                        'backup_bk', v_r.backup_bk,
                        'backup_type', v_r.backup_type,
                        'system_identifier', v_r.system_identifier,
                        'repository_root', v_r.repository_root,
                        'repository_path', v_r.repository_path,
                        'expiration_date', v_r.expiration_date,
                        'retention_period', v_r.retention_period,
                        'retention_policy', v_r.retention_policy,
                        'reason', v_r.reason,
                        -- The incrementals without files of their own go with it.
                        'dependents', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                                 'backup_hk', d.value->>'backup_hk', 'backup_bk', d.value->>'backup_bk',
                                                 'expiration_date', d.value->>'expiration_date',
                                                 'retention_period', d.value->>'retention_period',
                                                 'retention_policy', d.value->>'retention_policy')
                                                 ORDER BY d.ordinality), '[]'::jsonb)
                                         FROM jsonb_array_elements(v_rows) WITH ORDINALITY AS d
                                        WHERE d.value->>'action' = 'WOULD_DELETE' AND NOT (d.value->>'has_files')::boolean
                                          AND d.value->>'chain_full_hk' = v_r.backup_hk
                                          AND d.value->>'backup_hk' <> v_r.backup_hk),
                        'wal_purge', NULL),
                    8, v_max_attempts, session_user)
            RETURNING job.job_id INTO v_job_id;
            PERFORM pg_notify('backup_mgmt_jobs', v_job_id::text);
            action_taken := 'DELETE_QUEUED';
        ELSIF v_r.action = 'WOULD_DELETE' THEN
            -- Listed in its full backup's DELETE job above.
            action_taken := 'DELETE_QUEUED';
        ELSIF v_r.action = 'WOULD_EXPIRE' THEN
            PERFORM backup_mgmt._retention_expire(v_r.hk, v_r.expiration_date, v_r.retention_period, v_r.retention_policy,
                                                  NULL, 'backup_mgmt.cleanup_expired_backups');
            action_taken := 'EXPIRED';
        ELSE
            action_taken := v_r.action;
        END IF;
        backup_id := v_r.hk;
        backup_name := v_r.backup_bk;
        expiration_date := v_r.expiration_date;
        backup_size_bytes := v_r.backup_size_bytes;
        RETURN NEXT;
    END LOOP;

    -- Archived WAL is system-wide: only a system-wide run purges it.
    IF p_tenant_hk IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT coalesce(array_agg(decode(x.value->>'backup_hk', 'hex')), '{}') INTO v_kept
      FROM jsonb_array_elements(v_rows) AS x
     WHERE (x.value->>'present_full')::boolean AND x.value->>'action' LIKE 'KEEP\_%';
    FOR v_w IN SELECT * FROM backup_mgmt._retention_wal_plan(v_kept) LOOP
        backup_id := NULL;
        backup_name := format('WAL timeline %s before %s', v_w.timeline_id, v_w.before_segment);
        expiration_date := NULL;
        backup_size_bytes := v_w.stored_bytes;
        v_root := coalesce(v_w.repository_root, backup_mgmt._default_repository_root());
        IF v_w.job_id IS NOT NULL THEN
            action_taken := 'WAL_PURGE_PENDING';
        ELSIF v_root IS NULL THEN
            -- No repository is known to hold this WAL; nothing the agent could do.
            action_taken := 'WOULD_PURGE_WAL';
        ELSE
            INSERT INTO backup_mgmt.job (job_type, subject_hk, plan, priority, max_attempts, created_by)
            VALUES ('DELETE', backup_mgmt.hash_key('WAL_PURGE', v_w.system_identifier, v_w.timeline_id::text),
                    jsonb_build_object(
                        'kind', 'delete',
                        'version', 1,
                        'backup_hk', NULL,
                        'backup_bk', NULL,
                        'system_identifier', v_w.system_identifier,
                        'repository_root', v_root,
                        'repository_path', NULL,
                        'dependents', '[]'::jsonb,
                        'reason', format('WAL before the start of %s, the oldest full backup kept', v_w.oldest_kept_bk),
                        'wal_purge', jsonb_build_object(
                            'system_identifier', v_w.system_identifier,
                            'timeline', v_w.timeline_id,
                            'before_segment', v_w.before_segment,
                            'files', v_w.files,
                            'first_file', v_w.first_file,
                            'last_file', v_w.last_file)),
                    9, v_max_attempts, session_user)
            RETURNING job.job_id INTO v_job_id;
            PERFORM pg_notify('backup_mgmt_jobs', v_job_id::text);
            action_taken := 'WAL_PURGE_QUEUED';
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.cleanup_expired_backups(bytea, boolean) IS
'Applies the retention policy. POLICY: a backup goes only when no rule keeps it. KEEP_NOT_EXPIRED: before its expiration date = end date (UTC) + retention period (the producing schedule''s retention_period, else setting retention.period, else the backup''s own retention_period; a schedule''s max_backup_count expires its backups beyond the newest N early). KEEP_IN_USE: used by a queued/running VERIFY job or a pending/approved/running recovery or drill. KEEP_MIN_REDUNDANCY: the newest retention.min_redundancy (default 2) full backups of the cluster, verified ones first (then unverified, then failed ones make up the number), whatever their age; a schedule''s min_redundancy keeps that many of its own too. KEEP_RECOVERY_WINDOW: PITR stays possible for the last retention.recovery_window (default 7 days, widened by schedules): the newest verified full backup that ended before now - window and every completed backup that ended after it. KEEP_GFS_DAILY/WEEKLY/MONTHLY: the newest full backup of each of the last retention.keep_daily days, keep_weekly ISO weeks, keep_monthly months (UTC; 0 = off). KEEP_DEPENDENCY: a kept or still running backup depends on it (backup_dependency_l, transitively). KEEP_CHAIN: an incremental whose full backup is kept (incrementals go only together with or after their full). FAILED/CANCELLED/PARTIAL backups have no files: kept while not expired, then marked EXPIRED without a job. WAL: per timeline, archived WAL before the start segment of the oldest kept full backup (of that timeline, else of a later one) is purged; history files never. Tenants: p_tenant_hk NULL = system-wide backups; physical backups are system-wide, so a tenant matches none of them, and only a system-wide run purges WAL. p_dry_run true (default): one row per COMPLETED, FAILED, CANCELLED or PARTIAL backup, oldest first, with action_taken = the first KEEP_* rule, WOULD_DELETE, WOULD_EXPIRE or DELETE_PENDING, plus one row per timeline with purgeable WAL (backup_id NULL, WOULD_PURGE_WAL or WAL_PURGE_PENDING); cleanup_plan() adds every rule and the reason in words. p_dry_run false: WOULD_DELETE becomes DELETE_QUEUED (a DELETE job, priority 8, removes the backup directory; its incrementals are listed in the job and expire with it), WOULD_EXPIRE becomes EXPIRED at once, WOULD_PURGE_WAL becomes WAL_PURGE_QUEUED (a DELETE job, priority 9); complete_job marks them EXPIRED (history kept) with files_present false. expiration_date is the effective one. Serialised by an advisory lock; nothing is queued twice while jobs are pending. NULL p_dry_run: 22004; a caller bound to another tenant (or, for NULL, to any tenant): 42501. See sql/60-retention/README.md.';
