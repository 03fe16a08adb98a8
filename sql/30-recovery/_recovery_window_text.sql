-- The recoverable window of this cluster, as error messages show it.

CREATE OR REPLACE FUNCTION backup_mgmt._recovery_window_text(p_kind text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Over every timeline of the current system: 'earliest .. latest' in the
-- unit of the target kind (times for time, LSNs for lsn/name, transaction
-- ids for xid), or a sentence saying there is no window.
DECLARE
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
    v_text text;
BEGIN
    IF p_kind = 'xid' THEN
        SELECT format('xid %s .. %s', min(l.next_xid), pg_snapshot_xmax(pg_current_snapshot())::text::bigint - 1)
          INTO v_text
          FROM backup_mgmt.recoverability AS w
          JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_bk = w.earliest_backup_bk
         WHERE w.system_identifier = v_sysid AND l.next_xid IS NOT NULL
        HAVING min(l.next_xid) IS NOT NULL;
    ELSIF p_kind IN ('lsn', 'name') THEN
        SELECT format('%s .. %s', min(w.earliest_recoverable_lsn), max(w.latest_recoverable_lsn)) INTO v_text
          FROM backup_mgmt.recoverability AS w
         WHERE w.system_identifier = v_sysid
        HAVING min(w.earliest_recoverable_lsn) IS NOT NULL;
    ELSE
        SELECT format('%s .. %s', backup_mgmt._iso_time(min(w.earliest_recoverable_time)),
                      coalesce(backup_mgmt._iso_time(max(w.latest_recoverable_time)), '(no archived commit after it)'))
          INTO v_text
          FROM backup_mgmt.recoverability AS w
         WHERE w.system_identifier = v_sysid
        HAVING min(w.earliest_recoverable_time) IS NOT NULL;
    END IF;
    RETURN coalesce(v_text, '(empty: no verified full backup with its WAL archived)');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._recovery_window_text(text) IS
'Internal: the current system''s recoverable window for error messages: ''earliest .. latest'' as times (kind time), LSNs (lsn, name) or transaction ids (xid), or ''(empty: ...)''.';
