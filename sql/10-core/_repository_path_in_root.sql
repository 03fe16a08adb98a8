-- A repository_path an agent reported, checked against the planned root.

CREATE OR REPLACE FUNCTION backup_mgmt._repository_path_in_root(p_path text, p_root text, p_what text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Two forms, never mixed: under an s3:// root (storage type S3) the path is
-- an s3:// location below it; under a directory root it is a normalised
-- absolute path below it (_normalize_path's rules). 22023 otherwise.
DECLARE
    v_path text;
BEGIN
    IF starts_with(p_root, 's3://') THEN
        IF NOT backup_mgmt._is_s3_location(p_path) THEN
            RAISE EXCEPTION '% % is not an s3:// location', p_what, left(coalesce(quote_literal(p_path), 'NULL'), 200)
                USING ERRCODE = '22023', HINT = 'Under an S3 repository, report s3://bucket/prefix/<system identifier>/….';
        END IF;
        v_path := p_path;
    ELSE
        v_path := backup_mgmt._normalize_path(p_path, p_what);
    END IF;
    IF NOT (p_root = '/' OR starts_with(v_path, p_root || '/')) THEN
        RAISE EXCEPTION '% % is not inside the planned repository root %', p_what, quote_literal(v_path), quote_literal(p_root)
            USING ERRCODE = '22023', HINT = 'Store under <repository_root>/<system identifier>/.';
    END IF;
    RETURN v_path;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._repository_path_in_root(text, text, text) IS
'Internal: p_path checked to lie below p_root and returned normalised: an s3:// location (_is_s3_location) when p_root is s3://…, else an absolute path (_normalize_path). 22023 (22004 for a NULL local path) naming p_what.';
