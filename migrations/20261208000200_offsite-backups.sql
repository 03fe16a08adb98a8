-- Up Migration
-- Backups whose home is the off-host repository (issue #16, storage type S3).
--
-- backup_storage_s gains encryption_fingerprints (the keys an s3:// backup is
-- encrypted to, never a key) in the catalog-v2 migration, generated from
-- codegen/model.ts. Its current-row view then has the column before
-- record_source, which CREATE OR REPLACE VIEW cannot do: drop it (and the
-- bundle's views built on it); the function bundle re-creates them all after
-- the migrations.
DROP VIEW IF EXISTS backup_mgmt.backup_storage_current CASCADE;
DELETE FROM backup_mgmt.install_state WHERE key = 'sql_bundle_sha256';

-- Down Migration
DROP VIEW IF EXISTS backup_mgmt.backup_storage_current CASCADE;
DELETE FROM backup_mgmt.install_state WHERE key = 'sql_bundle_sha256';
