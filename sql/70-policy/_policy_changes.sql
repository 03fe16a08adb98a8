-- What applying a normalised policy would change: the plan, one row per change.

CREATE OR REPLACE FUNCTION backup_mgmt._policy_changes(p_doc jsonb)
RETURNS TABLE (object_kind text, object_name text, action text, field text, old_value jsonb, new_value jsonb, drift boolean, detail text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- p_doc comes from _policy_document(). Actions:
--   schedule: create (one row per field; also a dropped schedule defined
--   again), alter (a field), pause / resume (field paused), drop (prune: a
--   system-wide schedule the file does not declare), adopt (a schedule made
--   by hand that matches the file becomes managed), record (state matches
--   already, only the stored declaration changes), release (managed, no
--   longer in the file, no prune: left as it is, no longer managed);
--   setting: set, reset (to the default: declared null, or prune), adopt,
--   record, release.
-- drift: the row undoes a change made by hand since the last apply (the
-- object is managed and its state differs from the declaration applied).
-- Tenants' schedules are never managed, pruned or touched.
DECLARE
    v_item jsonb;
    v_decl jsonb;
    v_cur jsonb;
    v_managed jsonb;
    v_s backup_mgmt.backup_schedule_s;
    v_tenant bytea;
    v_hub boolean;
    v_key text;
    v_changed boolean;
    v_prune boolean := coalesce((p_doc->>'prune')::boolean, false);
    v_declared text[] := ARRAY(SELECT s->>'name' FROM jsonb_array_elements(p_doc->'schedules') AS s);
    v_declared_settings text[] := ARRAY(SELECT s->>'name' FROM jsonb_array_elements(p_doc->'settings') AS s);
    v_row record;
    v_value text;
BEGIN
    object_kind := 'schedule';
    FOR v_item IN SELECT s FROM jsonb_array_elements(p_doc->'schedules') AS s LOOP
        object_name := v_item->>'name';
        v_decl := v_item->'declaration';
        v_hub := false;
        SELECT true, h.tenant_hk INTO v_hub, v_tenant FROM backup_mgmt.backup_schedule_h AS h WHERE h.schedule_hk = backup_mgmt.hash_key(object_name);
        IF v_hub AND v_tenant IS NOT NULL THEN
            RAISE EXCEPTION '%.name: schedule % belongs to a tenant', v_item->>'path', object_name
                USING ERRCODE = '42710', DETAIL = format('path: %s.name', v_item->>'path'),
                      HINT = 'A policy file manages system-wide schedules; choose another name.';
        END IF;
        SELECT * INTO v_s FROM backup_mgmt.backup_schedule_s AS s
         WHERE s.schedule_hk = backup_mgmt.hash_key(object_name) AND s.load_end_date IS NULL;
        v_managed := (SELECT o.declaration FROM backup_mgmt.policy_object AS o WHERE o.object_kind = 'schedule' AND o.object_name = v_item->>'name');

        IF v_s.schedule_hk IS NULL OR coalesce(v_s.tags ? 'dropped_at', false) THEN
            action := 'create';
            old_value := NULL;
            drift := v_managed IS NOT NULL;
            detail := CASE WHEN v_s.schedule_hk IS NULL THEN 'new schedule'
                           WHEN v_managed IS NOT NULL THEN format('managed schedule dropped by hand at %s: defined again from the file', v_s.tags->>'dropped_at')
                           ELSE format('dropped at %s: defined again from the file (nothing of the dropped definition comes back)', v_s.tags->>'dropped_at') END;
            FOR field, new_value IN SELECT d.key, d.value FROM jsonb_each(v_decl) AS d ORDER BY d.key LOOP
                RETURN NEXT;
            END LOOP;
            CONTINUE;
        END IF;

        v_cur := backup_mgmt._policy_schedule_state(v_s);
        v_changed := false;
        FOR v_key IN SELECT k FROM jsonb_object_keys(v_decl) AS k ORDER BY k LOOP
            CONTINUE WHEN v_cur->v_key = v_decl->v_key;
            field := v_key;
            old_value := v_cur->v_key;
            new_value := v_decl->v_key;
            action := CASE WHEN v_key <> 'paused' THEN 'alter' WHEN new_value = 'true' THEN 'pause' ELSE 'resume' END;
            drift := v_managed IS NOT NULL AND v_cur->v_key IS DISTINCT FROM v_managed->v_key;
            detail := CASE WHEN drift THEN format('changed by hand since the last apply (applied: %s)', coalesce(v_managed->>v_key, 'null'))
                           WHEN v_managed IS NULL THEN 'defined by hand; becomes managed' END;
            v_changed := true;
            RETURN NEXT;
        END LOOP;
        IF NOT v_changed AND v_managed IS DISTINCT FROM v_decl THEN
            action := CASE WHEN v_managed IS NULL THEN 'adopt' ELSE 'record' END;
            field := NULL;
            old_value := NULL;
            new_value := NULL;
            drift := false;
            detail := CASE WHEN v_managed IS NULL THEN 'defined by hand and matching the file: becomes managed'
                           ELSE 'already as declared: the declaration is recorded' END;
            RETURN NEXT;
        END IF;
    END LOOP;

    -- Schedules the file does not declare (system-wide ones only).
    FOR v_row IN
        SELECT h.schedule_bk AS name, s.tags ? 'dropped_at' AS dropped, s.schedule_hk IS NOT NULL AS present,
               o.object_name IS NOT NULL AS managed, s AS version
          FROM backup_mgmt.backup_schedule_h AS h
          LEFT JOIN backup_mgmt.backup_schedule_s AS s ON s.schedule_hk = h.schedule_hk AND s.load_end_date IS NULL
          LEFT JOIN backup_mgmt.policy_object AS o ON o.object_kind = 'schedule' AND o.object_name = h.schedule_bk
         WHERE h.tenant_hk IS NULL AND h.schedule_bk <> ALL (v_declared)
           AND (o.object_name IS NOT NULL OR (v_prune AND s.schedule_hk IS NOT NULL AND NOT coalesce(s.tags ? 'dropped_at', false)))
         ORDER BY h.schedule_bk
    LOOP
        object_name := v_row.name;
        field := NULL;
        new_value := NULL;
        drift := false;
        IF v_prune AND v_row.present AND NOT coalesce(v_row.dropped, false) THEN
            action := 'drop';
            old_value := backup_mgmt._policy_schedule_state(v_row.version);
            detail := CASE WHEN v_row.managed THEN 'managed, no longer in the file (prune)' ELSE 'defined by hand, not in the file (prune)' END;
        ELSE
            action := 'release';
            old_value := NULL;
            detail := CASE WHEN coalesce(v_row.dropped, false) OR NOT v_row.present THEN 'no longer in the file; already dropped'
                           ELSE 'no longer in the file: left as it is, no longer managed (prune: true drops it)' END;
        END IF;
        RETURN NEXT;
    END LOOP;

    object_kind := 'setting';
    FOR v_item IN SELECT s FROM jsonb_array_elements(p_doc->'settings') AS s LOOP
        object_name := v_item->>'name';
        v_managed := (SELECT o.declaration FROM backup_mgmt.policy_object AS o WHERE o.object_kind = 'setting' AND o.object_name = v_item->>'name');
        v_value := backup_mgmt._policy_setting_value(object_name, backup_mgmt.setting(object_name));
        field := 'value';
        IF v_value IS DISTINCT FROM v_item->>'value' THEN
            action := CASE WHEN v_item->>'given' IS NULL THEN 'reset' ELSE 'set' END;
            old_value := to_jsonb(backup_mgmt.setting(object_name));
            new_value := to_jsonb(coalesce(v_item->>'given', (SELECT c.default_value FROM backup_mgmt._setting_catalog() AS c WHERE c.name = object_name)));
            drift := v_managed IS NOT NULL AND v_value IS DISTINCT FROM v_managed->>'value';
            detail := CASE WHEN drift THEN 'changed by hand since the last apply'
                           WHEN v_managed IS NULL THEN 'becomes managed' END;
            RETURN NEXT;
        ELSIF v_managed IS DISTINCT FROM jsonb_build_object('value', v_item->'value') THEN
            action := CASE WHEN v_managed IS NULL THEN 'adopt' ELSE 'record' END;
            field := NULL;
            old_value := NULL;
            new_value := NULL;
            drift := false;
            detail := CASE WHEN v_managed IS NULL THEN 'already as declared: becomes managed' ELSE 'already as declared: the declaration is recorded' END;
            RETURN NEXT;
        END IF;
    END LOOP;

    -- Settings the file does not declare: managed ones are released, and
    -- with prune every stored retention.* / health.* value goes back to its default.
    FOR v_row IN
        SELECT c.name, st.value AS stored, o.object_name IS NOT NULL AS managed
          FROM backup_mgmt._setting_catalog() AS c
          LEFT JOIN backup_mgmt.setting AS st ON st.name = c.name
          LEFT JOIN backup_mgmt.policy_object AS o ON o.object_kind = 'setting' AND o.object_name = c.name
         WHERE (c.name LIKE 'retention.%' OR c.name LIKE 'health.%') AND c.name <> ALL (v_declared_settings)
           AND (o.object_name IS NOT NULL OR (v_prune AND st.name IS NOT NULL))
         ORDER BY c.name
    LOOP
        object_name := v_row.name;
        drift := false;
        IF v_prune AND v_row.stored IS NOT NULL THEN
            action := 'reset';
            field := 'value';
            old_value := to_jsonb(v_row.stored);
            new_value := to_jsonb((SELECT c.default_value FROM backup_mgmt._setting_catalog() AS c WHERE c.name = v_row.name));
            detail := 'not in the file (prune): back to the default';
        ELSE
            action := 'release';
            field := NULL;
            old_value := NULL;
            new_value := NULL;
            detail := 'no longer in the file: left as it is, no longer managed (prune: true resets it)';
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._policy_changes(jsonb) IS
'Internal (policy): the plan for a document from _policy_document(): rows (object_kind schedule|setting, object_name, action create|alter|pause|resume|drop|adopt|record|release|set|reset, field, old_value, new_value, drift, detail). No rows = nothing to do. Only system-wide schedules are managed or pruned.';
