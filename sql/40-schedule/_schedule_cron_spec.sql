-- The schedule text of a schedule's pg_cron job.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_cron_spec(p_expr text, p_timezone text, p_window_start time)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- pg_cron 1.4 evaluates every job in UTC and knows nothing of windows. A
-- schedule in a zone that is always UTC and without a window gets its own
-- expression (aliases expanded). Otherwise the job must fire at least at
-- every instant the schedule (or a deferral to the window start) can be due:
-- every UTC minute-of-hour and hour those local times map to under each UTC
-- offset the zone uses in the coming year, on every day. run_schedule() only
-- runs what is due, so the extra firings return 'skipped: not due'.
DECLARE
    v_f record;
    v_offsets integer[];
    v_utc_minutes integer[] := '{}';
    v_utc_hours integer[] := '{}';
    v_local integer;
    v_offset integer;
    v_hour integer;
    v_minute integer;
BEGIN
    SELECT * INTO v_f FROM backup_mgmt._cron_fields(p_expr);
    -- offsets in minutes, sampled weekly over a year
    v_offsets := ARRAY(
        SELECT DISTINCT (extract(epoch FROM (t AT TIME ZONE p_timezone) - (t AT TIME ZONE 'UTC')) / 60)::integer
          FROM generate_series(now(), now() + interval '1 year', interval '7 days') AS t);
    IF v_offsets = ARRAY[0] AND p_window_start IS NULL THEN
        RETURN v_f.expression;
    END IF;

    FOREACH v_offset IN ARRAY v_offsets LOOP
        FOREACH v_hour IN ARRAY v_f.hours LOOP
            FOREACH v_minute IN ARRAY v_f.minutes LOOP
                v_local := ((v_hour * 60 + v_minute - v_offset) % 1440 + 1440) % 1440;
                v_utc_minutes := v_utc_minutes || (v_local % 60);
                v_utc_hours := v_utc_hours || (v_local / 60);
            END LOOP;
        END LOOP;
        IF p_window_start IS NOT NULL THEN
            v_local := ((extract(hour FROM p_window_start)::integer * 60 + extract(minute FROM p_window_start)::integer - v_offset) % 1440 + 1440) % 1440;
            v_utc_minutes := v_utc_minutes || (v_local % 60);
            v_utc_hours := v_utc_hours || (v_local / 60);
        END IF;
    END LOOP;
    v_utc_minutes := ARRAY(SELECT DISTINCT m FROM unnest(v_utc_minutes) AS m ORDER BY m);
    v_utc_hours := ARRAY(SELECT DISTINCT h FROM unnest(v_utc_hours) AS h ORDER BY h);
    RETURN concat_ws(' ',
        CASE WHEN cardinality(v_utc_minutes) = 60 THEN '*' ELSE array_to_string(v_utc_minutes, ',') END,
        CASE WHEN cardinality(v_utc_hours) = 24 THEN '*' ELSE array_to_string(v_utc_hours, ',') END,
        '*', '*', '*');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_cron_spec(text, text, time) IS
'Internal: pg_cron schedule (UTC) for a schedule: its own expression when the zone is always UTC and there is no window, else a superset firing at every UTC minute/hour the local times (and the window start) can fall on.';
