-- A health.* setting that is a number (percentages, factors, counts).

CREATE OR REPLACE FUNCTION backup_mgmt._health_number(p_name text)
RETURNS numeric
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- setting() falls back to the documented default; set_setting() only stores
-- valid numbers.
BEGIN
    RETURN backup_mgmt.setting(p_name)::numeric;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_number(text) IS
'Internal (health checks): the value of a numeric health.* setting, or its default.';
