-- A whole cron expression parsed into value sets: the one parser behind
-- cron_parse(), cron_next() and the pg_cron registration.

CREATE OR REPLACE FUNCTION backup_mgmt._cron_fields(
    p_expr text,
    OUT minutes integer[],
    OUT hours integer[],
    OUT days_of_month integer[],
    OUT months integer[],
    OUT days_of_week integer[],
    OUT dom_star boolean,
    OUT dow_star boolean,
    OUT expression text,
    OUT alias text
)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- Five fields separated by blanks (no seconds: pg_cron 1.4 has none), or one
-- of the @aliases. dom_star/dow_star are Vixie cron's flags: a day field that
-- begins with "*" (also "*/2") does not take part in the day-of-month OR
-- day-of-week rule; pg_cron evaluates exactly that way. expression is the
-- five-field text handed to pg_cron (aliases expanded, blanks collapsed).
DECLARE
    v_text text;
    v_fields text[];
    v_max_days constant integer[] := ARRAY[31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
BEGIN
    IF p_expr IS NULL THEN
        RAISE EXCEPTION 'invalid cron expression: NULL'
            USING ERRCODE = '22004', HINT = 'Give five fields: minute hour day-of-month month day-of-week.';
    END IF;
    IF length(p_expr) > 100 THEN
        RAISE EXCEPTION 'invalid cron expression: longer than 100 characters'
            USING ERRCODE = '22023', DETAIL = format('field: expression; length: %s', length(p_expr));
    END IF;
    IF p_expr ~ '[\x01-\x08\x0a-\x1f\x7f-\x9f]' THEN
        RAISE EXCEPTION 'invalid cron expression: contains a control character'
            USING ERRCODE = '22023', DETAIL = format('field: expression; value: %s', to_json(p_expr)::text),
                  HINT = 'Separate the fields with spaces.';
    END IF;

    v_text := btrim(p_expr, E' \t');
    IF left(v_text, 1) = '@' THEN
        alias := lower(v_text);
        v_text := CASE alias
            WHEN '@yearly' THEN '0 0 1 1 *'
            WHEN '@annually' THEN '0 0 1 1 *'
            WHEN '@monthly' THEN '0 0 1 * *'
            WHEN '@weekly' THEN '0 0 * * 0'
            WHEN '@daily' THEN '0 0 * * *'
            WHEN '@midnight' THEN '0 0 * * *'
            WHEN '@hourly' THEN '0 * * * *'
        END;
        IF v_text IS NULL THEN
            RAISE EXCEPTION 'invalid cron expression: unknown alias %', to_json(p_expr)::text
                USING ERRCODE = '22023', DETAIL = format('field: alias; value: %s', to_json(p_expr)::text),
                      HINT = 'Known aliases: @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually (@reboot is not a time).';
        END IF;
    END IF;

    v_fields := regexp_split_to_array(v_text, E'[ \t]+');
    IF v_text = '' OR array_length(v_fields, 1) <> 5 THEN
        RAISE EXCEPTION 'invalid cron expression: expected 5 fields, got %', CASE WHEN v_text = '' THEN 0 ELSE array_length(v_fields, 1) END
            USING ERRCODE = '22023',
                  DETAIL = format('field: expression; value: %s', to_json(p_expr)::text),
                  HINT = 'minute hour day-of-month month day-of-week, e.g. "0 2 * * *"; seconds are not supported.';
    END IF;

    minutes := backup_mgmt._cron_field(v_fields[1], 'minute', 0, 59);
    hours := backup_mgmt._cron_field(v_fields[2], 'hour', 0, 23);
    days_of_month := backup_mgmt._cron_field(v_fields[3], 'day-of-month', 1, 31);
    months := backup_mgmt._cron_field(v_fields[4], 'month', 1, 12,
                  ARRAY['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']);
    -- 0 and 7 are both Sunday
    days_of_week := ARRAY(SELECT DISTINCT v % 7 FROM unnest(backup_mgmt._cron_field(v_fields[5], 'day-of-week', 0, 7,
                  ARRAY['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'])) AS v ORDER BY 1);
    dom_star := left(v_fields[3], 1) = '*';
    dow_star := left(v_fields[5], 1) = '*';

    -- With AND semantics (either day field starts with *) the day of month
    -- alone decides whether a date can ever match, e.g. "0 0 30 2 *".
    IF (dom_star OR dow_star) AND NOT EXISTS (
            SELECT 1 FROM unnest(months) AS m, unnest(days_of_month) AS d WHERE d <= v_max_days[m]) THEN
        RAISE EXCEPTION 'invalid cron expression: day-of-month % never occurs in month %', v_fields[3], v_fields[4]
            USING ERRCODE = '22023',
                  DETAIL = format('field: day-of-month; value: %s; month: %s', to_json(v_fields[3])::text, to_json(v_fields[4])::text),
                  HINT = 'The schedule would never run.';
    END IF;

    expression := upper(array_to_string(v_fields, ' '));
END;
$$;

COMMENT ON FUNCTION backup_mgmt._cron_fields(text) IS
'Internal: parses a 5-field cron expression or @alias into sorted value sets (day-of-week 0-6, Sunday 0) plus Vixie''s day-field star flags; 22023 with the offending field in DETAIL.';
