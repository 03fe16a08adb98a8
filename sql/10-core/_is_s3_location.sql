-- Whether a text is an acceptable s3://bucket/prefix[/…] location.

CREATE OR REPLACE FUNCTION backup_mgmt._is_s3_location(p_location text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- A whitelist: an S3 bucket name, then '/'-separated components of letters,
-- digits and . _ -; no empty, '.' or '..' component, none starting with '-',
-- no trailing '/'. The same characters as the agent's object keys.
SELECT p_location IS NOT NULL
   AND length(p_location) <= 1024
   AND p_location ~ '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9_][A-Za-z0-9._-]*)*$'
   AND NOT EXISTS (SELECT 1 FROM unnest(string_to_array(substr(p_location, 6), '/')) AS c WHERE c IN ('.', '..'));
$$;

COMMENT ON FUNCTION backup_mgmt._is_s3_location(text) IS
'Internal: true when p_location is s3://<bucket>[/<component>…] with a valid bucket name and components of A-Z a-z 0-9 . _ - (not starting with . or -, no . or .. component, no trailing /), at most 1024 characters.';
