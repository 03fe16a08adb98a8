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
-- JIT compiling this query costs seconds, running it on a small catalog milliseconds.
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
        -- The backups of the scope that are listed or keep others (a
        -- RUNNING or PENDING one), with what the rules look at. The others
        -- (EXPIRED, nearly all of a large catalog) matter only as links of a
        -- chain (link); no rule or rank below counts them.
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
          -- Index lookups per listed backup (OFFSET 0 keeps them so): the
          -- planner prefers merging with every current row of the satellites.
          LEFT JOIN LATERAL (SELECT l.* FROM backup_mgmt.backup_lsn_current AS l
                              WHERE l.backup_hk = c.backup_hk OFFSET 0) AS l ON true
          LEFT JOIN LATERAL (SELECT st.* FROM backup_mgmt.backup_storage_current AS st
                              WHERE st.backup_hk = c.backup_hk OFFSET 0) AS st ON true
          -- The first schedule linked to each backup: an index lookup per
          -- listed backup, not a sort of every link of every backup.
          LEFT JOIN LATERAL (
              SELECT s.schedule_hk, s.schedule_name, s.retention_period, s.min_redundancy, s.max_backup_count
                FROM backup_mgmt.schedule_execution_l AS x
                JOIN backup_mgmt.backup_schedule_current AS s ON s.schedule_hk = x.schedule_hk
               WHERE x.backup_hk = c.backup_hk
               ORDER BY x.load_date, x.schedule_hk
               LIMIT 1) AS sch ON true
         -- Not IS NOT DISTINCT FROM: the planner estimates this form from the statistics.
         WHERE ((p_tenant_hk IS NULL AND c.tenant_hk IS NULL) OR c.tenant_hk = p_tenant_hk)
           AND c.backup_status IN ('COMPLETED', 'FAILED', 'CANCELLED', 'PARTIAL', 'PENDING', 'RUNNING')
    ),
    link AS (
        -- Every link to a backup of the scope, whatever its status.
        SELECT l.source_backup_hk AS src, l.dependent_backup_hk AS dep
          FROM backup_mgmt.backup_dependency_l AS l
          JOIN backup_mgmt.backup_execution_current AS c ON c.backup_hk = l.dependent_backup_hk
         WHERE (p_tenant_hk IS NULL AND c.tenant_hk IS NULL) OR c.tenant_hk = p_tenant_hk
    ),
    walk (hk, root) AS (
        -- Each backup with the top of its chain (a backup that depends on
        -- nothing), walking down from the tops: one row per link for a chain,
        -- where pairs of every backup with every ancestor grew with the
        -- square of its length (47,000,000 at 1,000,000 backups). UNION
        -- stops at a cycle; a backup in a cycle has no top.
        SELECT DISTINCT k.src, k.src FROM link AS k
         WHERE NOT EXISTS (SELECT 1 FROM link AS x WHERE x.dep = k.src)
        UNION
        -- The recursive steps read the table, not the link CTE, through
        -- an index: a join may hash (or sort) every link once per step, and
        -- a step is taken per backup of the longest chain. OFFSET 0 keeps the
        -- lookup a parameterized subquery, whatever the estimates.
        SELECT k.hk, w.root
          FROM walk AS w
         CROSS JOIN LATERAL (SELECT l.dependent_backup_hk AS hk FROM backup_mgmt.backup_dependency_l AS l
                              WHERE l.source_backup_hk = w.hk OFFSET 0) AS k
    ),
    top AS (
        SELECT DISTINCT ON (w.hk) w.hk, w.root AS ancestor
          FROM walk AS w
          JOIN b ON b.backup_hk = w.hk
         WHERE w.hk <> w.root
         ORDER BY w.hk, w.root
    ),
    in_use AS (
        SELECT u.hk, string_agg(u.why, '; ' ORDER BY u.why) AS why
          FROM (SELECT j.subject_hk AS hk, format('VERIFY job %s is %s', j.job_id, j.status) AS why
                  FROM backup_mgmt.job AS j
                 WHERE j.job_type = 'VERIFY' AND j.status IN ('QUEUED', 'RUNNING')
                UNION ALL
                SELECT r.backup_hk, format('recovery %s is %s', o.recovery_bk, o.recovery_status)
                  FROM backup_mgmt.recovery_backup_l AS r
                  JOIN backup_mgmt.recovery_operation_current AS o ON o.recovery_hk = r.recovery_hk
                 WHERE o.recovery_status IN ('PENDING', 'APPROVED', 'RUNNING')) AS u
         GROUP BY u.hk
    ),
    r AS (
        -- Each backup with the root of its chain and what the rules below rank by.
        SELECT b.*, coalesce(t.ancestor, b.backup_hk) AS root_hk, u.why AS used_by,
               (b.end_time AT TIME ZONE 'UTC')::date AS day,
               date_trunc('week', b.end_time AT TIME ZONE 'UTC')::date AS week,
               date_trunc('month', b.end_time AT TIME ZONE 'UTC')::date AS month,
               -- Redundancy counts verified full backups first, then unverified, then failed.
               CASE b.verification_status WHEN 'VERIFIED' THEN 0 WHEN 'FAILED' THEN 2 ELSE 1 END AS ver_rank,
               (b.present_full AND b.verification_status IS DISTINCT FROM 'FAILED') AS gfs_eligible,
               -- The base of the recovery window: the newest verified full backup that
               -- ended before the window starts (else the newest not failed verification).
               CASE WHEN NOT b.present_full OR b.end_time >= v_window_start OR b.verification_status = 'FAILED' THEN 2
                    WHEN b.verification_status = 'VERIFIED' THEN 0 ELSE 1 END AS anchor_rank
          FROM b
          LEFT JOIN top AS t ON t.hk = b.backup_hk
          LEFT JOIN in_use AS u ON u.hk = b.backup_hk
    ),
    w AS (
        -- Ranks by window functions over one set (no joins of the set with itself).
        SELECT r.*,
               CASE WHEN r.present_full THEN row_number() OVER redundancy END AS n_redundancy,
               CASE WHEN r.present_full AND r.schedule_hk IS NOT NULL THEN row_number() OVER schedule_redundancy END AS n_schedule_redundancy,
               CASE WHEN r.schedule_hk IS NOT NULL AND r.backup_status = 'COMPLETED' THEN row_number() OVER schedule_count END AS n_schedule,
               r.gfs_eligible AND r.backup_hk = first_value(r.backup_hk) OVER per_day AS newest_of_day,
               r.gfs_eligible AND r.backup_hk = first_value(r.backup_hk) OVER per_week AS newest_of_week,
               r.gfs_eligible AND r.backup_hk = first_value(r.backup_hk) OVER per_month AS newest_of_month,
               first_value(r.anchor_rank) OVER anchor AS anchor_found,
               first_value(r.backup_hk) OVER anchor AS anchor_hk0,
               first_value(r.backup_bk) OVER anchor AS anchor_bk0,
               first_value(r.end_time) OVER anchor AS anchor_end0
          FROM r
        WINDOW redundancy AS (PARTITION BY r.present_full, r.system_identifier ORDER BY r.ver_rank, r.end_time DESC, r.stop_lsn DESC, r.backup_bk DESC),
               schedule_redundancy AS (PARTITION BY r.present_full, r.system_identifier, r.schedule_hk
                                       ORDER BY r.ver_rank, r.end_time DESC, r.stop_lsn DESC, r.backup_bk DESC),
               schedule_count AS (PARTITION BY r.backup_status, r.schedule_hk ORDER BY r.end_time DESC, r.backup_bk DESC),
               per_day AS (PARTITION BY r.gfs_eligible, r.system_identifier, r.day ORDER BY r.end_time DESC, r.stop_lsn DESC, r.backup_bk DESC),
               per_week AS (PARTITION BY r.gfs_eligible, r.system_identifier, r.week ORDER BY r.end_time DESC, r.stop_lsn DESC, r.backup_bk DESC),
               per_month AS (PARTITION BY r.gfs_eligible, r.system_identifier, r.month ORDER BY r.end_time DESC, r.stop_lsn DESC, r.backup_bk DESC),
               anchor AS (PARTITION BY r.system_identifier ORDER BY r.anchor_rank, r.end_time DESC, r.stop_lsn DESC, r.backup_bk DESC)
    ),
    f AS (
        SELECT w.*, pp.eff_period, pp.period_source,
               ((w.finished_at AT TIME ZONE 'UTC') + pp.eff_period)::date AS exp_date,
               w.backup_status IN ('PENDING', 'RUNNING') AS in_flight,
               coalesce(w.n_redundancy <= v_pol.min_redundancy, false) AS min_redundancy,
               coalesce(w.n_schedule_redundancy <= w.sch_min_redundancy, false) AS sch_min_redundancy_kept,
               coalesce(w.n_schedule > w.sch_max_count, false) AS beyond_max,
               w.newest_of_day AND w.day > v_today - v_pol.keep_daily AS daily,
               w.newest_of_week AND w.week > date_trunc('week', v_today::timestamp)::date - 7 * v_pol.keep_weekly AS weekly,
               w.newest_of_month AND w.month > (date_trunc('month', v_today::timestamp) - make_interval(months => v_pol.keep_monthly))::date AS monthly,
               CASE WHEN w.anchor_found < 2 THEN w.anchor_hk0 END AS anchor_hk,
               CASE WHEN w.anchor_found < 2 THEN w.anchor_bk0 END AS anchor_bk,
               (w.backup_status = 'COMPLETED'
                AND w.end_time >= CASE WHEN w.anchor_found < 2 THEN w.anchor_end0 ELSE v_window_start END) AS in_window
          FROM w
          CROSS JOIN LATERAL (
              SELECT coalesce(w.sch_period, v_pol.period, w.own_period, v_pol.default_period) AS eff_period,
                     CASE WHEN w.sch_period IS NOT NULL THEN 'schedule ' || w.schedule_name
                          WHEN v_pol.period IS NOT NULL THEN 'setting retention.period'
                          WHEN w.own_period IS NOT NULL THEN 'its retention_period'
                          ELSE 'setting backup.retention_period' END AS period_source) AS pp
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
    needed (hk) AS (
        -- Every backup that a kept (or still running) backup depends on,
        -- directly or not, walking up the links once per backup.
        -- Index lookups, as in walk (y is in the scope, as link wants).
        SELECT l.hk
          FROM k AS y
         CROSS JOIN LATERAL (SELECT l.source_backup_hk AS hk FROM backup_mgmt.backup_dependency_l AS l
                              WHERE l.dependent_backup_hk = y.backup_hk OFFSET 0) AS l
         WHERE y.keeper
        UNION
        SELECT l.hk
          FROM needed AS n
         CROSS JOIN LATERAL (SELECT l.source_backup_hk AS hk FROM backup_mgmt.backup_dependency_l AS l
                              WHERE l.dependent_backup_hk = n.hk OFFSET 0) AS l
    ),
    needed_by_running (hk) AS (
        SELECT l.hk
          FROM k AS y
         CROSS JOIN LATERAL (SELECT l.source_backup_hk AS hk FROM backup_mgmt.backup_dependency_l AS l
                              WHERE l.dependent_backup_hk = y.backup_hk OFFSET 0) AS l
         WHERE y.in_flight
        UNION
        SELECT l.hk
          FROM needed_by_running AS n
         CROSS JOIN LATERAL (SELECT l.source_backup_hk AS hk FROM backup_mgmt.backup_dependency_l AS l
                              WHERE l.dependent_backup_hk = n.hk OFFSET 0) AS l
    ),
    dep AS (
        -- For each needed backup, the backups that depend on it directly
        -- and are kept or needed themselves (what the reason names): links
        -- of the scope (link), looked up by index. Joins, not IN (SELECT ...)
        -- on a CTE: that subplan, when not hashed, scans the CTE once per
        -- row. A backup not in b (EXPIRED) is never kept, but can be needed.
        SELECT n.hk, count(*) AS n, min(k.dep_bk) AS first_bk, bool_or(r.hk IS NOT NULL) AS for_running
          FROM needed AS n
         CROSS JOIN LATERAL (SELECT c.backup_hk AS dep, c.backup_bk AS dep_bk
                               FROM backup_mgmt.backup_dependency_l AS l
                               JOIN backup_mgmt.backup_execution_current AS c ON c.backup_hk = l.dependent_backup_hk
                              WHERE l.source_backup_hk = n.hk
                                AND ((p_tenant_hk IS NULL AND c.tenant_hk IS NULL) OR c.tenant_hk = p_tenant_hk)
                             OFFSET 0) AS k
          LEFT JOIN k AS y ON y.backup_hk = k.dep
          LEFT JOIN needed AS n2 ON n2.hk = k.dep
          LEFT JOIN needed_by_running AS r ON r.hk = n.hk
         WHERE y.keeper OR n2.hk IS NOT NULL
         GROUP BY n.hk
    ),
    pend AS (
        -- DELETE jobs not finished yet: the backup they delete and the incrementals that go with it.
        SELECT q.hk, min(q.job_id) AS job_id, min(q.status) AS status
          FROM (SELECT j.subject_hk AS hk, j.job_id, j.status
                  FROM backup_mgmt.job AS j
                 WHERE j.job_type = 'DELETE' AND j.status IN ('QUEUED', 'RUNNING') AND j.plan->>'backup_hk' IS NOT NULL
                UNION ALL
                SELECT decode(d.value->>'backup_hk', 'hex'), j.job_id, j.status
                  FROM backup_mgmt.job AS j
                 CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(j.plan->'dependents') = 'array'
                                                              THEN j.plan->'dependents' ELSE '[]'::jsonb END) AS d
                 WHERE j.job_type = 'DELETE' AND j.status IN ('QUEUED', 'RUNNING')) AS q
         GROUP BY q.hk
    ),
    chain AS (
        -- A chain (a full backup and everything that depends on it) is kept
        -- when any of its members is. Members not in b are never kept, and
        -- a top not in b is no present full backup.
        SELECT k.*,
               d.hk IS NOT NULL AS dep_keep, d.n AS dep_n, d.first_bk AS dep_first_bk, d.for_running,
               q.job_id AS pending_job, q.status AS pending_status,
               bool_or(k.keeper) OVER c AS chain_has_keeper,
               bool_or(k.backup_hk = k.root_hk AND k.present_full) OVER c AS root_present,
               bool_or(k.backup_hk = k.root_hk AND k.has_files) OVER c AS root_has_files,
               bool_or(k.backup_hk = k.root_hk AND q.job_id IS NOT NULL) OVER c AS root_pending,
               max(k.backup_bk) FILTER (WHERE k.backup_hk = k.root_hk) OVER c AS root_bk
          FROM k
          LEFT JOIN dep AS d ON d.hk = k.backup_hk
          LEFT JOIN pend AS q ON q.hk = k.backup_hk
        WINDOW c AS (PARTITION BY k.root_hk)
    ),
    fin AS (
        SELECT x.*,
               (x.backup_status = 'COMPLETED' AND x.root_hk <> x.backup_hk AND x.root_present AND x.chain_has_keeper) AS chain_keep,
               (x.backup_status = 'COMPLETED' AND x.root_hk <> x.backup_hk AND x.root_present AND x.root_has_files
                AND NOT x.chain_has_keeper AND NOT x.root_pending) AS goes_with_root
          FROM chain AS x
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
                                                    || CASE WHEN NOT x.for_running THEN ''
                                                            WHEN x.dep_n > 1 THEN ' (a backup still being taken among them)'
                                                            ELSE ' (a backup still being taken)' END
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
