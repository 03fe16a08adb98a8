-- The encryption key fingerprints a BACKUP job's result reports.

CREATE OR REPLACE FUNCTION backup_mgmt._result_fingerprints(p_result jsonb, p_root text, p_job_id bigint)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- What leaves the host is encrypted: a backup stored under an s3:// root
-- must name the keys it is encrypted to (fingerprints only, never a key);
-- a local one names none. 22023 otherwise.
DECLARE
    v_fp jsonb := p_result->'encryption_fingerprints';
BEGIN
    IF NOT starts_with(p_root, 's3://') THEN
        IF v_fp IS NOT NULL AND jsonb_typeof(v_fp) <> 'null' THEN
            RAISE EXCEPTION 'complete_job: field encryption_fingerprints of the result of job % is invalid: a local backup is not encrypted', p_job_id
                USING ERRCODE = '22023', HINT = 'Report encryption_fingerprints only for a backup stored in an s3:// repository.';
        END IF;
        RETURN NULL;
    END IF;
    IF NOT backup_mgmt._is_fingerprint_list(v_fp) THEN
        RAISE EXCEPTION 'complete_job: field encryption_fingerprints of the result of job % is invalid: expected ["age-x25519:<32 hex>", …]', p_job_id
            USING ERRCODE = '22023', DETAIL = left(coalesce(v_fp::text, 'NULL'), 200),
                  HINT = 'A backup in an s3:// repository is encrypted: report the fingerprints of its recipients.';
    END IF;
    RETURN v_fp;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._result_fingerprints(jsonb, text, bigint) IS
'Internal (complete_job): the result''s encryption_fingerprints, required (a non-empty array of "age-x25519:<32 hex>") when p_root is an s3:// repository and refused for a local one (NULL returned); 22023 naming the job otherwise.';
