-- Validates and normalises a value of one of the retention.* settings.

CREATE OR REPLACE FUNCTION backup_mgmt._retention_setting_value(p_name text, p_value text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Called by set_setting() for retention.*: intervals from 0 to 100 years
-- (retention.period, retention.recovery_window), whole numbers in range for
-- the counts. Returns the normalised text; a bad value is 22023 naming it.
DECLARE
    v_value text := btrim(p_value);
    v_interval interval;
    v_number numeric;
BEGIN
    IF p_name IN ('retention.period', 'retention.recovery_window') THEN
        BEGIN
            v_interval := v_value::interval;
        EXCEPTION WHEN data_exception THEN
            RAISE EXCEPTION 'set_setting: % must be an interval, not %', p_name, quote_literal(p_value)
                USING ERRCODE = '22023', DETAIL = SQLERRM, HINT = 'For example ''30 days'', ''7 days'' or ''0''.';
        END;
        IF v_interval < interval '0' OR v_interval > interval '100 years' THEN
            RAISE EXCEPTION 'set_setting: % must lie between 0 and 100 years, not %', p_name, v_value
                USING ERRCODE = '22023', HINT = 'Use NULL to go back to the default.';
        END IF;
        RETURN v_interval::text;
    ELSIF p_name IN ('retention.min_redundancy', 'retention.keep_daily', 'retention.keep_weekly', 'retention.keep_monthly',
                     'retention.local_full_backups') THEN
        IF v_value !~ '^[0-9]{1,9}$' THEN
            RAISE EXCEPTION 'set_setting: % must be a whole number, not %', p_name, quote_literal(p_value)
                USING ERRCODE = '22023', HINT = 'For example 2.';
        END IF;
        v_number := v_value::numeric;
        IF (p_name = 'retention.min_redundancy' AND v_number NOT BETWEEN 1 AND 1000)
           OR (p_name <> 'retention.min_redundancy' AND v_number > 100000) THEN
            RAISE EXCEPTION 'set_setting: % is out of range: %', p_name, v_value
                USING ERRCODE = '22023',
                      DETAIL = CASE WHEN p_name = 'retention.min_redundancy'
                                    THEN 'At least one verified full backup is always kept: 1 to 1000.'
                                    ELSE 'A count of periods: 0 (off) to 100000.' END;
        END IF;
        RETURN v_number::text;
    END IF;
    RAISE EXCEPTION '_retention_setting_value: % is not a retention setting', quote_literal(p_name)
        USING ERRCODE = '22023', HINT = 'This is a bug in backup_mgmt.';
END;
$$;

COMMENT ON FUNCTION backup_mgmt._retention_setting_value(text, text) IS
'Internal (set_setting): validates a retention.* value and returns it normalised. retention.period and retention.recovery_window: intervals from 0 to 100 years; retention.min_redundancy: 1..1000; retention.keep_daily/keep_weekly/keep_monthly and retention.local_full_backups: 0..100000. Otherwise 22023.';
