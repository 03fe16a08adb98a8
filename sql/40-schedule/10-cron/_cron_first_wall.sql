-- The first wall-clock time of one day that a cron hour/minute set allows, within bounds.

CREATE OR REPLACE FUNCTION backup_mgmt._cron_first_wall(
    p_hours integer[],
    p_minutes integer[],
    p_day timestamp,
    p_after timestamp,
    p_before timestamp
)
RETURNS timestamp
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- p_day is local midnight; the result is p_day + h:m with h, m from the
-- sorted sets, strictly after p_after and strictly before p_before (either
-- may be NULL), or NULL. Hours that end before p_after are skipped whole.
DECLARE
    v_hour integer;
    v_minute integer;
    v_hour_start timestamp;
    v_wall timestamp;
BEGIN
    IF p_after IS NOT NULL AND p_after >= p_day + interval '1 day' THEN
        RETURN NULL;
    END IF;
    FOREACH v_hour IN ARRAY p_hours LOOP
        v_hour_start := p_day + make_interval(hours => v_hour);
        IF p_before IS NOT NULL AND v_hour_start >= p_before THEN
            RETURN NULL;
        END IF;
        CONTINUE WHEN p_after IS NOT NULL AND v_hour_start + interval '59 minutes' <= p_after;
        FOREACH v_minute IN ARRAY p_minutes LOOP
            v_wall := v_hour_start + make_interval(mins => v_minute);
            IF p_after IS NULL OR v_wall > p_after THEN
                IF p_before IS NOT NULL AND v_wall >= p_before THEN
                    RETURN NULL;
                END IF;
                RETURN v_wall;
            END IF;
        END LOOP;
    END LOOP;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._cron_first_wall(integer[], integer[], timestamp, timestamp, timestamp) IS
'Internal: first local time p_day + h:m (h, m from the sorted cron sets) with p_after < time < p_before; NULL bounds are open; NULL if none.';
