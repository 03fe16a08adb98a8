-- Business keys such as FULL_BACKUP_SYSTEM_20261122_010203_123456.

CREATE OR REPLACE FUNCTION backup_mgmt.new_business_key(p_prefix text)
RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- Prefix + UTC time to the microsecond. Key generation is serialised by a
-- transaction-level advisory lock, so a concurrent caller waits until this
-- transaction ends and then sees its key; within one transaction each key is
-- later than the previous one (remembered in a transaction-local setting);
-- a key already taken in any hub is bumped by one microsecond until free.
DECLARE
    v_ts timestamptz;
    v_last text;
    v_key text;
BEGIN
    IF p_prefix IS NULL THEN
        RAISE EXCEPTION 'new_business_key: p_prefix must not be NULL'
            USING ERRCODE = '22004', HINT = 'For example ''FULL_BACKUP_SYSTEM''.';
    END IF;
    IF p_prefix !~ '^[A-Z][A-Z0-9_]{0,199}$' THEN
        RAISE EXCEPTION 'new_business_key: invalid prefix %', quote_literal(p_prefix)
            USING ERRCODE = '22023',
                  DETAIL = 'A prefix starts with an upper-case letter and has at most 200 of A-Z, 0-9 and _.',
                  HINT = 'For example ''FULL_BACKUP_SYSTEM''.';
    END IF;

    -- (7346221, 3): the business-key lock of backup_mgmt.
    PERFORM pg_advisory_xact_lock(7346221, 3);
    v_ts := clock_timestamp();
    v_last := current_setting('backup_mgmt.last_business_key_us', true);
    IF v_last ~ '^[0-9]{1,18}$' THEN
        v_ts := greatest(v_ts, timestamptz 'epoch' + (v_last || ' microseconds')::interval + interval '1 microsecond');
    END IF;
    LOOP
        v_key := p_prefix || '_' || to_char(v_ts AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS_US');
        EXIT WHEN NOT EXISTS (SELECT 1 FROM backup_mgmt.backup_execution_h AS h WHERE h.backup_bk = v_key)
              AND NOT EXISTS (SELECT 1 FROM backup_mgmt.recovery_operation_h AS h WHERE h.recovery_bk = v_key)
              AND NOT EXISTS (SELECT 1 FROM backup_mgmt.backup_schedule_h AS h WHERE h.schedule_bk = v_key);
        v_ts := v_ts + interval '1 microsecond';
    END LOOP;
    PERFORM set_config('backup_mgmt.last_business_key_us', (extract(epoch FROM v_ts) * 1000000)::bigint::text, true);
    RETURN v_key;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.new_business_key(text) IS
'A new unique business key <p_prefix>_YYYYMMDD_HHMISS_<microseconds> in UTC, e.g. FULL_BACKUP_SYSTEM_20261122_010203_123456. Serialised until the end of the calling transaction by an advisory lock. Prefix: ^[A-Z][A-Z0-9_]*$ (22023 otherwise).';
