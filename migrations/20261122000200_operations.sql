-- Operational tables that are not history: settings, agents, the job queue,
-- the WAL archive registry and install bookkeeping. Plain mutable tables.

-- Up Migration
CREATE TABLE backup_mgmt.setting (
    name text PRIMARY KEY CONSTRAINT chk_setting_name CHECK (name ~ '^[a-z][a-z0-9_.]{0,62}$'),
    value text NOT NULL,
    description text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT current_user
);
COMMENT ON TABLE backup_mgmt.setting IS 'Configuration of the pack (repository roots, thresholds, defaults); change through set_setting().';

CREATE TABLE backup_mgmt.agent (
    agent_id text PRIMARY KEY,
    hostname text NOT NULL,
    pid integer,
    repository_root text NOT NULL,
    restore_root text,
    info jsonb NOT NULL DEFAULT '{}',
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at timestamptz
);
COMMENT ON TABLE backup_mgmt.agent IS 'Agents that move the bytes: where their repository is, tool versions, last heartbeat.';

CREATE TABLE backup_mgmt.job (
    job_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_type text NOT NULL CONSTRAINT chk_job_type CHECK (job_type IN ('BACKUP', 'VERIFY', 'RESTORE', 'DELETE')),
    subject_hk bytea NOT NULL,
    plan jsonb NOT NULL,
    status text NOT NULL DEFAULT 'QUEUED'
        CONSTRAINT chk_job_status CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    priority integer NOT NULL DEFAULT 5,
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 3 CONSTRAINT chk_job_max_attempts CHECK (max_attempts BETWEEN 1 AND 100),
    run_after timestamptz NOT NULL DEFAULT now(),
    locked_by text,
    lease_expires_at timestamptz,
    progress_done bigint,
    progress_total bigint,
    progress_phase text,
    last_error text,
    result jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT current_user,
    started_at timestamptz,
    finished_at timestamptz,
    CONSTRAINT chk_job_running_is_locked CHECK (status <> 'RUNNING' OR (locked_by IS NOT NULL AND lease_expires_at IS NOT NULL))
);
COMMENT ON TABLE backup_mgmt.job IS 'Work for agents: claimed with FOR UPDATE SKIP LOCKED, held by a lease renewed by heartbeat.';
CREATE INDEX idx_job_claim ON backup_mgmt.job (priority, run_after, job_id) WHERE status = 'QUEUED';
CREATE INDEX idx_job_running_lease ON backup_mgmt.job (lease_expires_at) WHERE status = 'RUNNING';
CREATE INDEX idx_job_subject ON backup_mgmt.job (subject_hk);

CREATE TABLE backup_mgmt.wal_archive (
    system_identifier varchar(20) NOT NULL,
    file_name text NOT NULL CONSTRAINT chk_wal_archive_file_name
        CHECK (file_name ~ '^([0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$'),
    timeline_id integer NOT NULL,
    start_lsn pg_lsn,
    bytes bigint NOT NULL,
    stored_bytes bigint NOT NULL,
    sha256 varchar(64) NOT NULL,
    archived_at timestamptz NOT NULL,
    first_commit_time timestamptz,
    last_commit_time timestamptz,
    registered_at timestamptz NOT NULL DEFAULT now(),
    purged_at timestamptz,
    PRIMARY KEY (system_identifier, file_name)
);
COMMENT ON TABLE backup_mgmt.wal_archive IS 'WAL files present in the repository, registered by the agent; feeds PITR planning and health checks.';
COMMENT ON COLUMN backup_mgmt.wal_archive.last_commit_time IS 'newest commit timestamp in the segment (pg_waldump), NULL if none: bounds the recoverable time';
CREATE INDEX idx_wal_archive_archived_at ON backup_mgmt.wal_archive (archived_at);

CREATE TABLE backup_mgmt.install_state (
    key text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE backup_mgmt.install_state IS 'Bookkeeping of `migrate`: checksum of the function bundle applied from sql/.';

-- Down Migration
DROP TABLE IF EXISTS backup_mgmt.install_state;
DROP TABLE IF EXISTS backup_mgmt.wal_archive;
DROP TABLE IF EXISTS backup_mgmt.job;
DROP TABLE IF EXISTS backup_mgmt.agent;
DROP TABLE IF EXISTS backup_mgmt.setting;
