-- Length of a job lease.

CREATE OR REPLACE FUNCTION backup_mgmt._lease_interval()
RETURNS interval
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
-- From setting job.lease_seconds (default 30).
BEGIN
    RETURN make_interval(secs => backup_mgmt.setting('job.lease_seconds')::integer);
END;
$$;

COMMENT ON FUNCTION backup_mgmt._lease_interval() IS
'Internal: how long a claim, heartbeat or progress report keeps a job leased (setting job.lease_seconds).';
