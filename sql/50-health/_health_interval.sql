-- A health.* setting that is an interval.

CREATE OR REPLACE FUNCTION backup_mgmt._health_interval(p_name text)
RETURNS interval
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- setting() falls back to the documented default; set_setting() only stores
-- valid intervals.
BEGIN
    RETURN backup_mgmt.setting(p_name)::interval;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._health_interval(text) IS
'Internal (health checks): the value of a health.* interval setting, or its default.';
