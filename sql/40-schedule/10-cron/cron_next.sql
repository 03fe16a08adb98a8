-- The next time a cron expression fires after a given instant, in a time zone.

CREATE OR REPLACE FUNCTION backup_mgmt.cron_next(
    p_expr text,
    p_after timestamptz,
    p_timezone text DEFAULT 'UTC'
)
RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Parses, checks the zone, and walks months/days (see _cron_next_fields).
-- SECURITY DEFINER only so that callers need EXECUTE on this function, not
-- on the internal helpers; it reads and writes nothing.
DECLARE
    v_f record;
BEGIN
    PERFORM backup_mgmt._require_args(p_after IS NULL, 'cron_next', 'p_after', 'Pass the instant to search from, e.g. now().');
    IF NOT isfinite(p_after) THEN
        RAISE EXCEPTION 'cron_next: p_after must be a finite time'
            USING ERRCODE = '22023', DETAIL = format('p_after: %s', p_after);
    END IF;
    SELECT * INTO v_f FROM backup_mgmt._cron_fields(p_expr);
    RETURN backup_mgmt._cron_next_fields(v_f.minutes, v_f.hours, v_f.days_of_month, v_f.months, v_f.days_of_week,
                                         v_f.dom_star, v_f.dow_star, p_after, backup_mgmt._cron_timezone(p_timezone));
END;
$$;

COMMENT ON FUNCTION backup_mgmt.cron_next(text, timestamptz, text) IS
'First minute strictly after p_after that matches cron expression p_expr in time zone p_timezone (default UTC). Vixie cron semantics (as pg_cron): when both day fields are restricted (neither begins with *) a day matches if either does. DST, as the JS library cron-parser: wall times in a spring-forward gap do not exist, except that a whole skipped hour runs its minutes in the hour after the gap (02:30 -> 03:30) when the search starts before the change; a repeated fall-back time runs once, in its first occurrence, unless the search starts inside the repeat or the hour field is all 24 hours and the repeat is a whole hour. Bad expression or zone: 22023; NULL: 22004.';
