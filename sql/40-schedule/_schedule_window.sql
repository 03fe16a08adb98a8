-- Checks an execution window.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_window(p_start time, p_end time)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- Both ends or neither, whole minutes, start <> end. start > end is a window
-- across midnight (22:00-04:00); the end is exclusive.
BEGIN
    IF (p_start IS NULL) <> (p_end IS NULL) THEN
        RAISE EXCEPTION 'an execution window needs both a start and an end'
            USING ERRCODE = '22023',
                  DETAIL = format('field: execution_window; start: %s, end: %s', coalesce(p_start::text, 'NULL'), coalesce(p_end::text, 'NULL')),
                  HINT = 'Give both (e.g. 22:00 and 04:00) or neither.';
    END IF;
    IF p_start IS NULL THEN
        RETURN;
    END IF;
    IF p_start = p_end THEN
        RAISE EXCEPTION 'an execution window must not start where it ends'
            USING ERRCODE = '22023',
                  DETAIL = format('field: execution_window; start = end = %s', p_start),
                  HINT = 'Leave both NULL for no window; a window across midnight has start > end (22:00-04:00).';
    END IF;
    IF date_trunc('minute', p_start) <> p_start OR date_trunc('minute', p_end) <> p_end THEN
        RAISE EXCEPTION 'execution window ends must be whole minutes'
            USING ERRCODE = '22023',
                  DETAIL = format('field: execution_window; start: %s, end: %s', p_start, p_end);
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_window(time, time) IS
'Internal: validates an execution window (both ends or none, whole minutes, start <> end; start > end wraps midnight); 22023 otherwise.';
