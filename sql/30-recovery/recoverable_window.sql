-- The recoverability of the cluster this catalog lives in.

CREATE OR REPLACE FUNCTION backup_mgmt.recoverable_window()
RETURNS SETOF backup_mgmt.recoverability
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
-- The view's estimated cost is far above jit_above_cost on a big archive: JIT
-- compiling it took 6 s of an 8 s call at 20,000 segments, for a query that
-- then runs in milliseconds.
SET jit = off
AS $$
    -- One row per timeline of the current system identifier, newest first.
    SELECT w.*
      FROM backup_mgmt.recoverability AS w
     WHERE w.system_identifier = (SELECT c.system_identifier::text FROM pg_control_system() AS c)
     ORDER BY w.timeline_id DESC
$$;

COMMENT ON FUNCTION backup_mgmt.recoverable_window() IS
'Rows of backup_mgmt.recoverability for this cluster''s system identifier (one per timeline, newest first): earliest/latest recoverable time and LSN, WAL gaps, RPO now.';
