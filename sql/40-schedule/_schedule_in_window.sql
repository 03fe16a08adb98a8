-- Whether an instant lies inside a schedule's execution window.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_in_window(p_at timestamptz, p_timezone text, p_start time, p_end time)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
    -- local time of p_at in [start, end); start > end wraps midnight; no window = always
    SELECT CASE
        WHEN p_start IS NULL OR p_end IS NULL THEN true
        WHEN p_start < p_end THEN (p_at AT TIME ZONE p_timezone)::time >= p_start AND (p_at AT TIME ZONE p_timezone)::time < p_end
        ELSE (p_at AT TIME ZONE p_timezone)::time >= p_start OR (p_at AT TIME ZONE p_timezone)::time < p_end
    END
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_in_window(timestamptz, text, time, time) IS
'Internal: true when the wall-clock time of p_at in p_timezone is inside [p_start, p_end) (wrapping midnight when p_start > p_end), or when there is no window.';
