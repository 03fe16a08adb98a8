-- Up Migration
-- The job types the job table accepts come from the protocol model
-- (codegen/protocol.ts): the CHECK asks backup_mgmt._job_types(), which the
-- function bundle (sql/00-generated/protocol/_job_types.sql) re-creates from
-- the model on every `migrate up`. A job type added to the model is accepted
-- without a migration of its own. Created here too, with today's list,
-- because migrations run before the bundle.
CREATE OR REPLACE FUNCTION backup_mgmt._job_types()
RETURNS text[]
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY['BACKUP', 'VERIFY', 'RESTORE', 'DELETE']::text[]
$$;

ALTER TABLE backup_mgmt.job DROP CONSTRAINT chk_job_type;
ALTER TABLE backup_mgmt.job ADD CONSTRAINT chk_job_type CHECK (job_type = ANY (backup_mgmt._job_types()));

-- Down Migration
-- `migrate down` drops the bundle's functions (CASCADE: this CHECK too) before the down steps.
ALTER TABLE backup_mgmt.job DROP CONSTRAINT IF EXISTS chk_job_type;
ALTER TABLE backup_mgmt.job ADD CONSTRAINT chk_job_type CHECK (job_type IN ('BACKUP', 'VERIFY', 'RESTORE', 'DELETE'));
DROP FUNCTION IF EXISTS backup_mgmt._job_types();
