-- Backup policy as code (sql/70-policy): what a policy file declared, per
-- managed object, and one row per apply. Operational bookkeeping, not history
-- of the objects themselves: the schedules keep theirs in backup_schedule_s.
-- Written only by policy_apply(); read by policy_plan() and the health check
-- policy_drift.

-- Up Migration
CREATE TABLE backup_mgmt.policy_object (
    object_kind text NOT NULL CONSTRAINT chk_policy_object_kind CHECK (object_kind IN ('schedule', 'setting')),
    object_name text NOT NULL,
    declaration jsonb NOT NULL CONSTRAINT chk_policy_object_declaration CHECK (jsonb_typeof(declaration) = 'object'),
    declaration_sha256 bytea NOT NULL CONSTRAINT chk_policy_object_declaration_sha256 CHECK (octet_length(declaration_sha256) = 32),
    policy_sha256 bytea NOT NULL CONSTRAINT chk_policy_object_policy_sha256 CHECK (octet_length(policy_sha256) = 32),
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT session_user,
    PRIMARY KEY (object_kind, object_name)
);
COMMENT ON TABLE backup_mgmt.policy_object IS 'Objects managed by a policy file (policy_apply): the normalised declaration as applied (schedule: its fields; setting: {"value": ...}), its SHA-256 and that of the whole policy. A managed object whose state differs from its declaration has drifted (health check policy_drift, policy_plan).';

CREATE TABLE backup_mgmt.policy_apply (
    apply_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT session_user,
    policy_sha256 bytea NOT NULL CONSTRAINT chk_policy_apply_policy_sha256 CHECK (octet_length(policy_sha256) = 32),
    policy jsonb NOT NULL,
    changes jsonb NOT NULL CONSTRAINT chk_policy_apply_changes CHECK (jsonb_typeof(changes) = 'array')
);
COMMENT ON TABLE backup_mgmt.policy_apply IS 'One row per policy_apply() that changed something: the normalised policy and the plan rows it carried out. Insert-only.';

-- Down Migration
DROP TABLE IF EXISTS backup_mgmt.policy_apply;
DROP TABLE IF EXISTS backup_mgmt.policy_object;
