-- Whether a text is an acceptable s3://bucket/prefix[/…] location.

CREATE OR REPLACE FUNCTION backup_mgmt._is_s3_location(p_location text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- A whitelist: an S3 bucket name, then '/'-separated components in the
-- grammar of the agent's object keys: a letter or digit, then letters,
-- digits and . _ - (so no empty, '.' or '..' component), no trailing '/'.
SELECT p_location IS NOT NULL
   AND length(p_location) <= 1024
   AND p_location ~ '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9][A-Za-z0-9._-]*)*$';
$$;

COMMENT ON FUNCTION backup_mgmt._is_s3_location(text) IS
'Internal: true when p_location is s3://<bucket>[/<component>…] with a valid bucket name and components of A-Z a-z 0-9 . _ - each starting with a letter or digit (the storage key grammar; no trailing /), at most 1024 characters.';
