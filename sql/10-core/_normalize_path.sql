-- Lexical normalisation and sanity checks of an absolute directory path.

CREATE OR REPLACE FUNCTION backup_mgmt._normalize_path(p_path text, p_what text DEFAULT 'path')
RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
-- Absolute, at most 1024 characters of A-Z a-z 0-9 / . _ - + @ =, no '..'
-- segment, no segment starting with '-'; '//' and '/./' collapse and a trailing '/' goes. Symlinks are the
-- agent's to check: SQL cannot see the file system.
DECLARE
    v_parts text[];
BEGIN
    IF p_path IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', p_what
            USING ERRCODE = '22004', HINT = 'Give an absolute directory path.';
    END IF;
    IF length(p_path) > 1024 THEN
        RAISE EXCEPTION '% is too long (% characters)', p_what, length(p_path)
            USING ERRCODE = '22023',
                  DETAIL = 'At most 1024 characters are allowed.',
                  HINT = 'Use a shorter directory path.';
    END IF;
    IF p_path ~ '[\x01-\x1f\x7f-\x9f]' THEN
        RAISE EXCEPTION '% contains a control character', p_what
            USING ERRCODE = '22023',
                  DETAIL = format('The path was %s.', quote_literal(p_path)),
                  HINT = 'Remove line breaks, tabs and other control characters from the path.';
    END IF;
    -- Paths reach pg_ctl, postgres, tar and the server's own shell (pg_ctl
    -- start runs the postmaster through /bin/sh): only characters no shell,
    -- quoting or option parser gives a meaning are allowed.
    IF p_path !~ '^[A-Za-z0-9/._+@=-]*$' THEN
        RAISE EXCEPTION '% contains a character outside the allowed set: %', p_what,
                        left(quote_literal(p_path), 200)
            USING ERRCODE = '22023',
                  DETAIL = 'A path may contain only letters A-Z a-z, digits and / . _ - + @ =.',
                  HINT = 'Spaces, quotes, $, `, ;, |, &, *, ?, ~, commas, colons and non-ASCII letters are refused.';
    END IF;
    IF left(p_path, 1) <> '/' THEN
        RAISE EXCEPTION '% must be an absolute path: %', p_what, quote_literal(p_path)
            USING ERRCODE = '22023',
                  DETAIL = 'Relative paths would depend on the working directory of the agent.',
                  HINT = 'Start the path with /.';
    END IF;

    v_parts := ARRAY(SELECT v_part FROM unnest(string_to_array(p_path, '/')) WITH ORDINALITY AS u (v_part, v_pos)
                      WHERE v_part NOT IN ('', '.') ORDER BY v_pos);
    IF '..' = ANY (v_parts) THEN
        RAISE EXCEPTION '% must not contain ".."', p_what
            USING ERRCODE = '22023',
                  DETAIL = format('The path was %s.', quote_literal(p_path)),
                  HINT = 'Give the directory without parent references (..).';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(v_parts) AS v_part WHERE left(v_part, 1) = '-') THEN
        RAISE EXCEPTION '% has a component starting with "-": %', p_what, quote_literal(p_path)
            USING ERRCODE = '22023',
                  DETAIL = 'A tool could read such a name as an option.',
                  HINT = 'Rename the directory so that no component starts with -.';
    END IF;
    RETURN '/' || array_to_string(v_parts, '/');
END;
$$;

COMMENT ON FUNCTION backup_mgmt._normalize_path(text, text) IS
'Internal: checks an absolute path (length <= 1024, only A-Z a-z 0-9 / . _ - + @ =, no .., no component starting with -) and returns it normalised; 22004/22023 otherwise. p_what names the value in error messages.';
