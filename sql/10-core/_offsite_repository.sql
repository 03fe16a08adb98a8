-- The off-host repository (s3://bucket/prefix) the live agents report.

CREATE OR REPLACE FUNCTION backup_mgmt._offsite_repository(
    p_caller text,
    OUT location text,
    OUT encryption_fingerprints jsonb
)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- SQL cannot read the agent's environment: an agent started with
-- BACKUP_MGMT_REPO_S3 reports the location and its encryption keys'
-- fingerprints (never credentials) in agent_register's p_info, key
-- "offsite". The newest live agent that has one wins. The location is
-- checked again here: it becomes a plan's repository_root.
BEGIN
    SELECT a.info->'offsite'->>'location', a.info->'offsite'->'encryption_fingerprints'
      INTO location, encryption_fingerprints
      FROM backup_mgmt.agent AS a
     WHERE a.stopped_at IS NULL AND a.heartbeat_at >= now() - backup_mgmt._agent_live_window()
       AND jsonb_typeof(a.info->'offsite') = 'object'
     ORDER BY a.started_at DESC, a.agent_id
     LIMIT 1;
    IF location IS NULL THEN
        RAISE EXCEPTION '%: storage type S3 needs an off-host repository, and no live agent has one', p_caller
            USING ERRCODE = '55000',
                  DETAIL = 'No running agent reported an S3 repository (BACKUP_MGMT_REPO_S3) when it registered.',
                  HINT = 'Start the agent with BACKUP_MGMT_REPO_S3=s3://bucket/prefix and BACKUP_MGMT_ENCRYPT_RECIPIENT=age1… (and AWS_* credentials) in its environment or --config file.';
    END IF;
    IF NOT backup_mgmt._is_s3_location(location) THEN
        RAISE EXCEPTION '%: the agent reported an invalid off-host repository %', p_caller, left(quote_literal(location), 200)
            USING ERRCODE = '22023', DETAIL = 'Expected s3://bucket/prefix: a bucket name, then letters, digits and . _ - / without . or .. segments.',
                  HINT = 'Fix BACKUP_MGMT_REPO_S3 in the agent''s environment and restart it.';
    END IF;
    IF NOT backup_mgmt._is_fingerprint_list(encryption_fingerprints) THEN
        RAISE EXCEPTION '%: the agent reported no valid encryption key fingerprints for %', p_caller, location
            USING ERRCODE = '22023', DETAIL = left(coalesce(encryption_fingerprints::text, 'NULL'), 200),
                  HINT = 'Backups leave the host only encrypted: set BACKUP_MGMT_ENCRYPT_RECIPIENT=age1… for the agent and restart it.';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._offsite_repository(text) IS
'Internal: the off-host repository (location s3://bucket/prefix, encryption_fingerprints ["age-x25519:<32 hex>", …]) the newest live agent reported in agent_register''s p_info->''offsite''. 55000 (HINT: set BACKUP_MGMT_REPO_S3 …) when no live agent has one; 22023 when what it reported is malformed. p_caller names the calling function in the message.';
