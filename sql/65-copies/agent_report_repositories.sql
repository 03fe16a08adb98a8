-- An agent says which repositories it keeps backups in.

CREATE OR REPLACE FUNCTION backup_mgmt.agent_report_repositories(p_agent_id text, p_repositories jsonb)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- p_repositories = [{name, storage_type, location, encryption: null |
-- {format, fingerprints: [...]}}]: 'local' (LOCAL, an absolute directory)
-- and 's3' (S3, s3://bucket/prefix, encrypted). Locations are whitelisted so
-- that nothing but a path or a bucket/prefix can be stored (no credential,
-- no endpoint); keys appear only as fingerprints. A repository not in the
-- list is left as it was (another agent, or one configured before).
-- Returns how many repositories changed.
DECLARE
    v_item jsonb;
    v_name text;
    v_type text;
    v_location text;
    v_fps text[];
    v_format text;
    v_hk bytea;
    v_count integer := 0;
BEGIN
    PERFORM backup_mgmt._copy_require_agent(p_agent_id, 'agent_report_repositories');
    IF p_repositories IS NULL OR jsonb_typeof(p_repositories) <> 'array' THEN
        RAISE EXCEPTION 'agent_report_repositories: p_repositories must be a JSON array'
            USING ERRCODE = '22023', HINT = '[{"name": "s3", "storage_type": "S3", "location": "s3://bucket/prefix", "encryption": {"format": "age-v1", "fingerprints": ["age-x25519:…"]}}]';
    END IF;
    FOR v_item IN SELECT e.value FROM jsonb_array_elements(p_repositories) AS e LOOP
        v_name := v_item->>'name';
        v_type := v_item->>'storage_type';
        v_location := v_item->>'location';
        IF NOT ((v_name = 'local' AND v_type = 'LOCAL') OR (v_name = 's3' AND v_type = 'S3')) THEN
            RAISE EXCEPTION 'agent_report_repositories: a repository is local (LOCAL) or s3 (S3), not % (%)',
                coalesce(quote_literal(v_name), 'NULL'), coalesce(quote_literal(v_type), 'NULL')
                USING ERRCODE = '22023';
        END IF;
        IF v_location IS NULL
           OR (v_type = 'LOCAL' AND (v_location !~ '^/[A-Za-z0-9._/+@-]*$' OR v_location ~ '(^|/)\.\.(/|$)'))
           OR (v_type = 'S3' AND v_location !~ '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._/-]*)?$') THEN
            RAISE EXCEPTION 'agent_report_repositories: location of % must be %', v_name,
                CASE v_type WHEN 'LOCAL' THEN 'an absolute directory' ELSE 's3://bucket/prefix (letters, digits, . _ - /)' END
                USING ERRCODE = '22023', DETAIL = left(coalesce(v_location, 'NULL'), 200);
        END IF;
        v_format := NULL;
        v_fps := NULL;
        IF jsonb_typeof(v_item->'encryption') = 'object' THEN
            v_format := v_item->'encryption'->>'format';
            IF v_format IS DISTINCT FROM 'age-v1' OR jsonb_typeof(v_item->'encryption'->'fingerprints') IS DISTINCT FROM 'array'
               OR jsonb_array_length(v_item->'encryption'->'fingerprints') = 0
               OR EXISTS (SELECT 1 FROM jsonb_array_elements(v_item->'encryption'->'fingerprints') AS f
                           WHERE jsonb_typeof(f.value) <> 'string' OR f.value #>> '{}' !~ '^age-x25519:[0-9a-f]{32}$') THEN
                RAISE EXCEPTION 'agent_report_repositories: encryption of % must be {"format": "age-v1", "fingerprints": ["age-x25519:<32 hex>", …]}', v_name
                    USING ERRCODE = '22023';
            END IF;
            v_fps := ARRAY(SELECT f.value #>> '{}' FROM jsonb_array_elements(v_item->'encryption'->'fingerprints') AS f);
        ELSIF v_item ? 'encryption' AND jsonb_typeof(v_item->'encryption') <> 'null' THEN
            RAISE EXCEPTION 'agent_report_repositories: encryption of % must be an object or null', v_name USING ERRCODE = '22023';
        END IF;
        IF v_type = 'S3' AND v_fps IS NULL THEN
            RAISE EXCEPTION 'agent_report_repositories: the off-host repository must be encrypted'
                USING ERRCODE = '22023', HINT = 'Set BACKUP_MGMT_ENCRYPT_RECIPIENT for the agent.';
        END IF;
        v_hk := backup_mgmt.hash_key(v_name);
        INSERT INTO backup_mgmt.backup_repository_h (repository_hk, repository_bk, tenant_hk, record_source)
        VALUES (v_hk, v_name, NULL, 'backup_mgmt.agent')
        ON CONFLICT DO NOTHING;
        IF backup_mgmt.backup_repository_s_load(v_hk, jsonb_build_object(
               'storage_type', v_type, 'location', v_location, 'encryption_format', v_format,
               'key_fingerprints', to_jsonb(v_fps), 'agent_id', p_agent_id), 'backup_mgmt.agent') THEN
            v_count := v_count + 1;
        END IF;
    END LOOP;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.agent_report_repositories(text, jsonb) IS
'Agent protocol (repository copies): the repositories an agent keeps backups in, p_repositories = [{name local|s3, storage_type LOCAL|S3, location (absolute directory | s3://bucket/prefix), encryption null | {format age-v1, fingerprints [age-x25519:…]}}]; never a credential or a key. Returns how many changed. Malformed input or an unencrypted s3 repository: 22023; unknown agent: 55000.';
