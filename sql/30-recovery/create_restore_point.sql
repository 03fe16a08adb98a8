-- Marks a named point in the WAL that a recovery can later stop at.

CREATE OR REPLACE FUNCTION backup_mgmt.create_restore_point(p_name text)
RETURNS TABLE (
    name text,
    lsn pg_lsn,
    created_at timestamptz,
    created_by text
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
-- pg_create_restore_point() writes the WAL record; the catalog row keeps its
-- LSN, timeline and system so a plan can tell which backup ended before it
-- and which segment must be archived. Names are unique in the catalog (a
-- recovery to a name stops at the first record of that name). Checks first,
-- so a refused name writes neither WAL nor row.
DECLARE
    v_name text := p_name;
    v_lsn pg_lsn;
    v_timeline integer;
    v_sysid text;
BEGIN
    PERFORM backup_mgmt._require_tenant_access(NULL, 'create_restore_point');
    PERFORM backup_mgmt._require_args(v_name IS NULL, 'create_restore_point', 'p_name', 'For example ''before_upgrade_2026_11''.');
    IF v_name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'create_restore_point: invalid restore point name %', quote_literal(v_name)
            USING ERRCODE = '22023',
                  DETAIL = 'A name has 1 to 63 characters: a letter or digit, then letters, digits, _ . : or -.',
                  HINT = 'For example ''before_upgrade_2026-11-22''.';
    END IF;
    IF pg_is_in_recovery() THEN
        RAISE EXCEPTION 'create_restore_point: the cluster is in recovery'
            USING ERRCODE = '55000', HINT = 'Create restore points on the primary.';
    END IF;

    -- (7346224, 2): restore-point names are checked and taken one at a time.
    PERFORM pg_advisory_xact_lock(7346224, 2);
    IF EXISTS (SELECT 1 FROM backup_mgmt.restore_point AS r WHERE r.name = v_name) THEN
        RAISE EXCEPTION 'create_restore_point: a restore point named % already exists', quote_literal(v_name)
            USING ERRCODE = '23505',
                  DETAIL = 'A recovery to a name stops at the first WAL record of that name, so names are not reused.',
                  HINT = 'Choose another name; SELECT name, lsn, created_at FROM backup_mgmt.restore_point lists them.';
    END IF;

    v_lsn := pg_create_restore_point(v_name);
    -- The timeline the record went to (pg_walfile_name uses the insert timeline).
    v_timeline := ('x' || lpad(left(pg_walfile_name(v_lsn), 8), 16, '0'))::bit(64)::bigint::integer;
    SELECT c.system_identifier::text INTO v_sysid FROM pg_control_system() AS c;

    INSERT INTO backup_mgmt.restore_point AS r (name, lsn, timeline, system_identifier, created_at, created_by)
    VALUES (v_name, v_lsn, v_timeline, v_sysid, now(), session_user);

    RETURN QUERY
        SELECT r.name, r.lsn, r.created_at, r.created_by FROM backup_mgmt.restore_point AS r WHERE r.name = v_name;
END;
$$;

COMMENT ON FUNCTION backup_mgmt.create_restore_point(text) IS
'Creates a named restore point (pg_create_restore_point) and records name, LSN, timeline, system identifier, time and session_user in backup_mgmt.restore_point; returns (name, lsn, created_at, created_by). Recover to it with initiate_recovery(''name'', p_name); its WAL segment must be archived first (SELECT pg_switch_wal() to hurry). Name: ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$ (22023; NULL 22004), unique (23505); in recovery: 55000. Note: if the calling transaction rolls back, the WAL record stays without a catalog row; a later restore point of the same name would then be shadowed by it.';
