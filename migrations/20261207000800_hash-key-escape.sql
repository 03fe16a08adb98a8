-- Up Migration
-- hash_key() now escapes '\' and '|' inside a part (sql/00-generated/hash_key.sql),
-- so hash_key('a|b','c') and hash_key('a','b|c') differ. A part holding
-- neither character hashes as before. Stored hash keys stay valid only if no
-- stored business key holds either character: backup and recovery keys are
-- held to [A-Z0-9_] by their CHECK constraints and schedule names to
-- [a-z0-9_-] by _schedule_name(); this checks it rather than assume it.
-- Tenant hash keys are computed by the caller (hash_key('TENANT_A')): a
-- tenant name with '|' or '\' hashes differently from now on (README).
DO $$
DECLARE
    v_bad text;
BEGIN
    SELECT string_agg(v.bk, ', ') INTO v_bad
    FROM (
        SELECT backup_bk AS bk FROM backup_mgmt.backup_execution_h
        UNION ALL SELECT recovery_bk FROM backup_mgmt.recovery_operation_h
        UNION ALL SELECT schedule_bk FROM backup_mgmt.backup_schedule_h
    ) AS v
    WHERE strpos(v.bk, '|') > 0 OR strpos(v.bk, '\') > 0;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'business keys contain | or \: %', left(v_bad, 500)
            USING ERRCODE = '55000',
                  DETAIL = 'hash_key() escapes these characters from this version on; the stored hash keys of these rows would no longer match.',
                  HINT = 'Report this: such keys cannot have been made by backup_mgmt.';
    END IF;
END;
$$;

-- Down Migration
-- Nothing to undo: the check changes nothing.
