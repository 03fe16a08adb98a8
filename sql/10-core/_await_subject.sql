-- Blocks until a backup or a recovery has reached its outcome.

CREATE OR REPLACE FUNCTION backup_mgmt._await_subject(p_kind text, p_hk bytea, p_timeout interval, p_request text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
-- The loop of await_backup and await_recovery (p_kind 'backup' or
-- 'recovery'; p_request names the call that returned the id, for hints).
-- Polls the current version every 0.2 s. VOLATILE under READ COMMITTED, each
-- statement takes a fresh snapshot and so sees what the agent committed.
-- Done for a backup when the status is final and, for a COMPLETED or PARTIAL
-- backup, the verification is no longer PENDING; for a recovery at
-- COMPLETED, FAILED, CANCELLED, REJECTED (one waiting for approval is not
-- final: it times out like a running one).
DECLARE
    v_caller text := 'await_' || p_kind;
    v_deadline timestamptz := clock_timestamp() + p_timeout;
    v_bk text;
    v_status text;
    v_verification text;
    v_final boolean;
    v_first boolean := true;
    v_own boolean;
BEGIN
    IF p_kind NOT IN ('backup', 'recovery') THEN
        RAISE EXCEPTION '_await_subject: unknown kind %', quote_literal(p_kind)
            USING ERRCODE = '22023', HINT = 'This is a bug in backup_mgmt.';
    END IF;
    IF p_hk IS NULL OR p_timeout IS NULL THEN
        RAISE EXCEPTION '%: p_%_hk and p_timeout must not be NULL', v_caller, p_kind
            USING ERRCODE = '22004', HINT = format('Pass the %s_id returned by %s; p_timeout defaults to 1 hour.', p_kind, p_request);
    END IF;
    IF p_timeout < interval '0' THEN
        RAISE EXCEPTION '%: p_timeout must not be negative (%)', v_caller, p_timeout
            USING ERRCODE = '22023', HINT = format('For example interval %L.', CASE p_kind WHEN 'backup' THEN '10 minutes' ELSE '15 minutes' END);
    END IF;

    LOOP
        -- Another tenant's subject (or a system one, for a tenant's role) looks missing.
        IF p_kind = 'backup' THEN
            SELECT c.backup_bk, c.backup_status, c.verification_status
              INTO v_bk, v_status, v_verification
              FROM backup_mgmt.backup_execution_current AS c
             WHERE c.backup_hk = p_hk AND backup_mgmt._visible_to_caller(c.tenant_hk);
            v_final := v_status IN ('FAILED', 'CANCELLED', 'EXPIRED')
                       OR (v_status IN ('COMPLETED', 'PARTIAL') AND v_verification IS DISTINCT FROM 'PENDING');
        ELSE
            SELECT r.recovery_bk, r.recovery_status INTO v_bk, v_status
              FROM backup_mgmt.recovery_operation_current AS r
             WHERE r.recovery_hk = p_hk AND backup_mgmt._visible_to_caller(r.tenant_hk);
            v_final := v_status IN ('COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED');
        END IF;
        IF v_bk IS NULL THEN
            RAISE EXCEPTION '%: no % with id %', v_caller, p_kind, encode(p_hk, 'hex')
                USING ERRCODE = 'P0002',
                      HINT = format('List %s with SELECT * FROM backup_mgmt.%s_list.',
                                    CASE p_kind WHEN 'backup' THEN 'backups' ELSE 'recoveries' END, p_kind);
        END IF;
        EXIT WHEN v_final;

        IF v_first THEN
            v_first := false;
            IF current_setting('transaction_isolation') <> 'read committed' THEN
                RAISE EXCEPTION '%: cannot wait inside a % transaction', v_caller, upper(current_setting('transaction_isolation'))
                    USING ERRCODE = '0A000',
                          DETAIL = 'The transaction''s snapshot would never show the agent''s progress.',
                          HINT = format('Call %s in READ COMMITTED (the default), outside an explicit REPEATABLE READ or SERIALIZABLE transaction.', v_caller);
            END IF;
            -- Written by this uncommitted transaction: nobody else can see it.
            EXECUTE format('SELECT s.xmin::text = (txid_current_if_assigned() %% 4294967296)::text FROM backup_mgmt.%I AS s
                             WHERE s.%I = $1 AND s.load_end_date IS NULL',
                           CASE p_kind WHEN 'backup' THEN 'backup_execution_s' ELSE 'recovery_operation_s' END, p_kind || '_hk')
               INTO v_own USING p_hk;
            IF v_own THEN
                RAISE EXCEPTION '%: % % was changed by this very transaction, which has not committed', v_caller, p_kind, v_bk
                    USING ERRCODE = '55000',
                          DETAIL = CASE p_kind WHEN 'backup' THEN 'The agent cannot see the request before it is committed.'
                                   ELSE 'The agent and the approvers cannot see the request before it is committed.' END,
                          HINT = CASE p_kind WHEN 'backup' THEN 'Commit after create_full_backup(), then call await_backup().'
                                 ELSE 'Commit after initiate_recovery() or approve_recovery(), then call await_recovery().' END;
            END IF;
        END IF;

        IF clock_timestamp() >= v_deadline THEN
            RAISE EXCEPTION '%: % % is still % after %', v_caller, p_kind, v_bk,
                    v_status || CASE p_kind WHEN 'backup' THEN format(' (verification %s)', coalesce(v_verification, 'none')) ELSE '' END,
                    p_timeout
                USING ERRCODE = '57014',
                      DETAIL = CASE WHEN p_kind = 'recovery' AND v_status = 'PENDING' THEN 'It waits for approve_recovery() by a member of recovery_approver.'
                                    WHEN NOT EXISTS (SELECT 1 FROM backup_mgmt.agent AS a
                                                      WHERE a.stopped_at IS NULL
                                                        AND a.heartbeat_at >= clock_timestamp() - backup_mgmt._agent_live_window())
                                    THEN 'No live agent is registered.' ELSE format('The %s goes on.', p_kind) END,
                      HINT = format('Call %s again to keep waiting; start `backup-mgmt agent` if none is running.', v_caller);
        END IF;
        PERFORM pg_sleep(0.2);
    END LOOP;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._await_subject(text, bytea, interval, text) IS
'Internal (await_backup, await_recovery): waits, polling every 0.2 s with fresh snapshots, until the backup or recovery (p_kind) has its outcome. NULL: 22004; negative timeout: 22023; unknown or invisible: P0002; not READ COMMITTED: 0A000; written by this uncommitted transaction: 55000; timeout: 57014.';
