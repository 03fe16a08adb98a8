-- A duration as people read it in a health report: "3 min 20 s", "1 d 2 h".

CREATE OR REPLACE FUNCTION backup_mgmt._health_duration_text(p_duration interval)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    -- Two units at most (the second only when not zero), whole seconds;
    -- independent of IntervalStyle. Months and years count as 30 and 365.25
    -- days (extract(epoch) does so).
    SELECT CASE
        WHEN p_duration IS NULL THEN NULL
        WHEN s < 60 THEN format('%s s', s)
        WHEN s < 3600 THEN format('%s min', s / 60) || CASE WHEN s % 60 > 0 THEN format(' %s s', s % 60) ELSE '' END
        WHEN s < 86400 THEN format('%s h', s / 3600) || CASE WHEN s % 3600 / 60 > 0 THEN format(' %s min', s % 3600 / 60) ELSE '' END
        ELSE format('%s d', s / 86400) || CASE WHEN s % 86400 / 3600 > 0 THEN format(' %s h', s % 86400 / 3600) ELSE '' END
    END
    FROM (SELECT greatest(floor(extract(epoch FROM p_duration)), 0)::bigint AS s) AS x
$$;

COMMENT ON FUNCTION backup_mgmt._health_duration_text(interval) IS
'Internal (health checks): a non-negative duration in at most two units (s, min, h, d) for the value and threshold columns; negative durations read 0 s, NULL stays NULL.';
