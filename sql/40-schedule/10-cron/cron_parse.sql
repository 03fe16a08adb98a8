-- Validates a cron expression and shows what it means.

CREATE OR REPLACE FUNCTION backup_mgmt.cron_parse(p_expr text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- The value sets as JSON, plus the day rule that applies: "or" when both day
-- fields are restricted (neither begins with *), otherwise "and".
-- SECURITY DEFINER only so that callers need EXECUTE on this function, not
-- on the internal helpers; it reads and writes nothing.
DECLARE
    v_f record;
BEGIN
    SELECT * INTO v_f FROM backup_mgmt._cron_fields(p_expr);
    RETURN jsonb_build_object(
        'expression', v_f.expression,
        'alias', v_f.alias,
        'minutes', to_jsonb(v_f.minutes),
        'hours', to_jsonb(v_f.hours),
        'days_of_month', to_jsonb(v_f.days_of_month),
        'months', to_jsonb(v_f.months),
        'days_of_week', to_jsonb(v_f.days_of_week),
        'day_rule', CASE WHEN v_f.dom_star OR v_f.dow_star THEN 'and' ELSE 'or' END);
END;
$$;

COMMENT ON FUNCTION backup_mgmt.cron_parse(text) IS
'Parses a 5-field cron expression (lists, ranges, */n and a-b/n steps, JAN-DEC and SUN-SAT names in any case, 0 and 7 = Sunday, @hourly/@daily/@midnight/@weekly/@monthly/@yearly/@annually) and returns {expression, alias, minutes, hours, days_of_month, months, days_of_week (0 = Sunday), day_rule}. day_rule is "or" when both day fields are restricted (Vixie cron: neither begins with *), else "and". Invalid: SQLSTATE 22023 with the field in DETAIL; NULL: 22004.';
