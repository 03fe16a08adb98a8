-- The settings the pack knows, their defaults and what they mean.

CREATE OR REPLACE FUNCTION backup_mgmt._setting_catalog()
RETURNS TABLE (name text, default_value text, description text)
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- One row per known setting; default_value NULL means "unset" and the
    -- caller decides what that means (documented per setting).
    SELECT v.name, v.default_value, v.description
      FROM (VALUES
        ('repository.roots', NULL::text,
         'Comma-separated absolute directories inside which p_backup_location may point. Registered agents'' repository roots and repository.root are always allowed as well.'),
        ('repository.root', NULL::text,
         'Default backup target when p_backup_location is NULL. Unset: the repository root of the newest live agent (else the last agent seen).'),
        ('job.lease_seconds', '30',
         'Seconds an agent holds a job without a heartbeat or progress report before the job is reclaimed (1..86400).'),
        ('job.max_attempts', '3',
         'Attempts per job before it fails for good (1..100); a backup''s max_retries is this minus one.'),
        ('backup.compression_level', '3',
         'zstd level for server-side compression of base backups (1..22).'),
        ('backup.max_rate', NULL::text,
         'pg_basebackup --max-rate, e.g. 50M or 20480k (32k..1024M). Unset: unlimited.'),
        ('backup.retention_period', '7 years',
         'How long a backup is kept; sets retention_period and expiration_date of new backups (a positive interval).'),
        ('restore.root', NULL::text,
         'Directory under which recoveries and drills restore (<restore.root>/<recovery key> by default); requested restore directories must lie inside it or inside an agent''s restore root. Unset: the restore root of the newest live agent.')
      ) AS v (name, default_value, description)
$$;

COMMENT ON FUNCTION backup_mgmt._setting_catalog() IS
'Internal: the known settings with defaults and descriptions; read by setting() and set_setting().';
