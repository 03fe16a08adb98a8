-- Requests a physical full backup of the cluster (seed 001 signature).

CREATE OR REPLACE FUNCTION backup_mgmt.create_full_backup(
    p_tenant_hk bytea DEFAULT NULL,
    p_backup_location text DEFAULT NULL,
    p_storage_type varchar(50) DEFAULT 'LOCAL',
    p_compression_enabled boolean DEFAULT true,
    p_verify_backup boolean DEFAULT true
)
RETURNS TABLE (
    backup_id bytea,
    backup_status varchar(20),
    backup_size_bytes bigint,
    duration_seconds numeric,
    verification_status varchar(20),
    error_message text
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- A function cannot run pg_basebackup and cannot commit, so it validates,
-- records the request (hub, PENDING satellite version, BACKUP job with the
-- plan computed here), notifies the agents and returns PENDING. The agent does
-- the work; await_backup() waits for it. Requests are serialised and coalesced
-- onto an identical queued one (see the COMMENT).
DECLARE
    v_storage text;
    v_root text;
    v_location text;
    v_existing bytea;
    v_bk text;
    v_hk bytea;
    v_job_id bigint;
    v_plan jsonb;
    v_workers integer;
    v_max_attempts integer;
    v_retention text;
    v_now timestamptz := now();
BEGIN
    IF p_tenant_hk IS NOT NULL THEN
        RAISE EXCEPTION 'create_full_backup: a physical backup cannot be scoped to a tenant'
            USING ERRCODE = '0A000',
                  DETAIL = 'pg_basebackup copies the whole cluster: every database, every tenant.',
                  HINT = 'Pass p_tenant_hk => NULL for a system-wide backup; tenant-scoped (logical) backups are not available yet.';
    END IF;
    PERFORM backup_mgmt._require_tenant_access(NULL, 'create_full_backup');
    IF p_storage_type IS NULL OR p_compression_enabled IS NULL OR p_verify_backup IS NULL THEN
        RAISE EXCEPTION 'create_full_backup: p_storage_type, p_compression_enabled and p_verify_backup must not be NULL'
            USING ERRCODE = '22004', HINT = 'Leave them out to get the defaults (LOCAL, true, true).';
    END IF;
    -- LOCAL: the location names a repository (a sub-directory is only a
    -- label); S3: the agents' off-host repository (_resolve_storage).
    SELECT r.storage_type, r.repository_root, r.location INTO v_storage, v_root, v_location
      FROM backup_mgmt._resolve_storage(p_storage_type, p_backup_location, 'create_full_backup') AS r;

    -- (7346221, 1): the full-backup request lock, held to the end of the
    -- transaction so the next caller sees this request. Outside READ COMMITTED
    -- the caller's snapshot could hide it: refuse to wait there.
    IF current_setting('transaction_isolation') = 'read committed' THEN
        PERFORM pg_advisory_xact_lock(7346221, 1);
    ELSIF NOT pg_try_advisory_xact_lock(7346221, 1) THEN
        RAISE EXCEPTION 'create_full_backup: another full backup request is being recorded'
            USING ERRCODE = '40001', HINT = 'Retry the transaction, or call create_full_backup in READ COMMITTED.';
    END IF;

    -- Coalesce onto an identical request that is still queued.
    SELECT c.backup_hk INTO v_existing
      FROM backup_mgmt.backup_execution_current AS c
      JOIN backup_mgmt.job AS j ON j.subject_hk = c.backup_hk AND j.job_type = 'BACKUP' AND j.status = 'QUEUED'
     WHERE c.backup_status = 'PENDING' AND c.backup_type = 'FULL' AND c.backup_scope = 'SYSTEM'
       AND j.plan->>'kind' = 'full'
       AND j.plan->>'repository_root' = v_root
       AND (j.plan->'compression'->>'enabled')::boolean = p_compression_enabled
       AND (j.plan->>'verify')::boolean = p_verify_backup
     ORDER BY j.job_id
     LIMIT 1;
    IF FOUND THEN
        RETURN QUERY SELECT * FROM backup_mgmt._backup_status_row(v_existing);
        RETURN;
    END IF;

    v_bk := backup_mgmt.new_business_key('FULL_BACKUP_SYSTEM');
    v_hk := backup_mgmt.hash_key(v_bk);
    v_max_attempts := backup_mgmt.setting('job.max_attempts')::integer;
    v_retention := backup_mgmt.setting('backup.retention_period');
    -- zstd workers = the cores the agent reported (the newest live agent
    -- serving this repository, else any live one), at least 1.
    SELECT greatest(coalesce(CASE WHEN a.info->>'cpu_count' ~ '^[0-9]{1,4}$' THEN (a.info->>'cpu_count')::integer END, 1), 1)
      INTO v_workers
      FROM backup_mgmt.agent AS a
     WHERE a.stopped_at IS NULL AND a.heartbeat_at >= now() - backup_mgmt._agent_live_window()
     ORDER BY (a.repository_root = v_root) DESC, a.started_at DESC
     LIMIT 1;
    v_workers := coalesce(v_workers, 1);

    v_plan := jsonb_build_object(
        'kind', 'full',
        'backup_hk', encode(v_hk, 'hex'),
        'backup_bk', v_bk,
        'label', 'backup_mgmt ' || v_bk,
        'repository_root', v_root,
        'compression', CASE WHEN p_compression_enabled
                            THEN jsonb_build_object('enabled', true, 'method', 'server-zstd',
                                                    'level', backup_mgmt.setting('backup.compression_level')::integer,
                                                    'workers', v_workers)
                            ELSE jsonb_build_object('enabled', false, 'method', NULL, 'level', NULL, 'workers', NULL) END,
        'checkpoint', 'fast',
        'manifest_checksums', backup_mgmt.setting('backup.manifest_checksums'),
        'wal_method', 'fetch',
        'verify', p_verify_backup,
        'max_rate', backup_mgmt.setting('backup.max_rate'));

    INSERT INTO backup_mgmt.backup_execution_h (backup_hk, backup_bk, tenant_hk, record_source)
    VALUES (v_hk, v_bk, NULL, 'backup_mgmt.create_full_backup');

    INSERT INTO backup_mgmt.job (job_type, subject_hk, plan, priority, max_attempts, run_after, created_at, created_by)
    VALUES ('BACKUP', v_hk, v_plan, 5, v_max_attempts, v_now, v_now, session_user)
    RETURNING job_id INTO v_job_id;

    PERFORM backup_mgmt.backup_execution_s_load(v_hk, jsonb_build_object(
        'backup_type', 'FULL',
        'backup_scope', 'SYSTEM',
        'backup_method', 'PG_BASEBACKUP',
        'requested_at', v_now,
        'backup_start_time', v_now,
        'backup_status', 'PENDING',
        'backup_location', v_root,
        'storage_type', v_storage,
        'compression_algorithm', CASE WHEN p_compression_enabled THEN 'zstd' END,
        'retention_period', v_retention,
        'expiration_date', ((v_now AT TIME ZONE 'UTC') + v_retention::interval)::date,
        'verification_status', CASE WHEN p_verify_backup THEN 'PENDING' ELSE 'SKIPPED' END,
        'initiated_by', session_user,
        'changed_by', session_user,
        'retry_count', 0,
        'max_retries', v_max_attempts - 1,
        'backup_priority', 5,
        'additional_metadata', jsonb_build_object('job_id', v_job_id)
                               || CASE WHEN v_location <> v_root THEN jsonb_build_object('location', v_location) ELSE '{}' END),
        'backup_mgmt.create_full_backup');

    PERFORM pg_notify('backup_mgmt_jobs', v_job_id::text);
    RETURN QUERY SELECT * FROM backup_mgmt._backup_status_row(v_hk);
END;
$$;

COMMENT ON FUNCTION backup_mgmt.create_full_backup(bytea, text, varchar, boolean, boolean) IS
'Queues a physical full backup (pg_basebackup by the agent) and returns its row with status PENDING; backup_mgmt.await_backup() waits for the outcome. p_tenant_hk must be NULL (0A000: a physical backup cannot be tenant-scoped); p_storage_type LOCAL or S3 (S3: the off-host repository s3://bucket/prefix a live agent reported, 55000 with HINT BACKUP_MGMT_REPO_S3 when none did; p_backup_location must then be NULL or that location; 0A000 for GCS/AZURE/NFS, see _resolve_storage); p_backup_location names a repository: NULL = setting repository.root, else the newest live agent''s repository root (55000 if none is known); otherwise a directory inside a repository root (22023 if outside every root, inside a root''s <system identifier> directory or inside a stored backup, see validate_repository_path) means that root: the backup is stored under <root>/<system identifier>/backups/ beside the WAL, backup_location is the root and a sub-directory given is kept as additional_metadata.location. p_verify_backup false = verification_status SKIPPED. Concurrency: requests are serialised by a transaction-level advisory lock; if a full system backup with the same repository root, compression and verification options is already queued (PENDING, not started), its row is returned and nothing new is queued; if one is RUNNING, a new one is queued and starts after it (claim_job runs one backup at a time). Hence any number of concurrent identical calls leaves at most one backup running and one pending, every caller gets a row, nothing is duplicated. The lock is held until the caller commits; call it in READ COMMITTED (the default): in REPEATABLE READ or SERIALIZABLE a request that would have to wait for another gets SQLSTATE 40001 (retry).';
