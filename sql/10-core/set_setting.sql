-- Changes (or with NULL resets) one setting of the pack, validating the value.

CREATE OR REPLACE FUNCTION backup_mgmt.set_setting(p_name text, p_value text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Each known setting has its own validation; the stored value is the
-- normalised form. A NULL value deletes the row so the default applies again.
-- Returns the effective value afterwards.
DECLARE
    v_value text := btrim(p_value);
    v_description text;
    v_number numeric;
    v_roots text[];
    v_interval interval;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'set_setting');
    PERFORM backup_mgmt._require_args(p_name IS NULL, 'set_setting', 'p_name', 'Known settings: SELECT name FROM backup_mgmt._setting_catalog().');
    SELECT c.description INTO v_description FROM backup_mgmt._setting_catalog() AS c WHERE c.name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'set_setting: unknown setting %', quote_literal(p_name)
            USING ERRCODE = '22023',
                  DETAIL = 'Known settings: ' || (SELECT string_agg(c.name, ', ' ORDER BY c.name) FROM backup_mgmt._setting_catalog() AS c) || '.',
                  HINT = 'Setting names are lower case, e.g. job.lease_seconds.';
    END IF;

    IF p_value IS NULL THEN
        DELETE FROM backup_mgmt.setting AS s WHERE s.name = p_name;
        RETURN backup_mgmt.setting(p_name);
    END IF;

    CASE p_name
        WHEN 'repository.roots' THEN
            v_roots := ARRAY(SELECT backup_mgmt._normalize_root(btrim(v_part), 'repository.roots entry')
                               FROM unnest(string_to_array(v_value, ',')) WITH ORDINALITY AS u (v_part, v_pos)
                              WHERE btrim(v_part) <> '' ORDER BY v_pos);
            IF cardinality(v_roots) = 0 THEN
                RAISE EXCEPTION 'set_setting: repository.roots needs at least one directory'
                    USING ERRCODE = '22023',
                          HINT = 'Give comma-separated absolute directories, or NULL to unset.';
            END IF;
            v_value := array_to_string(ARRAY(SELECT DISTINCT r FROM unnest(v_roots) AS r ORDER BY r), ',');
        WHEN 'repository.root', 'restore.root' THEN
            v_value := backup_mgmt._normalize_root(v_value, p_name);
        WHEN 'job.lease_seconds', 'job.max_attempts', 'job.retry_delay_seconds', 'backup.compression_level' THEN
            IF v_value !~ '^[0-9]{1,9}$' THEN
                RAISE EXCEPTION 'set_setting: % must be a whole number, not %', p_name, quote_literal(p_value)
                    USING ERRCODE = '22023', DETAIL = v_description;
            END IF;
            v_number := v_value::numeric;
            IF (p_name = 'job.lease_seconds' AND v_number NOT BETWEEN 1 AND 86400)
               OR (p_name = 'job.max_attempts' AND v_number NOT BETWEEN 1 AND 100)
               OR (p_name = 'job.retry_delay_seconds' AND v_number NOT BETWEEN 0 AND 3600)
               OR (p_name = 'backup.compression_level' AND v_number NOT BETWEEN 1 AND 22) THEN
                RAISE EXCEPTION 'set_setting: % is out of range: %', p_name, v_value
                    USING ERRCODE = '22023', DETAIL = v_description;
            END IF;
            v_value := v_number::text;
        WHEN 'backup.manifest_checksums' THEN
            v_value := upper(v_value);
            IF v_value NOT IN ('CRC32C', 'SHA224', 'SHA256', 'SHA384', 'SHA512') THEN
                RAISE EXCEPTION 'set_setting: backup.manifest_checksums must be CRC32C, SHA224, SHA256, SHA384 or SHA512, not %', quote_literal(p_value)
                    USING ERRCODE = '22023', DETAIL = v_description;
            END IF;
        WHEN 'backup.max_rate' THEN
            -- pg_basebackup's syntax: kilobytes per second, or a k/M suffix.
            IF v_value !~ '^[0-9]{1,7}[kM]?$' THEN
                RAISE EXCEPTION 'set_setting: backup.max_rate must look like 50M or 20480k, not %', quote_literal(p_value)
                    USING ERRCODE = '22023', DETAIL = v_description,
                          HINT = 'Use NULL for unlimited.';
            END IF;
            v_number := CASE right(v_value, 1)
                            WHEN 'M' THEN left(v_value, -1)::numeric * 1024
                            WHEN 'k' THEN left(v_value, -1)::numeric
                            ELSE v_value::numeric END;
            IF v_number NOT BETWEEN 32 AND 1048576 THEN
                RAISE EXCEPTION 'set_setting: backup.max_rate is out of range: %', v_value
                    USING ERRCODE = '22023', DETAIL = v_description,
                          HINT = 'pg_basebackup accepts 32k to 1024M; use NULL for unlimited.';
            END IF;
        WHEN 'backup.retention_period' THEN
            BEGIN
                v_interval := v_value::interval;
            EXCEPTION WHEN data_exception THEN
                RAISE EXCEPTION 'set_setting: backup.retention_period must be an interval, not %', quote_literal(p_value)
                    USING ERRCODE = '22023', DETAIL = SQLERRM,
                          HINT = 'For example ''30 days'' or ''7 years''.';
            END;
            IF v_interval <= interval '0' THEN
                RAISE EXCEPTION 'set_setting: backup.retention_period must be positive, not %', v_value
                    USING ERRCODE = '22023', DETAIL = v_description;
            END IF;
            -- Beyond this, now() + period leaves the timestamp range and every backup would fail.
            IF v_interval > interval '100 years' THEN
                RAISE EXCEPTION 'set_setting: backup.retention_period must be at most 100 years, not %', v_value
                    USING ERRCODE = '22023', DETAIL = v_description;
            END IF;
        WHEN 'retention.period', 'retention.min_redundancy', 'retention.recovery_window',
             'retention.keep_daily', 'retention.keep_weekly', 'retention.keep_monthly', 'retention.local_full_backups' THEN
            -- The retention policy: validated where it is used (sql/60-retention).
            v_value := backup_mgmt._retention_setting_value(p_name, v_value);
        WHEN 'health.full_backup_warning_age', 'health.full_backup_critical_age', 'health.incremental_backup_warning_age',
             'health.incremental_backup_critical_age', 'health.schedule_warning_factor', 'health.schedule_critical_factor',
             'health.failed_backup_window', 'health.failed_backups_critical', 'health.wal_archive_warning_age',
             'health.wal_archive_critical_age', 'health.rpo_warning', 'health.rpo_critical', 'health.min_recovery_window',
             'health.verification_max_pending', 'health.verification_failed_window', 'health.drill_max_age',
             'health.approval_max_wait', 'health.repository_free_warning_percent', 'health.repository_free_critical_percent',
             'health.copy_warning_age', 'health.copy_critical_age' THEN
            -- Health thresholds: validated where they are used (sql/50-health).
            v_value := backup_mgmt._health_setting_value(p_name, v_value);
        WHEN 'wal.streaming', 'wal.streaming_synchronous', 'health.stream_slot_warning_size', 'health.stream_slot_critical_size' THEN
            -- WAL streaming: validated where it is used (sql/55-stream).
            v_value := backup_mgmt._stream_setting_value(p_name, v_value);
        ELSE
            RAISE EXCEPTION 'set_setting: no validation for setting %', p_name
                USING ERRCODE = 'XX000', HINT = 'This is a bug in backup_mgmt: every known setting needs a validation.';
    END CASE;

    INSERT INTO backup_mgmt.setting AS s (name, value, description, updated_at, updated_by)
    VALUES (p_name, v_value, v_description, now(), session_user)
    ON CONFLICT (name) DO UPDATE
        SET value = excluded.value, description = excluded.description,
            updated_at = excluded.updated_at, updated_by = excluded.updated_by;
    RETURN v_value;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.set_setting(text, text) IS
'Sets a backup_mgmt setting after validating it and returns the effective value; NULL resets it to the default. Unknown name or invalid value: SQLSTATE 22023. See COMMENT ON FUNCTION backup_mgmt.setting(text) for the known settings.';
