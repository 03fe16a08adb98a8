-- The settings the pack knows, their defaults and what they mean.

CREATE OR REPLACE FUNCTION backup_mgmt._setting_catalog()
RETURNS TABLE (name text, default_value text, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
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
        ('job.retry_delay_seconds', '5',
         'A retryable failure waits this many seconds times the attempt number before the job is claimed again (0..3600).'),
        ('backup.compression_level', '3',
         'zstd level for server-side compression of base backups (1..22).'),
        ('backup.manifest_checksums', 'CRC32C',
         'Per-file checksums in the backup manifest (pg_basebackup --manifest-checksums): CRC32C (PostgreSQL''s default), SHA224, SHA256, SHA384 or SHA512. SHA-2 costs the server about 0.3 s per GB on the backup''s critical path; the stored files get a SHA-256 each anyway.'),
        ('backup.max_rate', NULL::text,
         'pg_basebackup --max-rate, e.g. 50M or 20480k (32k..1024M). Unset: unlimited.'),
        ('backup.retention_period', '7 years',
         'How long a backup is kept; sets retention_period and expiration_date of new backups (a positive interval, at most 100 years).'),
        ('restore.root', NULL::text,
         'Directory under which recoveries and drills restore (<restore.root>/<recovery key> by default); requested restore directories must lie inside it or inside an agent''s restore root. Unset: the restore root of the newest live agent.'),
        -- retention.*: the system retention policy (sql/60-retention), validated by _retention_setting_value().
        ('retention.period', NULL::text,
         'Retention period applied by cleanup_expired_backups() to backups no schedule produced: a backup expires on (end date + period). Unset: each backup''s own retention_period (from backup.retention_period when it was requested). An interval from 0 to 100 years.'),
        ('retention.min_redundancy', '2',
         'Keep at least this many VERIFIED full backups of each cluster whatever their age (1 to 1000).'),
        ('retention.recovery_window', '7 days',
         'Point-in-time recovery must stay possible this far back: the newest verified full backup that ended before now - window, everything after it and its WAL are kept (an interval from 0 to 100 years).'),
        ('retention.keep_daily', '0',
         'Grandfather-father-son: keep the newest full backup of each of the last N days (UTC; 0 = off, at most 100000).'),
        ('retention.keep_weekly', '0',
         'Grandfather-father-son: keep the newest full backup of each of the last N ISO weeks (UTC; 0 = off, at most 100000).'),
        ('retention.keep_monthly', '0',
         'Grandfather-father-son: keep the newest full backup of each of the last N calendar months (UTC; 0 = off, at most 100000).'),
        -- health.*: thresholds of health_check() (sql/50-health), validated by _health_setting_value().
        ('health.full_backup_warning_age', '26 hours',
         'Health check full_backup_age when no FULL schedule is active: WARNING when the newest successful full backup ended longer ago than this (a positive interval).'),
        ('health.full_backup_critical_age', '50 hours',
         'Health check full_backup_age when no FULL schedule is active: CRITICAL when the newest successful full backup ended longer ago than this (a positive interval).'),
        ('health.incremental_backup_warning_age', '6 hours',
         'Health check incremental_backup_age when incremental backups exist but none is scheduled: WARNING when the newest successful one is older (a positive interval).'),
        ('health.incremental_backup_critical_age', '12 hours',
         'Health check incremental_backup_age when incremental backups exist but none is scheduled: CRITICAL when the newest successful one is older (a positive interval).'),
        ('health.schedule_warning_factor', '1.5',
         'Health checks full_backup_age and incremental_backup_age with an active schedule: WARNING once the newest successful backup is this many schedule intervals old (1 to 100).'),
        ('health.schedule_critical_factor', '3',
         'Health checks full_backup_age and incremental_backup_age with an active schedule: CRITICAL once the newest successful backup is this many schedule intervals old (1 to 100).'),
        ('health.failed_backup_window', '24 hours',
         'Health check failed_backups: how far back failed backups are counted (a positive interval).'),
        ('health.failed_backups_critical', '3',
         'Health check failed_backups: CRITICAL at this many failed backups in health.failed_backup_window; WARNING from one (a whole number, 1 to 1000000).'),
        ('health.wal_archive_warning_age', '15 minutes',
         'Health check wal_archiving: WARNING when a finished WAL segment has waited this long to be archived (a positive interval).'),
        ('health.wal_archive_critical_age', '1 hour',
         'Health check wal_archiving: CRITICAL when a finished WAL segment has waited this long to be archived (a positive interval).'),
        ('health.rpo_warning', '5 minutes',
         'Health check rpo: WARNING when WAL newer than the newest archived segment exists and that segment was archived longer ago than this (seed KPI: RPO < 5 minutes; a positive interval).'),
        ('health.rpo_critical', '15 minutes',
         'Health check rpo: CRITICAL when WAL newer than the newest archived segment exists and that segment was archived longer ago than this (a positive interval).'),
        ('health.min_recovery_window', '1 day',
         'Health check recovery_window: WARNING when the point-in-time recovery window (earliest to latest recoverable time) is shorter than this (a positive interval).'),
        ('health.verification_max_pending', '1 hour',
         'Health check verification: WARNING when the verification of a completed backup has been PENDING longer than this (a positive interval).'),
        ('health.verification_failed_window', '7 days',
         'Health check verification: CRITICAL while a completed backup whose verification FAILED within this period is not verified again (a positive interval).'),
        ('health.drill_max_age', '30 days',
         'Health check restore_drill: WARNING when the newest successful restore drill is older than this, or there is none (a positive interval).'),
        ('health.approval_max_wait', '1 hour',
         'Health check pending_approvals: WARNING when a recovery has waited longer than this for approval (a positive interval).'),
        ('health.repository_free_warning_percent', '20',
         'Health check repository_space: WARNING when a running agent reports less free space in its repository than this percentage (0 to 100).'),
        ('health.repository_free_critical_percent', '10',
         'Health check repository_space: CRITICAL when a running agent reports less free space in its repository than this percentage (0 to 100).'),
        -- wal.* and health.stream_slot_*: WAL streaming (sql/55-stream), validated by _stream_setting_value().
        ('wal.streaming', 'off',
         'on: the agent streams WAL with pg_receivewal through the physical slot backup_mgmt_stream into its spool and stores each completed segment in the repository like wal-push (RPO near zero). off: the agent stops its receiver and drops the slot.'),
        ('wal.streaming_synchronous', 'off',
         'on: the receiver (application_name backup_mgmt_stream) belongs in synchronous_standby_names (backup-mgmt setup prints the line, --apply sets it): commits wait until it has flushed their WAL, RPO 0, at a cost in commit latency, and a stopped receiver stops commits. The receiver flushes every write in both modes; the agent warns when this is on but the server does not wait for it.'),
        ('health.stream_slot_warning_size', '1GB',
         'Health check stream_slot: WARNING when the slot backup_mgmt_stream retains more WAL than this (a size, e.g. 512MB).'),
        ('health.stream_slot_critical_size', '8GB',
         'Health check stream_slot: CRITICAL when the slot backup_mgmt_stream retains more WAL than this; cap it on the server with max_slot_wal_keep_size.')
      ) AS v (name, default_value, description)
$$;

COMMENT ON FUNCTION backup_mgmt._setting_catalog() IS
'Internal: the known settings with defaults and descriptions; read by setting() and set_setting().';
