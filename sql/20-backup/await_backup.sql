-- Blocks until a backup has reached its outcome.

CREATE OR REPLACE FUNCTION backup_mgmt.await_backup(p_backup_hk bytea, p_timeout interval DEFAULT '1 hour')
RETURNS TABLE (
    backup_id bytea,
    backup_status varchar(20),
    backup_size_bytes bigint,
    duration_seconds numeric,
    verification_status varchar(20),
    error_message text
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Polls the current version every 0.2 s. VOLATILE under READ COMMITTED, each
-- statement takes a fresh snapshot and so sees what the agent committed. Done
-- when the status is final and, for a COMPLETED or PARTIAL backup, the
-- verification is no longer PENDING.
DECLARE
    v_deadline timestamptz := clock_timestamp() + p_timeout;
    v_bk text;
    v_status text;
    v_verification text;
    v_first boolean := true;
    v_own boolean;
BEGIN
    IF p_backup_hk IS NULL OR p_timeout IS NULL THEN
        RAISE EXCEPTION 'await_backup: p_backup_hk and p_timeout must not be NULL'
            USING ERRCODE = '22004', HINT = 'Pass the backup_id returned by create_full_backup(); p_timeout defaults to 1 hour.';
    END IF;
    IF p_timeout < interval '0' THEN
        RAISE EXCEPTION 'await_backup: p_timeout must not be negative (%)', p_timeout
            USING ERRCODE = '22023', HINT = 'For example interval ''10 minutes''.';
    END IF;

    LOOP
        -- Another tenant's backup (or a system one, for a tenant's role) looks missing.
        SELECT c.backup_bk, c.backup_status, c.verification_status
          INTO v_bk, v_status, v_verification
          FROM backup_mgmt.backup_execution_current AS c
         WHERE c.backup_hk = p_backup_hk AND backup_mgmt._visible_to_caller(c.tenant_hk);
        IF NOT FOUND THEN
            RAISE EXCEPTION 'await_backup: no backup with id %', encode(p_backup_hk, 'hex')
                USING ERRCODE = 'P0002', HINT = 'List backups with SELECT * FROM backup_mgmt.backup_list.';
        END IF;

        EXIT WHEN v_status IN ('FAILED', 'CANCELLED', 'EXPIRED')
               OR (v_status IN ('COMPLETED', 'PARTIAL') AND v_verification IS DISTINCT FROM 'PENDING');

        IF v_first THEN
            v_first := false;
            IF current_setting('transaction_isolation') <> 'read committed' THEN
                RAISE EXCEPTION 'await_backup: cannot wait inside a % transaction', upper(current_setting('transaction_isolation'))
                    USING ERRCODE = '0A000',
                          DETAIL = 'The transaction''s snapshot would never show the agent''s progress.',
                          HINT = 'Call await_backup in READ COMMITTED (the default), outside an explicit REPEATABLE READ or SERIALIZABLE transaction.';
            END IF;
            -- Written by this uncommitted transaction: nobody else can see it.
            SELECT s.xmin::text = (txid_current_if_assigned() % 4294967296)::text INTO v_own
              FROM backup_mgmt.backup_execution_s AS s
             WHERE s.backup_hk = p_backup_hk AND s.load_end_date IS NULL;
            IF v_own THEN
                RAISE EXCEPTION 'await_backup: backup % was changed by this very transaction, which has not committed', v_bk
                    USING ERRCODE = '55000',
                          DETAIL = 'The agent cannot see the request before it is committed.',
                          HINT = 'Commit after create_full_backup(), then call await_backup().';
            END IF;
        END IF;

        IF clock_timestamp() >= v_deadline THEN
            RAISE EXCEPTION 'await_backup: backup % is still % (verification %) after %', v_bk, v_status, coalesce(v_verification, 'none'), p_timeout
                USING ERRCODE = '57014',
                      DETAIL = CASE WHEN NOT EXISTS (SELECT 1 FROM backup_mgmt.agent AS a
                                                      WHERE a.stopped_at IS NULL
                                                        AND a.heartbeat_at >= clock_timestamp() - backup_mgmt._agent_live_window())
                                    THEN 'No live agent is registered.' ELSE 'The backup goes on.' END,
                      HINT = 'Call await_backup again to keep waiting; start `backup-mgmt agent` if none is running.';
        END IF;
        PERFORM pg_sleep(0.2);
    END LOOP;

    RETURN QUERY SELECT * FROM backup_mgmt._backup_status_row(p_backup_hk);
END;
$$;

COMMENT ON FUNCTION backup_mgmt.await_backup(bytea, interval) IS
'Waits (polling every 0.2 s with fresh snapshots; call it in READ COMMITTED after the request was committed) until the backup is COMPLETED/FAILED/CANCELLED/PARTIAL/EXPIRED and, when a verification was requested, verified; returns the same row as create_full_backup. Timeout: SQLSTATE 57014 naming the backup and its status; unknown backup: P0002.';
