-- Storage type + backup location -> the repository a backup goes to.

CREATE OR REPLACE FUNCTION backup_mgmt._resolve_storage(
    p_storage_type text,
    p_location text,
    p_caller text,
    OUT storage_type text,
    OUT repository_root text,
    OUT location text,
    OUT encryption_fingerprints jsonb
)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- LOCAL: _resolve_repository (a directory root). S3: the off-host repository
-- the agents report (_offsite_repository); a location, if given, must name
-- that repository. GCS, AZURE and NFS are refused (0A000), anything else 22023.
BEGIN
    storage_type := upper(btrim(p_storage_type));
    IF storage_type = 'S3' THEN
        SELECT o.location, o.encryption_fingerprints INTO repository_root, encryption_fingerprints
          FROM backup_mgmt._offsite_repository(p_caller) AS o;
        IF p_location IS NOT NULL AND p_location <> repository_root AND rtrim(p_location, '/') <> repository_root THEN
            RAISE EXCEPTION '%: backup location % is not the off-host repository %', p_caller,
                            left(quote_literal(p_location), 200), quote_literal(repository_root)
                USING ERRCODE = '22023',
                      DETAIL = 'A backup with storage type S3 goes to the agent''s off-host repository (BACKUP_MGMT_REPO_S3).',
                      HINT = 'Leave p_backup_location NULL with p_storage_type => ''S3''.';
        END IF;
        location := repository_root;
    ELSIF storage_type IN ('GCS', 'AZURE', 'NFS') THEN
        RAISE EXCEPTION '%: storage type % is not supported yet', p_caller, storage_type
            USING ERRCODE = '0A000',
                  DETAIL = 'Backups are written to a local directory or, with storage type S3, to the agent''s off-host repository.',
                  HINT = 'Use ''LOCAL'' or ''S3'' (a mounted NFS directory inside repository.roots works as LOCAL).';
    ELSIF storage_type = 'LOCAL' THEN
        SELECT r.repository_root, r.location INTO repository_root, location
          FROM backup_mgmt._resolve_repository(p_location, p_caller) AS r;
    ELSE
        RAISE EXCEPTION '%: unknown storage type %', p_caller, quote_literal(p_storage_type)
            USING ERRCODE = '22023', HINT = 'Use ''LOCAL'' or ''S3''.';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._resolve_storage(text, text, text) IS
'Internal: (storage_type upper-cased, repository_root, location, encryption_fingerprints) for a backup request. LOCAL: _resolve_repository(p_location). S3: _offsite_repository() (55000 when no live agent reports BACKUP_MGMT_REPO_S3), p_location NULL or that same s3:// location (22023 otherwise). GCS/AZURE/NFS: 0A000; other values 22023.';
