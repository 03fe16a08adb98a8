-- What retention would do with each backup of a tenant, and why.

CREATE OR REPLACE FUNCTION backup_mgmt._retention_plan(p_tenant_hk bytea)
RETURNS TABLE (
    backup_hk bytea,
    backup_bk varchar(255),
    backup_type varchar(50),
    backup_status varchar(20),
    verification_status varchar(20),
    system_identifier varchar(20),
    timeline_id integer,
    start_segno bigint,
    end_time timestamptz,
    retention_period interval,
    retention_policy varchar(100),
    expiration_date date,
    backup_size_bytes bigint,
    chain_full_hk bytea,
    present_full boolean,
    has_files boolean,
    repository_root text,
    repository_path text,
    keep_rules text[],
    action varchar(50),
    reason text,
    job_id bigint
)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
-- One big query over small tables: JIT compiling it costs seconds, running it milliseconds.
SET jit = off
AS $$
#variable_conflict use_column
-- One row per COMPLETED, FAILED, CANCELLED or PARTIAL backup of the tenant
-- (NULL = system-wide). The rules (sql/60-retention/README.md): each rule
-- that keeps a backup adds a KEEP_* to keep_rules; a backup goes only when
-- none does. Chains go as a unit: a kept incremental keeps every backup it
-- depends on (KEEP_DEPENDENCY), a kept full backup keeps its incrementals
-- (KEEP_CHAIN). PENDING and RUNNING backups are not listed but keep what
-- they depend on. Nothing is written.
DECLARE
    v_pol record;
    v_now timestamptz := now();
    v_today date := (now() AT TIME ZONE 'UTC')::date;
    v_window_start timestamptz;
BEGIN
    SELECT * INTO v_pol FROM backup_mgmt._retention_policy(p_tenant_hk);
    v_window_start := v_now - v_pol.recovery_window;

    RETURN QUERY
    WITH RECURSIVE
    b AS (
        -- Every backup of the scope with what the rules look at.
        SELECT c.backup_hk, c.backup_bk, c.backup_type, c.backup_status, c.verification_status, c.backup_method,
               c.backup_size_bytes, c.retention_period AS own_period,
               coalesce(l.stop_time, c.backup_end_time, c.backup_start_time) AS end_time,
               coalesce(c.backup_end_time, c.backup_start_time) AS finished_at,
               l.system_identifier, l.timeline_id, l.stop_lsn,
               CASE WHEN l.start_lsn IS NOT NULL THEN backup_mgmt.wal_segno_of_lsn(l.start_lsn) END AS start_segno,
               st.repository_root, st.repository_path,
               (st.files_present IS TRUE AND st.repository_path IS NOT NULL
                AND c.backup_method IS DISTINCT FROM 'WAL_ARCHIVE') AS has_files,
               (c.backup_type = 'FULL' AND c.backup_status = 'COMPLETED' AND st.files_present IS TRUE
                AND l.system_identifier IS NOT NULL AND l.start_lsn IS NOT NULL) AS present_full,
               sch.schedule_hk, sch.schedule_name, sch.retention_period AS sch_period,
               sch.min_redundancy AS sch_min_redundancy, sch.max_backup_count AS sch_max_count
          FROM backup_mgmt.backup_execution_current AS c
          JOIN backup_mgmt.backup_execution_h AS h ON h.backup_hk = c.backup_hk
          LEFT JOIN backup_mgmt.backup_lsn_current AS l ON l.backup_hk = c.backup_hk
          LEFT JOIN backup_mgmt.backup_storage_current AS st ON st.backup_hk = c.backup_hk
          LEFT JOIN LATERAL (
              SELECT s.schedule_hk, s.schedule_name, s.retention_period, s.min_redundancy, s.max_backup_count
                FROM backup_mgmt.schedule_execution_l AS x
                JOIN backup_mgmt.backup_schedule_current AS s ON s.schedule_hk = x.schedule_hk
               WHERE x.backup_hk = c.backup_hk
               ORDER BY x.load_date
               LIMIT 1) AS sch ON true
         -- Not IS NOT DISTINCT FROM: the planner estimates this form from the statistics.
         WHERE (p_tenant_hk IS NULL AND h.tenant_hk IS NULL) OR h.tenant_hk = p_tenant_hk
    ),
    link AS (
        SELECT l.source_backup_hk AS src, l.dependent_backup_hk AS dep
          FROM backup_mgmt.backup_dependency_l AS l
          JOIN b ON b.backup_hk = l.dependent_backup_hk
    ),
    anc (hk, ancestor) AS (
        -- Every (backup, backup it depends on), transitively; UNION stops at a cycle.
        SELECT k.dep, k.src FROM link AS k
        UNION
        SELECT a.hk, k.src FROM anc AS a JOIN link AS k ON k.dep = a.ancestor
    ),
    top AS (
        -- The ancestor at the top of each backup's chain (one that depends on nothing).
        SELECT DISTINCT ON (a.hk) a.hk, a.ancestor
          FROM anc AS a
          LEFT JOIN link AS k ON k.dep = a.ancestor
         WHERE k.dep IS NULL
         ORDER BY a.hk, a.ancestor
    ),
    root AS (
        SELECT b.backup_hk AS hk, coalesce(t.ancestor, b.backup_hk) AS root_hk
          FROM b
          LEFT JOIN top AS t ON t.hk = b.backup_hk
    ),
    in_use AS (
        SELECT j.subject_hk AS hk, format('VERIFY job %s is %s', j.job_id, j.status) AS why
          FROM backup_mgmt.job AS j
         WHERE j.job_type = 'VERIFY' AND j.status IN ('QUEUED', 'RUNNING')
        UNION ALL
        SELECT r.backup_hk, format('recovery %s is %s', o.recovery_bk, o.recovery_status)
          FROM backup_mgmt.recovery_backup_l AS r
          JOIN backup_mgmt.recovery_operation_current AS o ON o.recovery_hk = r.recovery_hk
         WHERE o.recovery_status IN ('PENDING', 'APPROVED', 'RUNNING')
    ),
    pf AS (
        -- Full backups whose files are stored, newest first per cluster;
        -- redundancy counts verified ones first, then unverified, then failed.
        SELECT b.backup_hk, b.backup_bk, b.system_identifier, b.end_time, b.verification_status, b.schedule_hk,
               b.schedule_name, b.sch_min_redundancy,
               row_number() OVER (PARTITION BY b.system_identifier
                                  ORDER BY b.end_time DESC, b.stop_lsn DESC, b.backup_bk DESC) AS n_all,
               row_number() OVER (PARTITION BY b.system_identifier
                                  ORDER BY CASE b.verification_status WHEN 'VERIFIED' THEN 0 WHEN 'FAILED' THEN 2 ELSE 1 END,
                                           b.end_time DESC, b.stop_lsn DESC, b.backup_bk DESC) AS n_redundancy,
               row_number() OVER (PARTITION BY b.system_identifier, b.schedule_hk
                                  ORDER BY CASE b.verification_status WHEN 'VERIFIED' THEN 0 WHEN 'FAILED' THEN 2 ELSE 1 END,
                                           b.end_time DESC, b.stop_lsn DESC, b.backup_bk DESC) AS n_schedule_redundancy,
               (b.end_time AT TIME ZONE 'UTC')::date AS day,
               date_trunc('week', b.end_time AT TIME ZONE 'UTC')::date AS week,
               date_trunc('month', b.end_time AT TIME ZONE 'UTC')::date AS month
          FROM b
         WHERE b.present_full
    ),
    gfs AS (
        -- The newest full backup (verification not FAILED) of each day, ISO week and month.
        SELECT p.backup_hk, p.day, p.week, p.month,
               p.backup_hk = first_value(p.backup_hk) OVER (PARTITION BY p.system_identifier, p.day ORDER BY p.n_all)
                   AND p.day > v_today - v_pol.keep_daily AS daily,
               p.backup_hk = first_value(p.backup_hk) OVER (PARTITION BY p.system_identifier, p.week ORDER BY p.n_all)
                   AND p.week > date_trunc('week', v_today::timestamp)::date - 7 * v_pol.keep_weekly AS weekly,
               p.backup_hk = first_value(p.backup_hk) OVER (PARTITION BY p.system_identifier, p.month ORDER BY p.n_all)
                   AND p.month > (date_trunc('month', v_today::timestamp) - make_interval(months => v_pol.keep_monthly))::date AS monthly
          FROM pf AS p
         WHERE p.verification_status IS DISTINCT FROM 'FAILED'
    ),
    anchor AS (
        -- The base of the recovery window: the newest verified full backup that
        -- ended before its start (else the newest one not failed verification).
        SELECT DISTINCT ON (p.system_identifier) p.system_identifier, p.backup_hk, p.backup_bk, p.end_time
          FROM pf AS p
         WHERE p.end_time < v_window_start AND p.verification_status IS DISTINCT FROM 'FAILED'
         ORDER BY p.system_identifier, (p.verification_status = 'VERIFIED') DESC, p.n_all
    ),
    sched_count AS (
        -- Rank among the completed backups of the same schedule (max_backup_count).
        SELECT b.backup_hk,
               row_number() OVER (PARTITION BY b.schedule_hk ORDER BY b.end_time DESC, b.backup_bk DESC) AS n
          FROM b
         WHERE b.schedule_hk IS NOT NULL AND b.backup_status = 'COMPLETED'
    ),
    f AS (
        SELECT b.*, r.root_hk, pp.eff_period, pp.period_source,
               ((b.finished_at AT TIME ZONE 'UTC') + pp.eff_period)::date AS exp_date,
               b.backup_status IN ('PENDING', 'RUNNING') AS in_flight,
               (SELECT string_agg(u.why, '; ' ORDER BY u.why) FROM in_use AS u WHERE u.hk = b.backup_hk) AS used_by,
               coalesce(p.n_redundancy <= v_pol.min_redundancy, false) AS min_redundancy,
               coalesce(p.n_schedule_redundancy <= p.sch_min_redundancy, false) AS sch_min_redundancy_kept,
               coalesce(sc.n > b.sch_max_count, false) AS beyond_max,
               g.daily, g.weekly, g.monthly, g.day, g.week, g.month,
               an.backup_hk AS anchor_hk, an.backup_bk AS anchor_bk,
               (b.backup_status = 'COMPLETED'
                AND CASE WHEN an.backup_hk IS NOT NULL THEN b.end_time >= an.end_time
                         ELSE b.end_time >= v_window_start END) AS in_window
          FROM b
          JOIN root AS r ON r.hk = b.backup_hk
          CROSS JOIN LATERAL (
              SELECT coalesce(b.sch_period, v_pol.period, b.own_period, v_pol.default_period) AS eff_period,
                     CASE WHEN b.sch_period IS NOT NULL THEN 'schedule ' || b.schedule_name
                          WHEN v_pol.period IS NOT NULL THEN 'setting retention.period'
                          WHEN b.own_period IS NOT NULL THEN 'its retention_period'
                          ELSE 'setting backup.retention_period' END AS period_source) AS pp
          LEFT JOIN pf AS p ON p.backup_hk = b.backup_hk
          LEFT JOIN gfs AS g ON g.backup_hk = b.backup_hk
          LEFT JOIN sched_count AS sc ON sc.backup_hk = b.backup_hk
          LEFT JOIN anchor AS an ON an.system_identifier IS NOT DISTINCT FROM b.system_identifier
    ),
    own AS (
        -- The rules that keep a backup for its own sake.
        SELECT f.*,
               (f.exp_date <= v_today OR f.beyond_max) AS expired,
               array_remove(ARRAY[
                   CASE WHEN f.exp_date > v_today AND NOT f.beyond_max THEN 'KEEP_NOT_EXPIRED' END,
                   CASE WHEN f.backup_status = 'COMPLETED' AND f.used_by IS NOT NULL THEN 'KEEP_IN_USE' END,
                   CASE WHEN f.min_redundancy OR f.sch_min_redundancy_kept THEN 'KEEP_MIN_REDUNDANCY' END,
                   CASE WHEN f.in_window THEN 'KEEP_RECOVERY_WINDOW' END,
                   CASE WHEN f.daily THEN 'KEEP_GFS_DAILY' END,
                   CASE WHEN f.weekly THEN 'KEEP_GFS_WEEKLY' END,
                   CASE WHEN f.monthly THEN 'KEEP_GFS_MONTHLY' END], NULL) AS own_rules
          FROM f
    ),
    k AS (
        -- Only a completed backup (or one still being taken) needs what it depends on.
        SELECT o.*, ((o.backup_status = 'COMPLETED' AND cardinality(o.own_rules) > 0) OR o.in_flight) AS keeper FROM own AS o
    ),
    dep AS (
        -- Backups that a kept (or still running) backup depends on.
        SELECT a.ancestor AS hk, count(*) AS n, min(y.backup_bk) AS first_bk,
               bool_or(y.in_flight) AS for_running
          FROM anc AS a
          JOIN k AS y ON y.backup_hk = a.hk
         WHERE y.keeper
         GROUP BY a.ancestor
    ),
    pend AS (
        -- DELETE jobs not finished yet: the backup they delete and the incrementals that go with it.
        SELECT j.subject_hk AS hk, j.job_id, j.status
          FROM backup_mgmt.job AS j
         WHERE j.job_type = 'DELETE' AND j.status IN ('QUEUED', 'RUNNING') AND j.plan->>'backup_hk' IS NOT NULL
        UNION ALL
        SELECT decode(d.value->>'backup_hk', 'hex'), j.job_id, j.status
          FROM backup_mgmt.job AS j
         CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(j.plan->'dependents') = 'array'
                                                      THEN j.plan->'dependents' ELSE '[]'::jsonb END) AS d
         WHERE j.job_type = 'DELETE' AND j.status IN ('QUEUED', 'RUNNING')
    ),
    fin AS (
        SELECT k.*,
               d.hk IS NOT NULL AS dep_keep, d.n AS dep_n, d.first_bk AS dep_first_bk, d.for_running,
               rk.backup_bk AS root_bk,
               (k.backup_status = 'COMPLETED' AND k.root_hk <> k.backup_hk AND rk.present_full IS TRUE
                AND (rk.keeper OR rd.hk IS NOT NULL)) AS chain_keep,
               (k.backup_status = 'COMPLETED' AND k.root_hk <> k.backup_hk AND rk.present_full IS TRUE AND rk.has_files IS TRUE
                AND NOT rk.keeper AND rd.hk IS NULL
                AND NOT EXISTS (SELECT 1 FROM pend AS q WHERE q.hk = k.root_hk)) AS goes_with_root,
               (SELECT min(q.job_id) FROM pend AS q WHERE q.hk = k.backup_hk) AS pending_job,
               (SELECT min(q.status) FROM pend AS q WHERE q.hk = k.backup_hk) AS pending_status
          FROM k
          LEFT JOIN dep AS d ON d.hk = k.backup_hk
          LEFT JOIN k AS rk ON rk.backup_hk = k.root_hk
          LEFT JOIN dep AS rd ON rd.hk = k.root_hk
    ),
    decided AS (
        SELECT x.*,
               x.own_rules
                   || CASE WHEN x.dep_keep THEN ARRAY['KEEP_DEPENDENCY'] ELSE '{}'::text[] END
                   || CASE WHEN x.chain_keep THEN ARRAY['KEEP_CHAIN'] ELSE '{}'::text[] END AS rules
          FROM fin AS x
         WHERE x.backup_status IN ('COMPLETED', 'FAILED', 'CANCELLED', 'PARTIAL')
    ),
    acted AS (
        SELECT x.*,
               CASE WHEN cardinality(x.rules) > 0 THEN x.rules[1]
                    WHEN x.pending_job IS NOT NULL THEN 'DELETE_PENDING'
                    WHEN x.has_files OR x.goes_with_root THEN 'WOULD_DELETE'
                    ELSE 'WOULD_EXPIRE' END AS act
          FROM decided AS x
    )
    SELECT x.backup_hk, x.backup_bk, x.backup_type, x.backup_status, x.verification_status,
           x.system_identifier, x.timeline_id, x.start_segno, x.end_time,
           x.eff_period, left(x.period_source, 100)::varchar(100), x.exp_date, x.backup_size_bytes,
           x.root_hk, x.present_full, x.has_files, x.repository_root, x.repository_path,
           x.rules, x.act::varchar(50),
           -- Why: the expiry first, then each rule that keeps it, or what happens to it.
           CASE WHEN x.beyond_max THEN format('beyond the newest %s backups of schedule %s (max_backup_count)', x.sch_max_count, x.schedule_name)
                WHEN x.exp_date <= v_today THEN format('expired on %s (%s after it ended on %s; %s)', x.exp_date, x.eff_period,
                                                       (x.finished_at AT TIME ZONE 'UTC')::date, x.period_source)
                ELSE format('expires on %s (%s after it ended on %s; %s)', x.exp_date, x.eff_period,
                            (x.finished_at AT TIME ZONE 'UTC')::date, x.period_source) END
           || CASE
                WHEN cardinality(x.rules) > 0 THEN '; kept: ' || (
                    SELECT string_agg(CASE r.rule
                        WHEN 'KEEP_NOT_EXPIRED' THEN 'not expired'
                        WHEN 'KEEP_IN_USE' THEN 'in use (' || x.used_by || ')'
                        WHEN 'KEEP_MIN_REDUNDANCY' THEN
                            CASE WHEN x.min_redundancy
                                 THEN format('one of the %s full backups always kept (min_redundancy %s: the newest verified first)', v_pol.min_redundancy, v_pol.min_redundancy)
                                 ELSE format('one of the %s full backups always kept for schedule %s (its min_redundancy)', x.sch_min_redundancy, x.schedule_name) END
                        WHEN 'KEEP_RECOVERY_WINDOW' THEN
                            CASE WHEN x.anchor_hk = x.backup_hk
                                 THEN format('base of the %s recovery window: the newest verified full backup that ended before %s', v_pol.recovery_window, backup_mgmt._iso_time(v_window_start))
                                 WHEN x.anchor_hk IS NOT NULL
                                 THEN format('inside the %s recovery window, which starts from %s', v_pol.recovery_window, x.anchor_bk)
                                 ELSE format('inside the %s recovery window (since %s)', v_pol.recovery_window, backup_mgmt._iso_time(v_window_start)) END
                        WHEN 'KEEP_GFS_DAILY' THEN format('newest full backup of %s (keep_daily %s)', x.day, v_pol.keep_daily)
                        WHEN 'KEEP_GFS_WEEKLY' THEN format('newest full backup of ISO week %s (keep_weekly %s)', to_char(x.week, 'IYYY-"W"IW'), v_pol.keep_weekly)
                        WHEN 'KEEP_GFS_MONTHLY' THEN format('newest full backup of %s (keep_monthly %s)', to_char(x.month, 'YYYY-MM'), v_pol.keep_monthly)
                        WHEN 'KEEP_DEPENDENCY' THEN format('%s%s %s on it', x.dep_first_bk,
                                                           CASE WHEN x.dep_n > 1 THEN format(' and %s more', x.dep_n - 1) ELSE '' END,
                                                           CASE WHEN x.dep_n > 1 THEN 'depend' ELSE 'depends' END)
                                                    || CASE WHEN x.for_running THEN ' (a backup still being taken among them)' ELSE '' END
                        WHEN 'KEEP_CHAIN' THEN format('its full backup %s is kept, and an incremental goes only together with its full backup', x.root_bk)
                        END, '; ' ORDER BY r.n)
                      FROM unnest(x.rules) WITH ORDINALITY AS r (rule, n))
                WHEN x.act = 'DELETE_PENDING' THEN format('; DELETE job %s is %s', x.pending_job, x.pending_status)
                WHEN x.act = 'WOULD_DELETE' AND x.has_files THEN format('; no rule keeps it: a DELETE job removes %s', x.repository_path)
                WHEN x.act = 'WOULD_DELETE' THEN format('; no rule keeps it: it goes together with its full backup %s', x.root_bk)
                ELSE '; no rule keeps it and it has no files of its own: marked EXPIRED without a job' END,
           x.pending_job
      FROM acted AS x
     ORDER BY x.end_time, x.backup_bk;
END;
$$;

COMMENT ON FUNCTION backup_mgmt._retention_plan(bytea) IS
'Internal (cleanup_plan, cleanup_expired_backups): one row per COMPLETED, FAILED, CANCELLED or PARTIAL backup of the tenant (NULL = system-wide) with its effective retention_period (source in retention_policy), expiration_date (end date + period, UTC), the KEEP_* rules that keep it (keep_rules, in the order KEEP_NOT_EXPIRED, KEEP_IN_USE, KEEP_MIN_REDUNDANCY, KEEP_RECOVERY_WINDOW, KEEP_GFS_DAILY, KEEP_GFS_WEEKLY, KEEP_GFS_MONTHLY, KEEP_DEPENDENCY, KEEP_CHAIN), the action (the first keep rule, DELETE_PENDING, WOULD_DELETE or WOULD_EXPIRE), a reason in words and the pending DELETE job. Writes nothing.';
