-- Catalog sync: one backup described by the repository's metadata file.

CREATE OR REPLACE FUNCTION backup_mgmt.import_repository_backup(
    p_meta jsonb,
    p_repository_root text,
    p_repository_path text
)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Idempotent. A backup the catalog lacks gets its hub, its three satellites
-- and its dependency link ('imported'); one the catalog knows in an older
-- version than the file (catalog_version) is brought up to the file's state
-- ('updated': e.g. verified or expired after the restored cluster's time);
-- otherwise nothing is written ('unchanged'). The location is where the
-- repository is now (p_repository_root / p_repository_path), not where it
-- was mounted when the file was written.
DECLARE
    v_hk bytea;
    v_bk text := p_meta->>'backup_bk';
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
    v_version timestamptz;
    v_known timestamptz;
    v_exists boolean;
    v_parent bytea;
    v_storage jsonb;
    v_not_descriptive text[] := ARRAY['backup_hk', 'backup_bk', 'load_date', 'load_end_date', 'hash_diff', 'record_source'];
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'import_repository_backup');
    PERFORM backup_mgmt._require_args(p_meta IS NULL OR p_repository_root IS NULL OR p_repository_path IS NULL, 'import_repository_backup', 'arguments');
    IF jsonb_typeof(p_meta) <> 'object' OR coalesce(p_meta->>'backup_hk', '') !~ '^[0-9a-f]{64}$'
       OR coalesce(v_bk, '') !~ '^[A-Z][A-Z_0-9]*_[0-9]{8}_[0-9]{6}(_[0-9]{6})?$'
       OR jsonb_typeof(p_meta->'satellites'->'execution') IS DISTINCT FROM 'object'
       OR jsonb_typeof(p_meta->'satellites'->'lsn') IS DISTINCT FROM 'object'
       OR jsonb_typeof(p_meta->'satellites'->'storage') IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'import_repository_backup: malformed backup metadata'
            USING ERRCODE = '22023', DETAIL = left(p_meta::text, 300),
                  HINT = 'Pass the content of a backup_mgmt.json file written by the agent.';
    END IF;
    v_hk := decode(p_meta->>'backup_hk', 'hex');
    IF v_hk <> backup_mgmt.hash_key(v_bk) THEN
        RAISE EXCEPTION 'import_repository_backup: backup_hk does not match backup_bk %', v_bk
            USING ERRCODE = '22023', HINT = 'The metadata file was altered.';
    END IF;
    IF p_meta->>'system_identifier' IS DISTINCT FROM v_sysid THEN
        RAISE EXCEPTION 'backup % belongs to system %, not to this cluster (%)', v_bk, p_meta->>'system_identifier', v_sysid
            USING ERRCODE = '22023', HINT = 'Sync a cluster only with the repository of its own system identifier.';
    END IF;
    BEGIN
        v_version := (p_meta->>'catalog_version')::timestamptz;
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'import_repository_backup: invalid catalog_version of %', v_bk USING ERRCODE = '22023', DETAIL = SQLERRM;
    END;

    SELECT true INTO v_exists FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_hk = v_hk;
    IF coalesce(v_exists, false) THEN
        SELECT greatest(c.load_date, l.load_date, st.load_date) INTO v_known
          FROM backup_mgmt.backup_execution_s AS c
          LEFT JOIN backup_mgmt.backup_lsn_s AS l ON l.backup_hk = c.backup_hk AND l.load_end_date IS NULL
          LEFT JOIN backup_mgmt.backup_storage_s AS st ON st.backup_hk = c.backup_hk AND st.load_end_date IS NULL
         WHERE c.backup_hk = v_hk AND c.load_end_date IS NULL;
        IF v_known IS NOT NULL AND v_version IS NOT NULL AND v_known >= v_version THEN
            RETURN 'unchanged';
        END IF;
    ELSE
        INSERT INTO backup_mgmt.backup_execution_h (backup_hk, backup_bk, tenant_hk, record_source)
        VALUES (v_hk, v_bk, NULL, 'backup_mgmt.catalog_sync');
    END IF;

    -- Keys and load metadata are the catalog's own, never the file's.
    v_storage := (p_meta->'satellites'->'storage') - v_not_descriptive
        || jsonb_build_object('repository_root', p_repository_root, 'repository_path', p_repository_path);
    PERFORM backup_mgmt.backup_execution_s_load(v_hk, (p_meta->'satellites'->'execution') - v_not_descriptive, 'backup_mgmt.catalog_sync');
    PERFORM backup_mgmt.backup_lsn_s_load(v_hk, (p_meta->'satellites'->'lsn') - v_not_descriptive, 'backup_mgmt.catalog_sync');
    PERFORM backup_mgmt.backup_storage_s_load(v_hk, v_storage, 'backup_mgmt.catalog_sync');

    IF p_meta->>'parent_bk' IS NOT NULL THEN
        SELECT h.backup_hk INTO v_parent FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_bk = p_meta->>'parent_bk';
        IF v_parent IS NOT NULL THEN
            INSERT INTO backup_mgmt.backup_dependency_l (link_backup_dependency_hk, source_backup_hk, dependent_backup_hk, tenant_hk, record_source)
            VALUES (backup_mgmt.hash_key(p_meta->>'parent_bk', v_bk), v_parent, v_hk, NULL, 'backup_mgmt.catalog_sync')
            ON CONFLICT DO NOTHING;
        END IF;
    END IF;
    RETURN CASE WHEN coalesce(v_exists, false) THEN 'updated' ELSE 'imported' END;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.import_repository_backup(jsonb, text, text) IS
'Catalog sync (disaster recovery): imports one backup from its repository metadata (see repository_metadata()) stored at p_repository_path under p_repository_root: ''imported'' (hub, satellites, dependency link on its parent), ''updated'' (the file is newer than the catalog''s current rows) or ''unchanged''. Malformed metadata or a backup_hk that is not the hash of backup_bk: 22023; a backup of another system: 22023; NULL: 22004.';
