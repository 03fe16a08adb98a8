-- The backup hash key in a request function's result row.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_result_hk(p_row jsonb)
RETURNS bytea
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Seed 001's result column is backup_id; a scalar bytea result is accepted
-- too. bytea arrives from to_jsonb() as "\x<hex>".
DECLARE
    v_text text := CASE jsonb_typeof(p_row)
        WHEN 'object' THEN coalesce(p_row->>'backup_id', p_row->>'backup_hk')
        WHEN 'string' THEN p_row #>> '{}' END;
BEGIN
    IF v_text IS NULL OR v_text !~ '^\\x[0-9a-f]{64}$' THEN
        RETURN NULL;
    END IF;
    RETURN decode(substr(v_text, 3), 'hex');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_result_hk(jsonb) IS
'Internal: the 32-byte backup hash key from a request function''s result row (column backup_id or backup_hk, or a scalar), or NULL.';
