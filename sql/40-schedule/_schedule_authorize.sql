-- A schedule may start only what its owner may start directly.

CREATE OR REPLACE FUNCTION backup_mgmt._schedule_authorize(p_backup_type text, p_tenant_hk bytea, p_owner name, p_caller text)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Checked when a schedule is defined or its type changed (owner = the caller)
-- and again before every run (owner = created_by), because the owner's rights
-- or tenant binding may have changed since, and a run happens as the pack's
-- owner on behalf of pg_cron or an agent: the owner must still exist, hold
-- EXECUTE on the function the run calls, and be bound to no tenant (system
-- schedule) or to the schedule's tenant. 42501 otherwise.
DECLARE
    v_fn text := backup_mgmt._schedule_work_function(p_backup_type);
    v_role pg_catalog.pg_roles;
    v_bound bytea[];
BEGIN
    -- A tenant schedule of system-wide work (one defined before this was checked) runs nothing: 0A000.
    PERFORM backup_mgmt._schedule_backup_type(p_backup_type, p_tenant_hk);
    SELECT * INTO v_role FROM pg_catalog.pg_roles AS r WHERE r.rolname = p_owner;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: the owner % of this schedule no longer exists', p_caller, coalesce(quote_ident(p_owner), 'NULL')
            USING ERRCODE = '42501',
                  HINT = 'Drop the schedule and define it again as a role that may start its work.';
    END IF;
    IF v_role.rolsuper THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
                WHERE n.nspname = 'backup_mgmt' AND p.proname = v_fn)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
                        WHERE n.nspname = 'backup_mgmt' AND p.proname = v_fn
                          AND has_function_privilege(v_role.oid, p.oid, 'EXECUTE')) THEN
        RAISE EXCEPTION '%: % may not call backup_mgmt.%(), so a % schedule of its own may not either', p_caller, quote_ident(p_owner), v_fn, p_backup_type
            USING ERRCODE = '42501',
                  DETAIL = 'A schedule starts only what its owner may start directly.',
                  HINT = format('GRANT the role that may call backup_mgmt.%s() to %s, or let such a role own the schedule.', v_fn, quote_ident(p_owner));
    END IF;
    SELECT array_agg(DISTINCT t.tenant_hk) INTO v_bound
      FROM backup_mgmt.tenant_role AS t
      JOIN pg_catalog.pg_roles AS b ON b.rolname = t.role_name
     WHERE pg_has_role(v_role.oid, b.oid, 'MEMBER');
    IF v_bound IS NOT NULL AND (p_tenant_hk IS NULL OR NOT p_tenant_hk = ANY (v_bound)) THEN
        RAISE EXCEPTION '%: % is bound to a tenant and may not start % work for %', p_caller, quote_ident(p_owner), p_backup_type,
                        CASE WHEN p_tenant_hk IS NULL THEN 'the whole cluster' ELSE 'another tenant' END
            USING ERRCODE = '42501',
                  DETAIL = 'A schedule starts only what its owner may start directly.',
                  HINT = 'A role bound to no tenant must own system-wide schedules.';
    END IF;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._schedule_authorize(text, bytea, name, text) IS
'Internal: returns when role p_owner may itself start the work of a p_backup_type schedule of tenant p_tenant_hk (NULL = system-wide): the type may be scoped to that tenant (0A000, see _schedule_backup_type), the role exists, is a superuser or holds EXECUTE on the work function, and is bound to no tenant or to that tenant; else 42501 naming p_caller. Called by create_backup_schedule and alter_backup_schedule (owner = the caller) and by run_schedule before every run (owner = created_by).';
