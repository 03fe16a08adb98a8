-- Checks a directory that becomes a root (repository or restore root).

CREATE OR REPLACE FUNCTION backup_mgmt._normalize_root(p_path text, p_what text DEFAULT 'root')
RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
-- _normalize_path, and never '/' or a system directory: everything under a
-- root may be written, extracted into or removed by the agent.
DECLARE
    v_path text := backup_mgmt._normalize_path(p_path, p_what);
BEGIN
    IF v_path IN ('/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/media', '/mnt',
                  '/opt', '/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/var', '/var/lib',
                  '/var/lib/postgresql', '/var/run', '/var/tmp', '/var/log')
       OR v_path ~ '^/(bin|boot|dev|etc|lib|lib32|lib64|libx32|proc|run|sbin|sys|usr)(/|$)' THEN
        RAISE EXCEPTION '% % is / or a system directory', p_what, quote_literal(v_path)
            USING ERRCODE = '22023',
                  DETAIL = 'A root must be a directory of its own: not /, not a top-level system directory, nothing under /bin, /boot, /dev, /etc, /lib*, /proc, /run, /sbin, /sys or /usr.',
                  HINT = 'For example /var/lib/postgresql/backup or /srv/backup.';
    END IF;
    RETURN v_path;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._normalize_root(text, text) IS
'Internal: _normalize_path(p_path) for a repository or restore root, refusing / and system directories (22023).';
