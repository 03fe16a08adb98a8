-- Catalog sync: the restore from the repository alone becomes a recovery row.

CREATE OR REPLACE FUNCTION backup_mgmt.record_disaster_recovery(p_record jsonb)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Idempotent by the recovery key the restore chose. The recovery ran with no
-- catalog, so its row is written afterwards, COMPLETED, with the offline plan
-- and a link to its base backup (when the catalog knows it).
DECLARE
    v_bk text := p_record->>'recovery_bk';
    v_hk bytea;
    v_base bytea;
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'record_disaster_recovery');
    IF p_record IS NULL THEN
        RAISE EXCEPTION 'record_disaster_recovery: p_record must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF coalesce(v_bk, '') !~ '^RECOVERY_DISASTER_[0-9]{8}_[0-9]{6}(_[0-9]{6})?$'
       OR p_record->>'target_kind' NOT IN ('time', 'xid', 'lsn', 'name', 'immediate', 'latest')
       OR jsonb_typeof(p_record->'plan') IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'record_disaster_recovery: malformed record' USING ERRCODE = '22023', DETAIL = left(p_record::text, 300);
    END IF;
    IF p_record->>'system_identifier' IS DISTINCT FROM v_sysid THEN
        RAISE EXCEPTION 'recovery % restored system %, not this cluster (%)', v_bk, p_record->>'system_identifier', v_sysid
            USING ERRCODE = '22023';
    END IF;
    v_hk := backup_mgmt.hash_key(v_bk);
    IF EXISTS (SELECT 1 FROM backup_mgmt.recovery_operation_h AS h WHERE h.recovery_hk = v_hk) THEN
        RETURN 'unchanged';
    END IF;
    SELECT h.backup_hk INTO v_base FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_bk = p_record->'plan'->'base'->>'backup_bk';

    INSERT INTO backup_mgmt.recovery_operation_h (recovery_hk, recovery_bk, tenant_hk, record_source)
    VALUES (v_hk, v_bk, NULL, 'backup_mgmt.catalog_sync');
    PERFORM backup_mgmt.recovery_operation_s_load(v_hk, jsonb_build_object(
        'recovery_type', CASE WHEN p_record->>'target_kind' IN ('latest', 'immediate') THEN 'FULL_RESTORE' ELSE 'POINT_IN_TIME' END,
        'source_backup_hk', CASE WHEN v_base IS NOT NULL THEN '\x' || encode(v_base, 'hex') END,
        'target_point_in_time', CASE WHEN p_record->>'target_kind' = 'time' THEN p_record->>'target_value' END,
        'recovery_target', 'disaster recovery from the repository',
        'target_kind', p_record->>'target_kind',
        'target_value', p_record->>'target_value',
        'target_lsn', p_record->'plan'->'target'->>'lsn',
        'target_inclusive', true,
        'recovery_start_time', p_record->>'started_at',
        'recovery_end_time', p_record->>'finished_at',
        'recovery_duration_seconds', p_record->'duration_seconds',
        'recovery_status', 'COMPLETED',
        'restore_directory', p_record->>'data_directory',
        'is_drill', false,
        'initiated_by', coalesce(p_record->>'initiated_by', 'backup-mgmt restore --repo'),
        'changed_by', session_user,
        'approval_required', false,
        'recovery_reason', 'disaster recovery: restored from the repository with no catalog',
        'plan', p_record->'plan'), 'backup_mgmt.catalog_sync');
    IF v_base IS NOT NULL THEN
        INSERT INTO backup_mgmt.recovery_backup_l (link_recovery_backup_hk, recovery_hk, backup_hk, tenant_hk, record_source)
        VALUES (backup_mgmt.hash_key(v_bk, p_record->'plan'->'base'->>'backup_bk'), v_hk, v_base, NULL, 'backup_mgmt.catalog_sync')
        ON CONFLICT (link_recovery_backup_hk) DO NOTHING;
    END IF;
    RETURN 'imported';
END;
$$;

COMMENT ON FUNCTION backup_mgmt.record_disaster_recovery(jsonb) IS
'Catalog sync (disaster recovery): records a restore made by backup-mgmt restore --repo (the record it left in the repository: recovery_bk RECOVERY_DISASTER_*, system_identifier, target_kind, target_value, plan, started_at, finished_at, duration_seconds, data_directory) as a COMPLETED recovery linked to its base backup; ''imported'' or ''unchanged''. Malformed: 22023; another system: 22023.';
