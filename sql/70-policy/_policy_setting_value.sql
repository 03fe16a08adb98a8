-- The comparable form of a retention.* or health.* setting value.

CREATE OR REPLACE FUNCTION backup_mgmt._policy_setting_value(p_name text, p_value text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET IntervalStyle = 'postgres'
AS $$
-- Validates with the setting's own validator (what set_setting() calls), then
-- reduces the value to one spelling so that '1 day' and '24 hours', or 1.50
-- and 1.5, compare equal: numbers without trailing zeros, intervals in
-- IntervalStyle postgres. NULL (the default is unset) stays NULL.
DECLARE
    v_value text;
BEGIN
    IF p_value IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_name LIKE 'retention.%' THEN
        v_value := backup_mgmt._retention_setting_value(p_name, p_value);
    ELSIF p_name LIKE 'health.%' THEN
        v_value := backup_mgmt._health_setting_value(p_name, p_value);
    ELSE
        RAISE EXCEPTION 'setting % cannot be declared in a policy', quote_literal(p_name)
            USING ERRCODE = '22023', HINT = 'A policy declares the retention.* and health.* settings.';
    END IF;
    IF v_value ~ '^[0-9]+(\.[0-9]+)?$' THEN
        RETURN trim_scale(v_value::numeric)::text;
    END IF;
    RETURN v_value::interval::text;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._policy_setting_value(text, text) IS
'Internal (policy): validates a retention.* or health.* value as set_setting() does (22023) and returns a comparable spelling (trimmed number, or interval in IntervalStyle postgres); NULL stays NULL.';
