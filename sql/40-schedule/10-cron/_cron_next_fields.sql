-- cron_next() on an already parsed expression: walks months and days, never minutes.

CREATE OR REPLACE FUNCTION backup_mgmt._cron_next_fields(
    p_minutes integer[],
    p_hours integer[],
    p_days_of_month integer[],
    p_months integer[],
    p_days_of_week integer[],
    p_dom_star boolean,
    p_dow_star boolean,
    p_after timestamptz,
    p_timezone text
)
RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- Months outside the set are skipped whole, days failing the day rule one by
-- one, and a matching day asks _cron_day_next() for its first time. The walk
-- starts a day early and looks one day past a hit whose local date moved on
-- (a time shifted over midnight by a DST gap), so no earlier hit is missed.
DECLARE
    v_day date := (p_after AT TIME ZONE p_timezone)::date - 1;
    v_limit date := v_day + interval '400 years';
    v_dom integer;
    v_dow integer;
    v_hit timestamptz;
    v_best timestamptz;
BEGIN
    LOOP
        IF v_best IS NOT NULL AND (v_best AT TIME ZONE p_timezone)::date < v_day THEN
            RETURN v_best;
        END IF;
        IF v_day > v_limit THEN
            RETURN NULL;  -- unreachable for expressions _cron_fields() accepts
        END IF;
        IF NOT extract(month FROM v_day)::integer = ANY (p_months) THEN
            v_day := (date_trunc('month', v_day) + interval '1 month')::date;
        ELSE
            v_dom := extract(day FROM v_day)::integer;
            v_dow := extract(dow FROM v_day)::integer;
            IF (CASE WHEN p_dom_star OR p_dow_star
                     THEN v_dom = ANY (p_days_of_month) AND v_dow = ANY (p_days_of_week)
                     ELSE v_dom = ANY (p_days_of_month) OR v_dow = ANY (p_days_of_week) END) THEN
                v_hit := backup_mgmt._cron_day_next(p_hours, p_minutes, v_day, p_after, p_timezone);
                IF v_hit IS NOT NULL AND (v_best IS NULL OR v_hit < v_best) THEN
                    v_best := v_hit;
                END IF;
            END IF;
            v_day := v_day + 1;
        END IF;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._cron_next_fields(integer[], integer[], integer[], integer[], integer[], boolean, boolean, timestamptz, text) IS
'Internal: cron_next() for value sets from _cron_fields(): first matching minute strictly after p_after in p_timezone.';
