-- What the repository must say about itself: the catalog's view of every
-- backup stored under one repository root, and the cluster's restore points.

CREATE OR REPLACE FUNCTION backup_mgmt.repository_metadata(
    p_repository_root text,
    p_system_identifier text,
    p_backup_bk text DEFAULT NULL,
    p_backups boolean DEFAULT true
)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- The agent writes one metadata file per backup from this (and rewrites it
-- whenever catalog_version moved), so that a lost catalog can be rebuilt and
-- a recovery planned from the repository alone. satellites carries the
-- current rows' descriptive columns exactly as the loaders take them back.
DECLARE
    v_backups jsonb;
    v_points jsonb;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'repository_metadata');
    PERFORM backup_mgmt._require_args(p_repository_root IS NULL OR p_system_identifier IS NULL, 'repository_metadata', 'p_repository_root and p_system_identifier', 'Pass the agent''s repository root and the cluster''s system identifier.');
    IF p_system_identifier !~ '^[0-9]{1,20}$' THEN
        RAISE EXCEPTION 'repository_metadata: invalid system identifier %', quote_literal(p_system_identifier)
            USING ERRCODE = '22023', DETAIL = 'A system identifier is a decimal number of at most 20 digits.';
    END IF;

    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'backup_hk', encode(h.backup_hk, 'hex'),
               'backup_bk', h.backup_bk,
               'type', c.backup_type,
               'status', c.backup_status,
               'parent_bk', par.backup_bk,
               'system_identifier', l.system_identifier,
               'pg_version', l.pg_version,
               'pg_version_num', l.pg_version_num,
               'timeline', l.timeline_id,
               'start_lsn', l.start_lsn::text,
               'stop_lsn', l.stop_lsn::text,
               'start_time', backup_mgmt._iso_time(c.backup_start_time),
               'end_time', backup_mgmt._iso_time(c.backup_end_time),
               'stop_time', backup_mgmt._iso_time(coalesce(l.stop_time, c.backup_end_time)),
               'next_xid', l.next_xid,
               'files', st.stored_files,
               'files_present', st.files_present,
               'compression', c.compression_algorithm,
               'verification', jsonb_build_object('status', c.verification_status,
                                                  'time', backup_mgmt._iso_time(c.verification_date),
                                                  'detail', c.verification_detail),
               'repository_path', st.repository_path,
               'catalog_version', backup_mgmt._iso_time(greatest(c.load_date, l.load_date, st.load_date)),
               'satellites', jsonb_build_object(
                   'execution', to_jsonb(c) - ARRAY['backup_hk', 'backup_bk', 'load_date', 'load_end_date', 'hash_diff', 'record_source'],
                   'lsn', to_jsonb(l) - ARRAY['backup_hk', 'load_date', 'load_end_date', 'hash_diff', 'record_source'],
                   'storage', to_jsonb(st) - ARRAY['backup_hk', 'load_date', 'load_end_date', 'hash_diff', 'record_source']))
             ORDER BY c.backup_start_time, h.backup_bk), '[]'::jsonb)
      INTO v_backups
      FROM backup_mgmt.backup_storage_s AS st
      JOIN backup_mgmt.backup_execution_h AS h ON h.backup_hk = st.backup_hk
      JOIN backup_mgmt.backup_execution_s AS c ON c.backup_hk = st.backup_hk AND c.load_end_date IS NULL
      JOIN backup_mgmt.backup_lsn_s AS l ON l.backup_hk = st.backup_hk AND l.load_end_date IS NULL
      LEFT JOIN LATERAL (
          SELECT ph.backup_bk FROM backup_mgmt.backup_dependency_l AS d
            JOIN backup_mgmt.backup_execution_h AS ph ON ph.backup_hk = d.source_backup_hk
           WHERE d.dependent_backup_hk = st.backup_hk
           LIMIT 1) AS par ON true
     WHERE st.load_end_date IS NULL
       AND st.repository_root = p_repository_root
       AND st.repository_path IS NOT NULL
       AND l.system_identifier = p_system_identifier
       AND p_backups AND (p_backup_bk IS NULL OR h.backup_bk = p_backup_bk);

    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'name', r.name, 'lsn', r.lsn::text, 'timeline', r.timeline,
               'system_identifier', r.system_identifier,
               'time', backup_mgmt._iso_time(r.created_at), 'created_by', r.created_by)
             ORDER BY r.lsn, r.name), '[]'::jsonb)
      INTO v_points
      FROM backup_mgmt.restore_point AS r
     WHERE r.system_identifier = p_system_identifier;

    RETURN jsonb_build_object('backups', v_backups, 'restore_points', v_points,
                              'wal_segment_size', pg_size_bytes(current_setting('wal_segment_size')));
END;
$$;

COMMENT ON FUNCTION backup_mgmt.repository_metadata(text, text, text, boolean) IS
'Agent protocol (disaster recovery): {backups: [{backup_hk, backup_bk, type, status, parent_bk, system_identifier, pg_version, pg_version_num, timeline, start_lsn, stop_lsn, start_time, end_time, stop_time, next_xid, files, files_present, compression, verification {status, time, detail}, repository_path, catalog_version, satellites {execution, lsn, storage}}], restore_points: [{name, lsn, timeline, system_identifier, time, created_by}], wal_segment_size} for the backups stored under p_repository_root of system p_system_identifier (only the backup p_backup_bk when given; none when p_backups is false). The agent mirrors it into the repository''s metadata files; catalog sync reads those back with import_repository_backup(). NULL argument: 22004; bad system identifier: 22023.';
