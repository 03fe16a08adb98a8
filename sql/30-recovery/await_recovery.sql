-- Blocks until a recovery has reached its outcome.

CREATE OR REPLACE FUNCTION backup_mgmt.await_recovery(p_recovery_hk bytea, p_timeout interval DEFAULT '1 hour')
RETURNS SETOF backup_mgmt.recovery_list
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- Polls the current version every 0.2 s; VOLATILE under READ COMMITTED each
-- statement takes a fresh snapshot and so sees what the agent committed.
-- Final: COMPLETED, FAILED, CANCELLED, REJECTED. A recovery waiting for
-- approval is not final: it times out like a running one.
DECLARE
    v_deadline timestamptz := clock_timestamp() + p_timeout;
    v_bk text;
    v_status text;
    v_first boolean := true;
    v_own boolean;
BEGIN
    IF p_recovery_hk IS NULL OR p_timeout IS NULL THEN
        RAISE EXCEPTION 'await_recovery: p_recovery_hk and p_timeout must not be NULL'
            USING ERRCODE = '22004', HINT = 'Pass the recovery_id returned by initiate_recovery(); p_timeout defaults to 1 hour.';
    END IF;
    IF p_timeout < interval '0' THEN
        RAISE EXCEPTION 'await_recovery: p_timeout must not be negative (%)', p_timeout
            USING ERRCODE = '22023', HINT = 'For example interval ''15 minutes''.';
    END IF;

    LOOP
        -- Another tenant's recovery (or a system one, for a tenant's role) looks missing.
        SELECT r.recovery_bk, r.recovery_status INTO v_bk, v_status
          FROM backup_mgmt.recovery_operation_current AS r
         WHERE r.recovery_hk = p_recovery_hk AND backup_mgmt._visible_to_caller(r.tenant_hk);
        IF NOT FOUND THEN
            RAISE EXCEPTION 'await_recovery: no recovery with id %', encode(p_recovery_hk, 'hex')
                USING ERRCODE = 'P0002', HINT = 'List recoveries with SELECT * FROM backup_mgmt.recovery_list.';
        END IF;
        EXIT WHEN v_status IN ('COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED');

        IF v_first THEN
            v_first := false;
            IF current_setting('transaction_isolation') <> 'read committed' THEN
                RAISE EXCEPTION 'await_recovery: cannot wait inside a % transaction', upper(current_setting('transaction_isolation'))
                    USING ERRCODE = '0A000',
                          DETAIL = 'The transaction''s snapshot would never show the agent''s progress.',
                          HINT = 'Call await_recovery in READ COMMITTED (the default), outside an explicit REPEATABLE READ or SERIALIZABLE transaction.';
            END IF;
            -- Written by this uncommitted transaction: nobody else can see it.
            SELECT s.xmin::text = (txid_current_if_assigned() % 4294967296)::text INTO v_own
              FROM backup_mgmt.recovery_operation_s AS s
             WHERE s.recovery_hk = p_recovery_hk AND s.load_end_date IS NULL;
            IF v_own THEN
                RAISE EXCEPTION 'await_recovery: recovery % was changed by this very transaction, which has not committed', v_bk
                    USING ERRCODE = '55000',
                          DETAIL = 'The agent and the approvers cannot see the request before it is committed.',
                          HINT = 'Commit after initiate_recovery() or approve_recovery(), then call await_recovery().';
            END IF;
        END IF;

        IF clock_timestamp() >= v_deadline THEN
            RAISE EXCEPTION 'await_recovery: recovery % is still % after %', v_bk, v_status, p_timeout
                USING ERRCODE = '57014',
                      DETAIL = CASE WHEN v_status = 'PENDING' THEN 'It waits for approve_recovery() by a member of recovery_approver.'
                                    WHEN NOT EXISTS (SELECT 1 FROM backup_mgmt.agent AS a
                                                      WHERE a.stopped_at IS NULL
                                                        AND a.heartbeat_at >= clock_timestamp() - backup_mgmt._agent_live_window())
                                    THEN 'No live agent is registered.' ELSE 'The recovery goes on.' END,
                      HINT = 'Call await_recovery again to keep waiting; start `backup-mgmt agent` if none is running.';
        END IF;
        PERFORM pg_sleep(0.2);
    END LOOP;

    RETURN QUERY SELECT * FROM backup_mgmt.recovery_list AS l WHERE l.recovery_hk = p_recovery_hk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.await_recovery(bytea, interval) IS
'Waits (polling every 0.2 s with fresh snapshots; call it in READ COMMITTED after the request was committed) until the recovery is COMPLETED, FAILED, CANCELLED or REJECTED and returns its recovery_list row. Timeout: SQLSTATE 57014 naming the recovery and its status (PENDING = still waiting for approval); unknown recovery: P0002.';
