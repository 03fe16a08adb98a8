-- The dry run of retention, with the reason for every decision.

CREATE OR REPLACE FUNCTION backup_mgmt.cleanup_plan(p_tenant_hk bytea DEFAULT NULL)
RETURNS TABLE (
    backup_id bytea,
    backup_name varchar(255),
    backup_type varchar(50),
    backup_status varchar(20),
    verification_status varchar(20),
    end_time timestamptz,
    expiration_date date,
    backup_size_bytes bigint,
    action varchar(50),
    keep_rules text[],
    reason text,
    job_id bigint
)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
-- One row per backup retention looks at (_retention_plan), oldest first,
-- then for a system-wide plan one row per timeline whose archived WAL no
-- kept backup needs (backup_id NULL, backup_type 'WAL'). Writes nothing.
DECLARE
    v_kept bytea[];
    v_p record;
BEGIN
    IF octet_length(p_tenant_hk) <> 32 THEN
        RAISE EXCEPTION 'cleanup_plan: % is not a tenant hash key', encode(p_tenant_hk, 'hex')
            USING ERRCODE = '22023', HINT = 'A tenant hash key is 32 bytes (backup_mgmt.hash_key(<tenant>)); NULL = system-wide.';
    END IF;
    PERFORM backup_mgmt._require_tenant_access(p_tenant_hk, 'cleanup_plan');
    -- One run of the plan, collecting the full backups that stay as it goes:
    -- on a large catalog a run takes seconds.
    v_kept := '{}';
    FOR v_p IN SELECT * FROM backup_mgmt._retention_plan(p_tenant_hk) LOOP
        backup_id := v_p.backup_hk;
        backup_name := v_p.backup_bk;
        backup_type := v_p.backup_type;
        backup_status := v_p.backup_status;
        verification_status := v_p.verification_status;
        end_time := v_p.end_time;
        expiration_date := v_p.expiration_date;
        backup_size_bytes := v_p.backup_size_bytes;
        action := v_p.action;
        keep_rules := v_p.keep_rules;
        reason := v_p.reason;
        job_id := v_p.job_id;
        RETURN NEXT;
        IF v_p.present_full AND v_p.action LIKE 'KEEP\_%' THEN
            v_kept := v_kept || v_p.backup_hk;
        END IF;
    END LOOP;
    IF p_tenant_hk IS NOT NULL THEN
        RETURN;
    END IF;

    RETURN QUERY
        SELECT NULL::bytea,
               format('WAL timeline %s before %s', w.timeline_id, w.before_segment)::varchar(255),
               'WAL'::varchar(50), NULL::varchar(20), NULL::varchar(20), NULL::timestamptz, NULL::date, w.stored_bytes,
               (CASE WHEN w.job_id IS NOT NULL THEN 'WAL_PURGE_PENDING' ELSE 'WOULD_PURGE_WAL' END)::varchar(50),
               '{}'::text[],
               format('%s archived WAL file(s) of system %s, %s .. %s: before the start of %s, the oldest full backup kept on %s',
                      w.files, w.system_identifier, w.first_file, w.last_file, w.oldest_kept_bk,
                      CASE WHEN left(w.before_segment, 8) = left(w.first_file, 8) THEN 'this timeline' ELSE 'a later timeline' END)
               || CASE WHEN w.job_id IS NOT NULL THEN format('; DELETE job %s is purging WAL of this timeline', w.job_id) ELSE '' END,
               w.job_id
          FROM backup_mgmt._retention_wal_plan(v_kept) AS w;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.cleanup_plan(bytea) IS
'Dry run of the retention policy (sql/60-retention/README.md) for a tenant (NULL = system-wide; physical backups are system-wide, so a tenant matches none of them): one row per COMPLETED, FAILED, CANCELLED or PARTIAL backup, oldest first, with its expiration_date (end date + retention period), action (KEEP_NOT_EXPIRED, KEEP_IN_USE, KEEP_MIN_REDUNDANCY, KEEP_RECOVERY_WINDOW, KEEP_GFS_DAILY, KEEP_GFS_WEEKLY, KEEP_GFS_MONTHLY, KEEP_DEPENDENCY, KEEP_CHAIN: the first rule that keeps it; keep_rules lists all; WOULD_DELETE: a DELETE job would remove its files (an incremental: together with its full backup); WOULD_EXPIRE: marked EXPIRED without a job, it has no files of its own; DELETE_PENDING: a DELETE job is queued or running), the reason in words and the pending job; then, system-wide, one row per timeline whose archived WAL no kept backup needs (backup_id NULL, backup_type WAL, backup_size_bytes = stored bytes, action WOULD_PURGE_WAL or WAL_PURGE_PENDING). Writes nothing. A caller bound to another tenant (or, for NULL, to any tenant): 42501.';
