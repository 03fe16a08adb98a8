-- Resolves a recovery target: kind and value checked, in one canonical form.

CREATE OR REPLACE FUNCTION backup_mgmt._recovery_target(p_target_kind text, p_target_value text, p_backup_hk bytea)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- The first step of _plan_recovery. Returns {kind, value (canonical text:
-- _iso_time for a time, the LSN, the xid, the restore point's name,
-- 'latest'; NULL for immediate until the base is chosen), description (for
-- messages), time, lsn, xid, restore_point {name, lsn, timeline, created_at},
-- backup_hk (hex: p_backup_hk, or the backup an immediate target names)}.
-- Refusals: unknown kind or bad value 22023 (22004 NULL); unknown restore
-- point or backup P0002; an xid still running or too old, a restore point of
-- another cluster 22023. Nothing is written.
DECLARE
    v_kind text := lower(btrim(p_target_kind));
    v_value text := nullif(btrim(p_target_value), '');
    v_sysid text := (SELECT c.system_identifier::text FROM pg_control_system() AS c);
    v_time timestamptz;
    v_lsn pg_lsn;
    v_xid bigint;
    v_xid_status text;
    v_rp backup_mgmt.restore_point;
    v_given bytea := p_backup_hk;
    v_named bytea;
    v_canonical text;
    v_desc text;
BEGIN
    IF v_kind IS NULL THEN
        RAISE EXCEPTION 'a recovery target kind is required'
            USING ERRCODE = '22004', HINT = 'One of time, xid, lsn, name, immediate, latest.';
    END IF;
    IF v_kind NOT IN ('time', 'xid', 'lsn', 'name', 'immediate', 'latest') THEN
        RAISE EXCEPTION 'unknown recovery target kind %', quote_literal(p_target_kind)
            USING ERRCODE = '22023', HINT = 'One of time, xid, lsn, name, immediate, latest.';
    END IF;
    IF v_value IS NULL AND v_kind IN ('time', 'xid', 'lsn', 'name') THEN
        RAISE EXCEPTION 'a recovery target of kind % needs a value', v_kind
            USING ERRCODE = '22004',
                  HINT = CASE v_kind WHEN 'time' THEN 'For example ''2026-11-22 01:02:03+00''.'
                                     WHEN 'xid' THEN 'A transaction id, e.g. ''1234''.'
                                     WHEN 'lsn' THEN 'An LSN, e.g. ''0/5000028''.'
                                     ELSE 'The name of a restore point (SELECT name FROM backup_mgmt.restore_point).' END;
    END IF;

    -- The target value, checked and in one canonical text form.
    CASE v_kind
        WHEN 'time' THEN
            BEGIN
                v_time := v_value::timestamptz;
            EXCEPTION WHEN data_exception THEN
                RAISE EXCEPTION 'invalid target time %', quote_literal(p_target_value)
                    USING ERRCODE = '22023', DETAIL = SQLERRM, HINT = 'For example ''2026-11-22 01:02:03+00''.';
            END;
            IF NOT isfinite(v_time) THEN
                RAISE EXCEPTION 'invalid target time %', quote_literal(p_target_value)
                    USING ERRCODE = '22023', HINT = 'Give a finite time, e.g. ''2026-11-22 01:02:03+00''.';
            END IF;
            v_canonical := backup_mgmt._iso_time(v_time);
            v_desc := v_canonical;
        WHEN 'lsn' THEN
            BEGIN
                v_lsn := v_value::pg_lsn;
            EXCEPTION WHEN data_exception THEN
                RAISE EXCEPTION 'invalid target LSN %', quote_literal(p_target_value)
                    USING ERRCODE = '22023', DETAIL = SQLERRM, HINT = 'For example ''0/5000028''.';
            END;
            v_canonical := v_lsn::text;
            v_desc := 'LSN ' || v_canonical;
        WHEN 'xid' THEN
            BEGIN
                IF v_value !~ '^[0-9]{1,19}$' THEN
                    RAISE EXCEPTION 'not a decimal number';
                END IF;
                v_xid := v_value::bigint;
            EXCEPTION WHEN data_exception OR raise_exception THEN
                RAISE EXCEPTION 'invalid target transaction id %', quote_literal(p_target_value)
                    USING ERRCODE = '22023', HINT = 'A transaction id is a decimal number, e.g. ''1234'' (txid_current(), pg_current_xact_id()).';
            END;
            IF v_xid < 3 THEN
                RAISE EXCEPTION 'transaction id % is not a normal transaction id', v_xid
                    USING ERRCODE = '22023', HINT = 'Normal transaction ids start at 3.';
            END IF;
            BEGIN
                v_xid_status := pg_xact_status(v_xid::text::xid8);
            EXCEPTION WHEN invalid_parameter_value THEN
                RAISE EXCEPTION 'transaction % has not been assigned yet', v_xid
                    USING ERRCODE = '22023', DETAIL = SQLERRM,
                          HINT = 'Recovery stops at the commit or abort of the target transaction; it must have ended.';
            END;
            IF v_xid_status IS NULL THEN
                RAISE EXCEPTION 'transaction % is too old: its status is no longer known', v_xid
                    USING ERRCODE = '22023', HINT = 'Use a time or LSN target instead.';
            ELSIF v_xid_status = 'in progress' THEN
                RAISE EXCEPTION 'transaction % is still in progress', v_xid
                    USING ERRCODE = '22023',
                          DETAIL = 'Recovery stops at its commit or abort record, which does not exist yet.',
                          HINT = 'Wait until it ends, or use a time or LSN target.';
            END IF;
            v_canonical := v_xid::text;
            v_desc := 'xid ' || v_canonical;
        WHEN 'name' THEN
            -- The name becomes recovery_target_name in the copy's configuration:
            -- only what create_restore_point() accepts can name a restore point.
            IF v_value !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' THEN
                RAISE EXCEPTION 'invalid restore point name %', left(quote_literal(v_value), 80)
                    USING ERRCODE = '22023',
                          DETAIL = 'A restore point name starts with a letter or digit and has at most 63 of A-Z a-z 0-9 _ . : -.',
                          HINT = 'SELECT name FROM backup_mgmt.restore_point lists the restore points.';
            END IF;
            SELECT * INTO v_rp FROM backup_mgmt.restore_point AS r WHERE r.name = v_value;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no restore point named %', quote_literal(v_value)
                    USING ERRCODE = 'P0002',
                          HINT = 'List them with SELECT name, lsn, created_at FROM backup_mgmt.restore_point; names are case-sensitive.';
            END IF;
            IF v_rp.system_identifier <> v_sysid THEN
                RAISE EXCEPTION 'restore point % belongs to system %, not to this cluster (%)', quote_literal(v_rp.name), v_rp.system_identifier, v_sysid
                    USING ERRCODE = '22023', HINT = 'Recover that cluster from its own catalog.';
            END IF;
            v_canonical := v_rp.name;
            v_desc := format('restore point %s (LSN %s)', quote_literal(v_rp.name), v_rp.lsn);
        WHEN 'immediate' THEN
            IF v_value IS NOT NULL THEN
                v_named := backup_mgmt._resolve_backup_id(v_value, 'target backup');
                IF v_given IS NOT NULL AND v_given <> v_named THEN
                    RAISE EXCEPTION 'the target value and p_backup_hk name different backups'
                        USING ERRCODE = '22023', HINT = 'Give the backup once: as the value of an immediate target or as p_backup_hk.';
                END IF;
                v_given := v_named;
            END IF;
        ELSE
            IF v_value IS NOT NULL AND lower(v_value) <> 'latest' THEN
                RAISE EXCEPTION 'a recovery target of kind latest takes no value, not %', quote_literal(p_target_value)
                    USING ERRCODE = '22023', HINT = 'Pass NULL: recovery replays all archived WAL.';
            END IF;
            v_canonical := 'latest';
            v_desc := 'latest';
    END CASE;


    RETURN jsonb_build_object(
        'kind', v_kind,
        'value', v_canonical,
        'description', v_desc,
        'time', backup_mgmt._iso_time(v_time),
        'lsn', v_lsn::text,
        'xid', v_xid,
        'restore_point', CASE WHEN v_rp.name IS NOT NULL THEN
            jsonb_build_object('name', v_rp.name, 'lsn', v_rp.lsn::text, 'timeline', v_rp.timeline,
                               'created_at', backup_mgmt._iso_time(v_rp.created_at)) END,
        'backup_hk', encode(v_given, 'hex'));
END;
$$;

COMMENT ON FUNCTION backup_mgmt._recovery_target(text, text, bytea) IS
'Internal (_plan_recovery, step 1): checks a recovery target (time, xid, lsn, name, immediate, latest) and returns it as jsonb {kind, value (canonical), description, time, lsn, xid, restore_point, backup_hk}; 22004/22023/P0002 on bad input, nothing written.';
