-- Validates and normalises the value of one health.* setting for set_setting().

CREATE OR REPLACE FUNCTION backup_mgmt._health_setting_value(p_name text, p_value text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Three kinds, told apart by the name: *_percent (0 to 100), *_factor (1 to
-- 100), *_critical counts (whole numbers), everything else an interval
-- (positive, at most 100 years). Returns the value to store.
DECLARE
    v_description text := (SELECT c.description FROM backup_mgmt._setting_catalog() AS c WHERE c.name = p_name);
    v_value text := btrim(p_value);
    v_number numeric;
    v_interval interval;
BEGIN
    IF v_description IS NULL OR p_name NOT LIKE 'health.%' THEN
        RAISE EXCEPTION '_health_setting_value: % is not a health setting', quote_literal(p_name)
            USING ERRCODE = '22023', HINT = 'Health settings: SELECT name FROM backup_mgmt._setting_catalog() WHERE name LIKE ''health.%''.';
    END IF;
    IF v_value IS NULL OR v_value = '' THEN
        RAISE EXCEPTION 'set_setting: % must not be empty', p_name
            USING ERRCODE = '22023', DETAIL = v_description, HINT = 'Use NULL to go back to the default.';
    END IF;

    IF p_name LIKE '%\_percent' OR p_name LIKE '%\_factor' THEN
        IF v_value !~ '^[0-9]{1,3}(\.[0-9]{1,2})?$' THEN
            RAISE EXCEPTION 'set_setting: % must be a number with at most two decimals, not %', p_name, quote_literal(p_value)
                USING ERRCODE = '22023', DETAIL = v_description;
        END IF;
        v_number := v_value::numeric;
        IF (p_name LIKE '%\_percent' AND v_number > 100) OR (p_name LIKE '%\_factor' AND v_number NOT BETWEEN 1 AND 100) THEN
            RAISE EXCEPTION 'set_setting: % is out of range: %', p_name, v_value
                USING ERRCODE = '22023', DETAIL = v_description;
        END IF;
        RETURN trim_scale(v_number)::text;
    END IF;

    IF p_name = 'health.failed_backups_critical' THEN
        IF v_value !~ '^[0-9]{1,7}$' OR v_value::integer NOT BETWEEN 1 AND 1000000 THEN
            RAISE EXCEPTION 'set_setting: % must be a whole number from 1 to 1000000, not %', p_name, quote_literal(p_value)
                USING ERRCODE = '22023', DETAIL = v_description;
        END IF;
        RETURN v_value::integer::text;
    END IF;

    BEGIN
        v_interval := v_value::interval;
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'set_setting: % must be an interval, not %', p_name, quote_literal(p_value)
            USING ERRCODE = '22023', DETAIL = SQLERRM, HINT = 'For example ''90 minutes'' or ''2 days''.';
    END;
    IF v_interval <= interval '0' OR v_interval > interval '100 years' THEN
        RAISE EXCEPTION 'set_setting: % must be positive and at most 100 years, not %', p_name, v_value
            USING ERRCODE = '22023', DETAIL = v_description;
    END IF;
    RETURN v_value;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_setting_value(text, text) IS
'Internal (set_setting): checks a health.* value and returns the form to store: *_percent 0-100 and *_factor 1-100 (at most two decimals), health.failed_backups_critical a whole number 1-1000000, every other health.* setting a positive interval of at most 100 years. Bad value: 22023.';
