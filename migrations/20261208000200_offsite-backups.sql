-- Up Migration
-- Backups whose home is the off-host repository (issue #16, storage type S3).
--
-- backup_storage_s records the fingerprints of the keys an s3:// backup is
-- encrypted to (never a key). catalog-v1 is generated from codegen/model.ts
-- and carries the column for fresh installs; an existing install gets it here.
ALTER TABLE backup_mgmt.backup_storage_s ADD COLUMN IF NOT EXISTS encryption_fingerprints jsonb;
COMMENT ON COLUMN backup_mgmt.backup_storage_s.encryption_fingerprints IS
    '["age-x25519:<32 hex>", …]: the keys an off-host (s3://) backup is encrypted to; NULL for a local one';
-- The current-row view gains the column before record_source, which CREATE OR
-- REPLACE VIEW cannot do: drop it (and the bundle's views built on it); the
-- function bundle re-creates them all right after this migration.
DROP VIEW IF EXISTS backup_mgmt.backup_storage_current CASCADE;
DELETE FROM backup_mgmt.install_state WHERE key = 'sql_bundle_sha256';

-- Down Migration
DROP VIEW IF EXISTS backup_mgmt.backup_storage_current CASCADE;
ALTER TABLE backup_mgmt.backup_storage_s DROP COLUMN IF EXISTS encryption_fingerprints;
DELETE FROM backup_mgmt.install_state WHERE key = 'sql_bundle_sha256';
