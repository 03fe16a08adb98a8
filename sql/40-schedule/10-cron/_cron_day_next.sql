-- The earliest instant after p_after that the cron hour/minute sets produce on one local day.

CREATE OR REPLACE FUNCTION backup_mgmt._cron_day_next(
    p_hours integer[],
    p_minutes integer[],
    p_day date,
    p_after timestamptz,
    p_timezone text
)
RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- Wall-clock times of p_day in p_timezone become instants. A day without an
-- offset change maps every wall time once. On a DST day (the rules of
-- cron-parser, the JS reference; see sql/40-schedule/README.md):
--   spring forward: wall times in the gap do not exist; when a whole clock
--     hour is skipped and the hour set contains it, that hour's minutes run
--     in the first hour after the gap (02:30 -> 03:30 in New York) - for a
--     search that starts before the change;
--   fall back: a repeated wall time matches once, in its first occurrence,
--     unless the search starts at or after the change (then the rest of the
--     repeat matches), or the hour set is all 24 hours and the repeat is a
--     whole clock hour (an hourly cadence keeps running through it).
DECLARE
    v_day timestamp := p_day::timestamp;
    v_after_utc timestamp := p_after AT TIME ZONE 'UTC';
    v_probe timestamptz;
    v_o1 interval;
    v_o2 interval;
    v_lo bigint;
    v_hi bigint;
    v_mid bigint;
    v_change timestamptz;
    v_l1 timestamp;
    v_l2 timestamp;
    v_wall timestamp;
    v_best timestamptz;
    v_hour integer;
    v_minute integer;
    v_lower timestamp;
BEGIN
    -- offsets from noon of the day before to noon of the day after
    v_probe := (v_day - interval '12 hours') AT TIME ZONE p_timezone;
    v_o1 := (v_probe AT TIME ZONE p_timezone) - (v_probe AT TIME ZONE 'UTC');
    v_lo := extract(epoch FROM v_probe)::bigint;
    v_probe := (v_day + interval '36 hours') AT TIME ZONE p_timezone;
    v_o2 := (v_probe AT TIME ZONE p_timezone) - (v_probe AT TIME ZONE 'UTC');
    v_hi := extract(epoch FROM v_probe)::bigint;

    IF v_o1 = v_o2 THEN
        v_wall := backup_mgmt._cron_first_wall(p_hours, p_minutes, v_day, v_after_utc + v_o1, NULL);
        RETURN (v_wall - v_o1) AT TIME ZONE 'UTC';
    END IF;

    -- the instant of the change, to the second
    WHILE v_hi - v_lo > 1 LOOP
        v_mid := (v_lo + v_hi) / 2;
        v_probe := to_timestamp(v_mid);
        IF (v_probe AT TIME ZONE p_timezone) - (v_probe AT TIME ZONE 'UTC') = v_o1 THEN
            v_lo := v_mid;
        ELSE
            v_hi := v_mid;
        END IF;
    END LOOP;
    v_change := to_timestamp(v_hi);
    v_l1 := (v_change AT TIME ZONE 'UTC') + v_o1;  -- where the old clock stops
    v_l2 := (v_change AT TIME ZONE 'UTC') + v_o2;  -- where the new clock starts

    -- wall times before the change, old offset
    v_wall := backup_mgmt._cron_first_wall(p_hours, p_minutes, v_day, v_after_utc + v_o1, v_l1);
    v_best := (v_wall - v_o1) AT TIME ZONE 'UTC';

    IF v_o2 > v_o1 THEN
        -- spring forward: [l1, l2) does not exist
        v_lower := v_l2;
        IF p_after < v_change AND date_trunc('hour', v_l2) = v_l2 THEN
            FOREACH v_hour IN ARRAY p_hours LOOP
                IF v_day + make_interval(hours => v_hour) >= v_l1
                   AND v_day + make_interval(hours => v_hour + 1) <= v_l2 THEN
                    -- a whole scheduled hour was skipped: run its minutes after the gap
                    FOREACH v_minute IN ARRAY p_minutes LOOP
                        IF v_change + make_interval(mins => v_minute) > p_after THEN
                            v_best := least(v_best, v_change + make_interval(mins => v_minute));
                            EXIT;
                        END IF;
                    END LOOP;
                    EXIT;
                END IF;
            END LOOP;
        END IF;
    ELSIF p_after >= v_change
          OR (cardinality(p_hours) = 24 AND date_trunc('hour', v_l2) = v_l2
              AND extract(epoch FROM v_o1 - v_o2)::bigint % 3600 = 0) THEN
        -- fall back, second occurrence of [l2, l1) included
        v_lower := v_l2;
    ELSE
        v_lower := v_l1;
    END IF;

    -- wall times after the change, new offset
    v_wall := backup_mgmt._cron_first_wall(p_hours, p_minutes, v_day,
                  greatest(v_after_utc + v_o2, v_lower - interval '1 microsecond'), NULL);
    RETURN least(v_best, (v_wall - v_o2) AT TIME ZONE 'UTC');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._cron_day_next(integer[], integer[], date, timestamptz, text) IS
'Internal: earliest instant after p_after given by the cron hour/minute sets on local day p_day in p_timezone, with the DST rules of cron_next(); NULL if none.';
