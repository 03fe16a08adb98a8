-- Tenant isolation: which database role acts for which tenant. A role bound
-- here (directly, or through membership in a bound role) sees and acts on the
-- rows of its tenant only; a role bound nowhere is a system role and sees
-- everything. Written only by bind_role_to_tenant() / unbind_role_from_tenant();
-- read by the row-level security policies (sql/90-security/rls_*.sql).

-- Up Migration
CREATE TABLE backup_mgmt.tenant_role (
    role_name name PRIMARY KEY,
    tenant_hk bytea NOT NULL
        CONSTRAINT chk_tenant_role_tenant_hk_length CHECK (octet_length(tenant_hk) = 32),
    bound_at timestamptz NOT NULL DEFAULT now(),
    bound_by text NOT NULL DEFAULT session_user
);
COMMENT ON TABLE backup_mgmt.tenant_role IS 'Roles bound to a tenant (tenant_hk = the hubs'' tenant_hk): such a role, and every role that is a member of it, sees only its tenant''s rows. Change through bind_role_to_tenant() / unbind_role_from_tenant() (backup_mgmt_admin).';
COMMENT ON COLUMN backup_mgmt.tenant_role.role_name IS 'a login or group role; membership in it binds the member too';
CREATE INDEX idx_tenant_role_tenant_hk ON backup_mgmt.tenant_role (tenant_hk);

-- Down Migration
DROP TABLE IF EXISTS backup_mgmt.tenant_role;
