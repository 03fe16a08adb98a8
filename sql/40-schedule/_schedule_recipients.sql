-- Validates a schedule's notification recipients.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_recipients(p_recipients text[])
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$
-- Recipients are addresses or channel names for whoever delivers
-- notifications: 1 to 254 printable characters each, no duplicates, at most
-- 100. Returns them unchanged; 22023 otherwise.
DECLARE
    v_recipient text;
BEGIN
    IF cardinality(p_recipients) > 100 THEN
        RAISE EXCEPTION 'at most 100 notification recipients, not %', cardinality(p_recipients)
            USING ERRCODE = '22023', DETAIL = 'field: notification_recipients';
    END IF;
    FOREACH v_recipient IN ARRAY coalesce(p_recipients, '{}') LOOP
        IF v_recipient IS NULL OR length(v_recipient) NOT BETWEEN 1 AND 254 OR v_recipient ~ '[\x01-\x1f\x7f]' OR v_recipient <> btrim(v_recipient) THEN
            RAISE EXCEPTION 'invalid notification recipient %', coalesce(left(to_json(v_recipient)::text, 60), 'NULL')
                USING ERRCODE = '22023', DETAIL = 'field: notification_recipients',
                      HINT = '1 to 254 printable characters without leading or trailing blanks, e.g. dba@example.com.';
        END IF;
    END LOOP;
    IF (SELECT count(DISTINCT r) FROM unnest(p_recipients) AS r) <> cardinality(p_recipients) THEN
        RAISE EXCEPTION 'notification recipients must not repeat'
            USING ERRCODE = '22023', DETAIL = 'field: notification_recipients';
    END IF;
    RETURN p_recipients;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_recipients(text[]) IS
'Internal: validates notification recipients (at most 100, each 1-254 printable characters without surrounding blanks, no duplicates); 22023 otherwise.';
