-- The next p_n times a cron expression fires.

CREATE OR REPLACE FUNCTION backup_mgmt.cron_next_n(
    p_expr text,
    p_after timestamptz,
    p_n integer DEFAULT 10,
    p_timezone text DEFAULT 'UTC'
)
RETURNS SETOF timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Parses once, then steps from each result to the next. SECURITY DEFINER
-- only so that callers need EXECUTE on this function, not on the internal
-- helpers; it reads and writes nothing.
DECLARE
    v_f record;
    v_zone text;
    v_at timestamptz := p_after;
BEGIN
    IF p_n IS NULL OR p_n < 1 OR p_n > 1000 THEN
        RAISE EXCEPTION 'cron_next_n: p_n must be between 1 and 1000'
            USING ERRCODE = CASE WHEN p_n IS NULL THEN '22004' ELSE '22023' END,
                  DETAIL = format('p_n: %s', coalesce(p_n::text, 'NULL'));
    END IF;
    PERFORM backup_mgmt._require_args(p_after IS NULL, 'cron_next_n', 'p_after', 'Pass the instant to search from, e.g. now().');
    IF NOT isfinite(p_after) THEN
        RAISE EXCEPTION 'cron_next_n: p_after must be a finite time'
            USING ERRCODE = '22023', DETAIL = format('p_after: %s', p_after);
    END IF;
    SELECT * INTO v_f FROM backup_mgmt._cron_fields(p_expr);
    v_zone := backup_mgmt._cron_timezone(p_timezone);
    FOR v_i IN 1 .. p_n LOOP
        v_at := backup_mgmt._cron_next_fields(v_f.minutes, v_f.hours, v_f.days_of_month, v_f.months, v_f.days_of_week,
                                              v_f.dom_star, v_f.dow_star, v_at, v_zone);
        EXIT WHEN v_at IS NULL;
        RETURN NEXT v_at;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.cron_next_n(text, timestamptz, integer, text) IS
'The next p_n (1-1000) times cron expression p_expr fires after p_after in time zone p_timezone, each found by cron_next() from the one before. Errors as cron_next().';
