-- Validates and normalises the value of a streaming setting for set_setting().

CREATE OR REPLACE FUNCTION backup_mgmt._stream_setting_value(p_name text, p_value text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- wal.streaming and wal.streaming_synchronous are booleans stored as on/off;
-- health.stream_slot_*_size are sizes as pg_size_bytes() reads them (16MB,
-- 2GB), at least one WAL segment. Anything else: 22023.
DECLARE
    v_value text := lower(btrim(p_value));
    v_bytes numeric;
BEGIN
    IF p_name IN ('wal.streaming', 'wal.streaming_synchronous') THEN
        IF v_value IN ('on', 'true', 'yes', '1') THEN
            RETURN 'on';
        ELSIF v_value IN ('off', 'false', 'no', '0') THEN
            RETURN 'off';
        END IF;
        RAISE EXCEPTION 'set_setting: % must be on or off, not %', p_name, quote_literal(p_value)
            USING ERRCODE = '22023', HINT = 'Use on or off; NULL goes back to the default (off).';
    END IF;
    IF p_name IN ('health.stream_slot_warning_size', 'health.stream_slot_critical_size') THEN
        BEGIN
            v_bytes := pg_size_bytes(btrim(p_value));
        EXCEPTION WHEN invalid_parameter_value OR data_exception THEN
            RAISE EXCEPTION 'set_setting: % must be a size such as 1GB or 512MB, not %', p_name, quote_literal(p_value)
                USING ERRCODE = '22023', DETAIL = SQLERRM;
        END;
        IF v_bytes < pg_size_bytes(current_setting('wal_segment_size')) OR v_bytes > pg_size_bytes('1PB') THEN
            RAISE EXCEPTION 'set_setting: % is out of range: %', p_name, btrim(p_value)
                USING ERRCODE = '22023', HINT = 'At least one WAL segment (wal_segment_size), at most 1PB.';
        END IF;
        RETURN btrim(p_value);
    END IF;
    RAISE EXCEPTION '_stream_setting_value: % is not a streaming setting', quote_literal(p_name)
        USING ERRCODE = '22023';
END;
$$;

COMMENT ON FUNCTION backup_mgmt._stream_setting_value(text, text) IS
'Internal (set_setting): validates wal.streaming, wal.streaming_synchronous (on/off) and health.stream_slot_warning_size / _critical_size (sizes, at least one WAL segment); 22023 otherwise.';
