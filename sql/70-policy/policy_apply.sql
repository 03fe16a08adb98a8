-- Applies a policy file in the caller's transaction.

CREATE OR REPLACE FUNCTION backup_mgmt.policy_apply(p_policy jsonb, p_wait boolean DEFAULT true)
RETURNS TABLE (object_kind text, object_name text, action text, field text, old_value jsonb, new_value jsonb, drift boolean, detail text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- (7346225, 1): the policy lock, held to the end of the caller's
-- transaction. A second apply waits (p_wait) or is refused (55P03), and
-- plans only after the first committed: READ COMMITTED gives each statement
-- below a fresh snapshot, so it sees the first apply's result and never a
-- mix of the two files. Everything goes through the public functions, so
-- history and pg_cron follow as for a call by hand; any error undoes all of
-- it. After applying, the plan is computed again and must be empty.
DECLARE
    v_doc jsonb;
    v_plan jsonb;
    v_item jsonb;
    v_name text;
    v_left text;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'policy_apply');
    IF p_wait IS NULL THEN
        RAISE EXCEPTION 'policy_apply: p_wait must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF p_wait THEN
        PERFORM pg_advisory_xact_lock(7346225, 1);
    ELSIF NOT pg_try_advisory_xact_lock(7346225, 1) THEN
        RAISE EXCEPTION 'another policy apply is running'
            USING ERRCODE = '55P03', HINT = 'Try again when it has finished, or wait for it (p_wait => true).';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'policy_apply needs READ COMMITTED'
            USING ERRCODE = '25001', DETAIL = format('This transaction is %s: it would plan from a snapshot taken before the lock.', current_setting('transaction_isolation'));
    END IF;

    v_doc := backup_mgmt._policy_document(p_policy);
    SELECT coalesce(jsonb_agg(to_jsonb(c)), '[]') INTO v_plan FROM backup_mgmt._policy_changes(v_doc) AS c;
    IF jsonb_array_length(v_plan) = 0 THEN
        RETURN;
    END IF;

    -- Drops first (a pruned name frees nothing, but its job goes before new ones come).
    FOR v_name IN SELECT DISTINCT r->>'object_name' FROM jsonb_array_elements(v_plan) AS r
                   WHERE r->>'object_kind' = 'schedule' AND r->>'action' = 'drop' ORDER BY 1 LOOP
        PERFORM backup_mgmt.drop_backup_schedule(v_name);
    END LOOP;
    FOR v_item IN SELECT s FROM jsonb_array_elements(v_doc->'schedules') AS s
                   WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(v_plan) AS r
                                  WHERE r->>'object_kind' = 'schedule' AND r->>'object_name' = s->>'name'
                                    AND r->>'action' IN ('create', 'alter', 'pause', 'resume')) LOOP
        PERFORM backup_mgmt._policy_schedule_apply(v_item->>'name', v_item->'declaration');
    END LOOP;
    FOR v_item IN SELECT r FROM jsonb_array_elements(v_plan) AS r
                   WHERE r->>'object_kind' = 'setting' AND r->>'action' IN ('set', 'reset') LOOP
        PERFORM backup_mgmt.set_setting(v_item->>'object_name', CASE WHEN v_item->>'action' = 'set' THEN v_item->>'new_value' END);
    END LOOP;

    -- What is managed now: exactly what the file declares.
    DELETE FROM backup_mgmt.policy_object AS o
     WHERE (o.object_kind = 'schedule' AND o.object_name NOT IN (SELECT s->>'name' FROM jsonb_array_elements(v_doc->'schedules') AS s))
        OR (o.object_kind = 'setting' AND o.object_name NOT IN (SELECT s->>'name' FROM jsonb_array_elements(v_doc->'settings') AS s));
    INSERT INTO backup_mgmt.policy_object AS o (object_kind, object_name, declaration, declaration_sha256, policy_sha256)
    SELECT d.kind, d.name, d.declaration, sha256(convert_to(d.declaration::text, 'UTF8')), decode(v_doc->>'sha256', 'hex')
      FROM (SELECT 'schedule' AS kind, s->>'name' AS name, s->'declaration' AS declaration FROM jsonb_array_elements(v_doc->'schedules') AS s
            UNION ALL
            SELECT 'setting', s->>'name', jsonb_build_object('value', s->'value') FROM jsonb_array_elements(v_doc->'settings') AS s) AS d
    ON CONFLICT ON CONSTRAINT policy_object_pkey DO UPDATE
        SET declaration = excluded.declaration, declaration_sha256 = excluded.declaration_sha256,
            policy_sha256 = excluded.policy_sha256, applied_at = now(), applied_by = session_user;
    INSERT INTO backup_mgmt.policy_apply (policy_sha256, policy, changes)
    VALUES (decode(v_doc->>'sha256', 'hex'), v_doc, v_plan);

    SELECT string_agg(format('%s %s %s %s', c.action, c.object_kind, c.object_name, coalesce(c.field, '')), '; ') INTO v_left
      FROM backup_mgmt._policy_changes(v_doc) AS c;
    IF v_left IS NOT NULL THEN
        RAISE EXCEPTION 'policy_apply did not reach the declared state; nothing was applied'
            USING ERRCODE = 'XX000', DETAIL = 'Still to do: ' || v_left, HINT = 'This is a bug in backup_mgmt.';
    END IF;

    RETURN QUERY SELECT r.object_kind, r.object_name, r.action, r.field, r.old_value, r.new_value, r.drift, r.detail
                   FROM jsonb_to_recordset(v_plan) AS r (object_kind text, object_name text, action text, field text,
                                                         old_value jsonb, new_value jsonb, drift boolean, detail text);
END;
$$;

COMMENT ON FUNCTION backup_mgmt.policy_apply(jsonb, boolean) IS
'Applies a backup policy (the document of policy_plan) in the caller''s transaction and returns the rows of the plan it carried out (none: nothing to do, nothing written). Schedules change through create/alter/pause/resume/drop_backup_schedule, set_schedule_retention and set_schedule_notifications (history in backup_schedule_s, pg_cron jobs in step; a dropped schedule is defined again from its declaration only), settings through set_setting. Declared objects are recorded as managed in policy_object, each apply in policy_apply. prune: true drops system-wide schedules and resets retention.*/health.* settings the file does not declare; without it they are left alone. Serialised by an advisory lock: p_wait true waits for a running apply, false refuses with 55P03. Needs READ COMMITTED (25001). Any error (bad document 22023 with its path, a refused statement) leaves everything as it was.';
