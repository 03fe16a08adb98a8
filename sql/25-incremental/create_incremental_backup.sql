-- Requests an incremental backup on the latest valid chain (seed 001 signature).

CREATE OR REPLACE FUNCTION backup_mgmt.create_incremental_backup(
    p_tenant_hk bytea DEFAULT NULL,
    p_base_backup_hk bytea DEFAULT NULL,
    p_backup_location text DEFAULT NULL
)
RETURNS TABLE (
    backup_id bytea,
    backup_status varchar(20),
    backup_size_bytes bigint,
    base_backup_id bytea,
    changes_captured bigint
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- On PostgreSQL < 17 an incremental is a proven WAL range (method
-- WAL_ARCHIVE): the agent switches the WAL segment, waits until it is
-- archived and checks every segment from the chain's full backup's start to
-- it. Here: choose the parent (the given base, else the newest verified full
-- backup of this cluster or its newest verified incremental), record hub,
-- PENDING satellite version, the backup_dependency_l link (parent -> new) and
-- a BACKUP job with plan kind incremental; notify; return PENDING. Requests
-- are serialised; an identical one still queued is returned instead of a
-- second (as create_full_backup does).
DECLARE
    v_root text;
    v_location text;
    v_chain_root text;
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
    v_timeline integer;
    v_parent bytea;
    v_full bytea;
    v_par record;
    v_chain_full record;
    v_bad record;
    v_existing bytea;
    v_bk text;
    v_hk bytea;
    v_plan jsonb;
    v_job_id bigint;
    v_max_attempts integer;
    v_retention text;
    v_now timestamptz := now();
BEGIN
    IF p_tenant_hk IS NOT NULL THEN
        RAISE EXCEPTION 'create_incremental_backup: a physical backup cannot be scoped to a tenant'
            USING ERRCODE = '0A000',
                  DETAIL = 'An incremental backup is a range of the cluster''s WAL: every database, every tenant.',
                  HINT = 'Pass p_tenant_hk => NULL for a system-wide backup; tenant-scoped (logical) backups are not available yet.';
    END IF;
    PERFORM backup_mgmt._require_tenant_access(NULL, 'create_incremental_backup');
    -- The location names a repository; a sub-directory is only a label.
    SELECT r.repository_root, r.location INTO v_root, v_location
      FROM backup_mgmt._resolve_repository(p_backup_location, 'create_incremental_backup') AS r;
    -- The timeline WAL is written to now.
    v_timeline := ('x' || lpad(left(pg_walfile_name(pg_current_wal_lsn()), 8), 16, '0'))::bit(64)::bigint::integer;

    -- (7346223, 1): the incremental request lock (see create_full_backup).
    IF current_setting('transaction_isolation') = 'read committed' THEN
        PERFORM pg_advisory_xact_lock(7346223, 1);
    ELSIF NOT pg_try_advisory_xact_lock(7346223, 1) THEN
        RAISE EXCEPTION 'create_incremental_backup: another incremental backup request is being recorded'
            USING ERRCODE = '40001', HINT = 'Retry the transaction, or call create_incremental_backup in READ COMMITTED.';
    END IF;

    IF p_base_backup_hk IS NOT NULL THEN
        v_parent := p_base_backup_hk;
    ELSE
        -- The latest valid chain: the newest verified full backup, then its
        -- newest verified incremental descendant if it has one.
        SELECT c.backup_hk INTO v_full
          FROM backup_mgmt.backup_execution_current AS c
          JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = c.backup_hk
          LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
         WHERE c.backup_type = 'FULL' AND c.backup_status = 'COMPLETED' AND c.verification_status = 'VERIFIED'
           AND st.files_present IS NOT FALSE AND l.system_identifier = v_sysid AND l.stop_lsn IS NOT NULL
         ORDER BY l.stop_lsn DESC, c.backup_end_time DESC NULLS LAST, c.backup_bk DESC
         LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'create_incremental_backup: no valid base backup: this cluster has no COMPLETED and VERIFIED full backup'
                USING ERRCODE = '55000',
                      DETAIL = 'An incremental backup extends a chain that starts with a verified full backup.',
                      HINT = 'take a full backup first: SELECT * FROM backup_mgmt.create_full_backup()';
        END IF;
        WITH RECURSIVE d (hk) AS (
            SELECT l.dependent_backup_hk FROM backup_mgmt.backup_dependency_l AS l WHERE l.source_backup_hk = v_full
            UNION
            SELECT l.dependent_backup_hk FROM backup_mgmt.backup_dependency_l AS l JOIN d ON l.source_backup_hk = d.hk
        )
        SELECT c.backup_hk INTO v_parent
          FROM d
          JOIN backup_mgmt.backup_execution_current AS c ON c.backup_hk = d.hk
          JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = d.hk
         WHERE c.backup_type = 'INCREMENTAL' AND c.backup_status = 'COMPLETED' AND c.verification_status = 'VERIFIED'
           AND l.stop_lsn IS NOT NULL
         ORDER BY l.stop_lsn DESC, c.backup_bk DESC
         LIMIT 1;
        v_parent := coalesce(v_parent, v_full);
    END IF;

    -- The parent and every backup of its chain must be sound.
    SELECT c.backup_hk, c.backup_bk, c.backup_type, c.backup_status, c.verification_status, st.files_present,
           l.system_identifier, l.timeline_id, l.start_lsn, l.stop_lsn
      INTO v_par
      FROM backup_mgmt.backup_execution_current AS c
      LEFT JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = c.backup_hk
      LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
     WHERE c.backup_hk = v_parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'create_incremental_backup: no backup with id %', encode(v_parent, 'hex')
            USING ERRCODE = 'P0002', HINT = 'List backups with SELECT * FROM backup_mgmt.backup_list.';
    END IF;
    IF v_par.backup_type NOT IN ('FULL', 'INCREMENTAL') THEN
        RAISE EXCEPTION 'create_incremental_backup: backup % is an % backup and cannot be a base', v_par.backup_bk, v_par.backup_type
            USING ERRCODE = '22023', HINT = 'Give a full or incremental backup of this cluster.';
    END IF;
    IF v_par.backup_status <> 'COMPLETED' OR v_par.verification_status IS DISTINCT FROM 'VERIFIED' THEN
        RAISE EXCEPTION 'create_incremental_backup: base backup % is % (verification %), not a valid base', v_par.backup_bk, v_par.backup_status, coalesce(v_par.verification_status, 'none')
            USING ERRCODE = '55000',
                  HINT = 'A base must be COMPLETED and VERIFIED; leave p_base_backup_hk NULL to use the latest valid chain.';
    END IF;
    IF v_par.system_identifier IS DISTINCT FROM v_sysid THEN
        RAISE EXCEPTION 'create_incremental_backup: backup % belongs to system %, not to this cluster (%)', v_par.backup_bk, coalesce(v_par.system_identifier, 'unknown'), v_sysid
            USING ERRCODE = '22023', HINT = 'An incremental extends a chain of the cluster it is taken from.';
    END IF;
    IF v_par.stop_lsn IS NULL OR v_par.timeline_id IS NULL THEN
        RAISE EXCEPTION 'create_incremental_backup: backup % has no recorded WAL position', v_par.backup_bk
            USING ERRCODE = '55000', HINT = 'take a full backup first: SELECT * FROM backup_mgmt.create_full_backup()';
    END IF;
    IF v_par.timeline_id <> v_timeline THEN
        RAISE EXCEPTION 'create_incremental_backup: base backup % is on timeline %, the cluster is on timeline % now', v_par.backup_bk, v_par.timeline_id, v_timeline
            USING ERRCODE = '55000', DETAIL = 'A WAL range cannot cross a timeline switch.',
                  HINT = 'take a full backup first: SELECT * FROM backup_mgmt.create_full_backup()';
    END IF;

    v_full := backup_mgmt._backup_chain_full(v_parent);
    SELECT c.backup_hk, c.backup_bk, c.backup_type, c.backup_status, c.verification_status, st.files_present,
           l.start_lsn, l.timeline_id
      INTO v_chain_full
      FROM backup_mgmt.backup_execution_current AS c
      LEFT JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = c.backup_hk
      LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
     WHERE c.backup_hk = v_full;
    IF v_chain_full.backup_type IS DISTINCT FROM 'FULL' OR v_chain_full.backup_status IS DISTINCT FROM 'COMPLETED'
       OR v_chain_full.verification_status IS DISTINCT FROM 'VERIFIED' OR v_chain_full.files_present IS FALSE
       OR v_chain_full.start_lsn IS NULL OR v_chain_full.timeline_id IS DISTINCT FROM v_timeline THEN
        RAISE EXCEPTION 'create_incremental_backup: the chain of backup % does not start with a usable full backup', v_par.backup_bk
            USING ERRCODE = '55000',
                  DETAIL = format('Its root is %s (%s %s, verification %s%s).', coalesce(v_chain_full.backup_bk, encode(v_full, 'hex')),
                                  coalesce(v_chain_full.backup_type, '?'), coalesce(v_chain_full.backup_status, '?'),
                                  coalesce(v_chain_full.verification_status, 'none'),
                                  CASE WHEN v_chain_full.files_present IS FALSE THEN ', files removed' ELSE '' END),
                  HINT = 'take a full backup first: SELECT * FROM backup_mgmt.create_full_backup()';
    END IF;
    -- An incremental is WAL of its chain: it must name the repository its
    -- chain's full backup is stored in, not another one.
    SELECT st.repository_root INTO v_chain_root
      FROM backup_mgmt.backup_storage_current AS st WHERE st.backup_hk = v_full;
    -- A chain whose full backup lives in the off-host repository continues there.
    IF p_backup_location IS NULL AND starts_with(v_chain_root, 's3://') THEN
        v_root := v_chain_root;
        v_location := v_chain_root;
    END IF;
    IF p_backup_location IS NOT NULL AND v_chain_root IS NOT NULL AND v_chain_root <> v_root THEN
        RAISE EXCEPTION 'create_incremental_backup: backup location % names repository %, but the chain of backup % is stored in repository %',
                        quote_literal(v_location), quote_literal(v_root), v_par.backup_bk, quote_literal(v_chain_root)
            USING ERRCODE = '22023',
                  DETAIL = 'An incremental is a range of the WAL its chain''s full backup needs; both stay in one repository.',
                  HINT = 'Pass NULL or a location inside ' || quote_literal(v_chain_root) || ', or take a full backup in the other repository first.';
    END IF;
    -- Every incremental between the full backup and the parent.
    WITH RECURSIVE up (hk) AS (
        SELECT v_parent
        UNION
        SELECT l.source_backup_hk FROM backup_mgmt.backup_dependency_l AS l JOIN up ON l.dependent_backup_hk = up.hk
    )
    SELECT c.backup_bk, c.backup_status, c.verification_status INTO v_bad
      FROM up JOIN backup_mgmt.backup_execution_current AS c ON c.backup_hk = up.hk
     WHERE c.backup_status <> 'COMPLETED' OR c.verification_status IS DISTINCT FROM 'VERIFIED'
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'create_incremental_backup: the chain of backup % contains backup %, which is % (verification %)', v_par.backup_bk, v_bad.backup_bk, v_bad.backup_status, coalesce(v_bad.verification_status, 'none')
            USING ERRCODE = '55000', HINT = 'Leave p_base_backup_hk NULL to use the latest valid chain, or take a full backup.';
    END IF;

    -- Coalesce onto an identical request that is still queued.
    SELECT c.backup_hk INTO v_existing
      FROM backup_mgmt.backup_execution_current AS c
      JOIN backup_mgmt.job AS j ON j.subject_hk = c.backup_hk AND j.job_type = 'BACKUP' AND j.status = 'QUEUED'
     WHERE c.backup_status = 'PENDING' AND c.backup_type = 'INCREMENTAL'
       AND j.plan->>'kind' = 'incremental'
       AND j.plan->>'parent_backup_hk' = encode(v_parent, 'hex')
       AND j.plan->>'repository_root' = v_root
     ORDER BY j.job_id
     LIMIT 1;
    IF FOUND THEN
        RETURN QUERY SELECT * FROM backup_mgmt._incremental_status_row(v_existing);
        RETURN;
    END IF;

    v_bk := backup_mgmt.new_business_key('INCREMENTAL_BACKUP_SYSTEM');
    v_hk := backup_mgmt.hash_key(v_bk);
    v_max_attempts := backup_mgmt.setting('job.max_attempts')::integer;
    v_retention := backup_mgmt.setting('backup.retention_period');

    -- method WAL_ARCHIVE on PostgreSQL < 17. PG_BASEBACKUP_INCREMENTAL
    -- (pg_basebackup --incremental against the parent's manifest) is the
    -- reserved value for block-level incrementals on >= 17.
    v_plan := jsonb_build_object(
        'kind', 'incremental',
        'method', 'WAL_ARCHIVE',
        'backup_hk', encode(v_hk, 'hex'),
        'backup_bk', v_bk,
        'label', 'backup_mgmt ' || v_bk,
        'parent_backup_hk', encode(v_parent, 'hex'),
        'parent_backup_bk', v_par.backup_bk,
        'chain_full_backup_hk', encode(v_full, 'hex'),
        'chain_full_backup_bk', v_chain_full.backup_bk,
        'chain_start_lsn', v_chain_full.start_lsn::text,
        'range_start_lsn', v_par.stop_lsn::text,
        'timeline_id', v_timeline,
        'system_identifier', v_sysid,
        'repository_root', v_root,
        'wal_segment_size', pg_size_bytes(current_setting('wal_segment_size')),
        'verify', true);

    INSERT INTO backup_mgmt.backup_execution_h (backup_hk, backup_bk, tenant_hk, record_source)
    VALUES (v_hk, v_bk, NULL, 'backup_mgmt.create_incremental_backup');

    INSERT INTO backup_mgmt.job (job_type, subject_hk, plan, priority, max_attempts, run_after, created_at, created_by)
    VALUES ('BACKUP', v_hk, v_plan, 5, v_max_attempts, v_now, v_now, session_user)
    RETURNING job_id INTO v_job_id;

    PERFORM backup_mgmt.backup_execution_s_load(v_hk, jsonb_build_object(
        'backup_type', 'INCREMENTAL',
        'backup_scope', 'SYSTEM',
        'backup_method', 'WAL_ARCHIVE',
        'requested_at', v_now,
        'backup_start_time', v_now,
        'backup_status', 'PENDING',
        'backup_location', v_root,
        'storage_type', CASE WHEN starts_with(v_root, 's3://') THEN 'S3' ELSE 'LOCAL' END,
        'retention_period', v_retention,
        'expiration_date', ((v_now AT TIME ZONE 'UTC') + v_retention::interval)::date,
        'verification_status', 'PENDING',
        'initiated_by', session_user,
        'changed_by', session_user,
        'retry_count', 0,
        'max_retries', v_max_attempts - 1,
        'backup_priority', 5,
        'additional_metadata', jsonb_build_object('job_id', v_job_id, 'parent_backup_bk', v_par.backup_bk,
                                                  'chain_full_backup_bk', v_chain_full.backup_bk)
                               || CASE WHEN v_location <> v_root THEN jsonb_build_object('location', v_location) ELSE '{}' END),
        'backup_mgmt.create_incremental_backup');

    INSERT INTO backup_mgmt.backup_dependency_l (link_backup_dependency_hk, source_backup_hk, dependent_backup_hk, tenant_hk, record_source)
    VALUES (backup_mgmt.hash_key(v_par.backup_bk, v_bk), v_parent, v_hk, NULL, 'backup_mgmt.create_incremental_backup');

    PERFORM pg_notify('backup_mgmt_jobs', v_job_id::text);
    RETURN QUERY SELECT * FROM backup_mgmt._incremental_status_row(v_hk);
END;
$$;

COMMENT ON FUNCTION backup_mgmt.create_incremental_backup(bytea, bytea, text) IS
'Queues an incremental backup and returns (backup_id, backup_status PENDING, backup_size_bytes, base_backup_id = the parent, changes_captured). On PostgreSQL < 17 it is a WAL-range backup (method WAL_ARCHIVE): the agent switches the WAL segment, waits until it is archived, proves every segment from the chain''s full backup''s start segment to it present and intact, and reports the range; backup_size_bytes = changes_captured = WAL bytes from the parent''s stop LSN to the switch. Parent: p_base_backup_hk (a COMPLETED and VERIFIED full or incremental backup of this cluster on the current timeline, whose chain is sound: 55000 otherwise, P0002 if unknown), else the newest verified full backup or its newest verified incremental. No valid base: 55000 with the hint to take a full backup first. p_tenant_hk must be NULL (0A000); p_backup_location names a repository (see create_full_backup): NULL = the repository of the chain''s full backup when that is the off-host repository (s3://…, storage type S3: the agent stores the range''s WAL there), else the default repository, else the repository root the directory lies in (22023 outside every root, and 22023 if that is not the repository the chain''s full backup is stored in); a sub-directory is kept as additional_metadata.location. Writes the backup_dependency_l link parent -> new. Concurrent identical calls coalesce onto the one still queued.';
