// Seeds the catalog the way a bulk loader would: generate_series INSERT …
// SELECT straight into hubs, satellites and links, with the history the
// loaders would have written (end-dated versions), deterministic
// pseudo-random distributions and consistent WAL positions, so PITR planning,
// retention and the health checks see a catalog that grew over years.
//
// seed_b is written in hash-key order, so the satellites filled from it
// arrive in primary-key order without sorting their wide rows.
//
// Shape for N backups (N = 1,000,000 by default), one every minute:
//   - 1 in 96 a FULL backup (PG_BASEBACKUP), the rest WAL-range INCREMENTALs
//     chained to the previous completed backup (backup_dependency_l);
//   - 97.5 % COMPLETED (1 % verification FAILED, 3 % SKIPPED), 2 % FAILED,
//     0.5 % CANCELLED; fulls kept 30 days, incrementals 14; everything past
//     its expiration date by more than 3 days is EXPIRED and its files gone
//     (the newer ones are what cleanup_expired_backups finds to do);
//   - versions per backup: PENDING, RUNNING, COMPLETED, verification, EXPIRED
//     (2–5, about 4.6 on average);
//   - one archived WAL segment per minute (wal_archive), purged after 35 days
//     (longer than the oldest kept full backup needs);
//   - N / 10 recoveries (a fifth of them restore drills, 2–4 versions each),
//     max(100, N / 100) schedules with 5 versions each, and every backup
//     linked to one of 100 backup schedules.
import type pg from 'pg';
import { log } from './env.js';

export interface SeedShape {
  backups: number;
  recoveries: number;
  schedules: number;
}

export function seedShape(backups: number): SeedShape {
  return { backups, recoveries: Math.round(backups / 10), schedules: Math.max(100, Math.round(backups / 100)) };
}

export const FULL_EVERY = 96;
export const WAL_KEPT_DAYS = 35;
export const FULL_KEPT_DAYS = 30;
export const INCREMENTAL_KEPT_DAYS = 14;
const CLEANUP_LAG_DAYS = 3;

/** The statements, in order, with a label for progress output. */
export function seedStatements(shape: SeedShape, sysid: string): Array<[string, string]> {
  const N = shape.backups;
  const R = shape.recoveries;
  const S = shape.schedules;
  const BACKUP_SCHEDULES = Math.min(100, S);
  if (!/^[0-9]+$/.test(sysid)) throw new Error(`bad system identifier ${sysid}`);
  // 24 hex digits of a WAL file name on timeline 1, 256 segments per log.
  const walName = (segno: string) => `'00000001' || lpad(upper(to_hex(${segno} / 256)), 8, '0') || lpad(upper(to_hex(${segno} % 256)), 8, '0')`;
  const hex64 = (expr: string) => `encode(sha256(convert_to(${expr}, 'UTF8')), 'hex')`;
  return [
    ['anchor', `CREATE UNLOGGED TABLE seed_anchor AS SELECT date_trunc('minute', now()) AS anchor`],
    [
      'backup facts',
      `CREATE UNLOGGED TABLE seed_b AS
       WITH base AS (
         SELECT i, (i % ${FULL_EVERY} = 0) AS full,
                a.anchor - (${N} - i) * interval '60 seconds' + ((i * 37) % 20) * interval '1 second' AS t_req,
                CASE WHEN (i::bigint * 7919) % 1000 < 20 THEN 'FAILED'
                     WHEN (i::bigint * 7919) % 1000 < 25 THEN 'CANCELLED'
                     ELSE 'COMPLETED' END AS status,
                (i::bigint * 104729) % 1000 AS r2
           FROM generate_series(0, ${N - 1}) AS i, seed_anchor AS a
       ), timed AS (
         SELECT b.*, b.t_req + (1 + b.i % 3) * interval '1 second' AS t_start,
                CASE WHEN b.full THEN 20 + (b.i * 13) % 30 ELSE 2 + (b.i * 7) % 8 END::numeric + ((b.i * 31) % 1000) / 1000.0 AS dur,
                CASE WHEN b.status <> 'COMPLETED' THEN NULL WHEN b.r2 < 10 THEN 'FAILED' WHEN b.r2 < 40 THEN 'SKIPPED' ELSE 'VERIFIED' END AS ver,
                ((b.t_req AT TIME ZONE 'UTC') + CASE WHEN b.full THEN interval '${FULL_KEPT_DAYS} days' ELSE interval '${INCREMENTAL_KEPT_DAYS} days' END)::date AS exp_date,
                (CASE WHEN b.full THEN 'FULL_BACKUP_SYSTEM_' ELSE 'INCREMENTAL_BACKUP_SYSTEM_' END) || to_char(b.t_req AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS_US') AS bk
           FROM base AS b
       )
       SELECT t.*, t.t_start + t.dur * interval '1 second' AS t_end,
              t.t_start + t.dur * interval '1 second' + CASE WHEN t.full THEN interval '15 seconds' ELSE interval '2 seconds' END AS t_ver,
              (t.status = 'COMPLETED' AND t.exp_date < ((a.anchor AT TIME ZONE 'UTC') - interval '${CLEANUP_LAG_DAYS} days')::date) AS expired,
              (t.exp_date + interval '2 hours') AT TIME ZONE 'UTC' AS t_exp,
              sha256(convert_to(t.bk, 'UTF8')) AS hk,
              1000 + t.i::bigint AS segno,
              CASE WHEN t.full THEN 10737418240 + (t.i::bigint * 104729) % 1073741824 ELSE 16777216 END AS size,
              max(t.i) FILTER (WHERE t.status = 'COMPLETED') OVER (ORDER BY t.i ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS parent_i
         FROM timed AS t, seed_anchor AS a
        ORDER BY hk`,
    ],
    ['index seed_b', `CREATE UNIQUE INDEX ON seed_b (i)`],
    ['analyze seed_b', `ANALYZE seed_b`],
    [
      'backup_execution_h',
      `INSERT INTO backup_mgmt.backup_execution_h (backup_hk, backup_bk, tenant_hk, load_date, record_source)
       SELECT hk, bk, NULL, t_req, CASE WHEN i % 4 = 0 THEN 'backup_mgmt.create_full_backup' ELSE 'backup_mgmt.run_schedule' END FROM seed_b`,
    ],
    [
      'backup_execution_s (versions)',
      `INSERT INTO backup_mgmt.backup_execution_s (
          backup_hk, load_date, load_end_date, hash_diff, backup_bk, backup_type, backup_scope, backup_method, requested_at,
          backup_start_time, backup_end_time, backup_duration_seconds, backup_status, backup_size_bytes, compressed_size_bytes,
          compression_ratio, compression_algorithm, changes_captured, backup_location, storage_type, retention_period, expiration_date,
          verification_status, verification_date, verification_detail, checksum_algorithm, checksum_value, integrity_verified,
          error_message, error_code, retry_count, max_retries, initiated_by, changed_by, backup_priority, record_source)
       SELECT b.hk, v.times[k], v.times[k + 1], sha256(b.hk || convert_to(v.codes[k], 'UTF8')), b.bk,
              CASE WHEN b.full THEN 'FULL' ELSE 'INCREMENTAL' END, 'SYSTEM', CASE WHEN b.full THEN 'PG_BASEBACKUP' ELSE 'WAL_ARCHIVE' END, b.t_req,
              CASE WHEN v.codes[k] IN ('PENDING', 'CANCELLED') THEN b.t_req ELSE b.t_start END,
              CASE WHEN v.codes[k] IN ('PENDING', 'RUNNING', 'CANCELLED') THEN NULL ELSE b.t_end END,
              CASE WHEN v.codes[k] IN ('PENDING', 'RUNNING', 'CANCELLED') THEN NULL ELSE b.dur END,
              CASE v.codes[k] WHEN 'VERIFY' THEN 'COMPLETED' ELSE v.codes[k] END,
              CASE WHEN b.status = 'COMPLETED' AND k >= 3 THEN b.size END,
              CASE WHEN b.status = 'COMPLETED' AND k >= 3 THEN b.size * 10 / 32 END,
              CASE WHEN b.status = 'COMPLETED' AND k >= 3 THEN 3.20 END,
              'zstd',
              CASE WHEN NOT b.full AND b.status = 'COMPLETED' AND k >= 3 THEN b.size END,
              '/backup/repo', 'LOCAL', CASE WHEN b.full THEN interval '${FULL_KEPT_DAYS} days' ELSE interval '${INCREMENTAL_KEPT_DAYS} days' END, b.exp_date,
              CASE WHEN b.status <> 'COMPLETED' THEN 'SKIPPED'
                   WHEN b.ver = 'SKIPPED' THEN 'SKIPPED'
                   WHEN k <= 3 THEN 'PENDING' ELSE b.ver END,
              CASE WHEN b.ver IN ('VERIFIED', 'FAILED') AND k >= 4 THEN b.t_ver END,
              CASE WHEN b.ver = 'VERIFIED' AND k >= 4 THEN format('%s files (%s bytes) match backup_manifest; manifest checksum and WAL OK (%s s)', 1200 + b.i % 300, b.size, round(b.dur / 4, 1))
                   WHEN b.ver = 'FAILED' AND k >= 4 THEN 'base.tar.zst: checksum mismatch for base/16384/2619' END,
              CASE WHEN b.status = 'COMPLETED' AND k >= 3 THEN 'SHA256' END,
              CASE WHEN b.status = 'COMPLETED' AND k >= 3 THEN ${hex64("b.bk || 'manifest'")} END,
              CASE WHEN b.ver IN ('VERIFIED', 'FAILED') AND k >= 4 THEN b.ver = 'VERIFIED' END,
              CASE v.codes[k] WHEN 'FAILED' THEN 'pg_basebackup failed: could not connect to server: Connection refused'
                              WHEN 'CANCELLED' THEN 'cancelled by backup_operator at ' || to_char(b.t_req AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END,
              CASE v.codes[k] WHEN 'FAILED' THEN 'AGENT_ERROR' END,
              0, 2, CASE WHEN b.i % 4 = 0 THEN 'backup_operator' ELSE 'postgres' END,
              CASE WHEN v.codes[k] IN ('PENDING', 'CANCELLED') THEN 'backup_operator' WHEN v.codes[k] = 'EXPIRED' THEN 'backup_mgmt_admin' ELSE 'backup_agent' END,
              5, 'bench.seed'
         FROM seed_b AS b
        CROSS JOIN LATERAL (
          SELECT CASE b.status
                   WHEN 'COMPLETED' THEN ARRAY['PENDING', 'RUNNING', 'COMPLETED']
                        || CASE WHEN b.ver IN ('VERIFIED', 'FAILED') THEN ARRAY['VERIFY'] ELSE '{}'::text[] END
                        || CASE WHEN b.expired THEN ARRAY['EXPIRED'] ELSE '{}'::text[] END
                   WHEN 'FAILED' THEN ARRAY['PENDING', 'RUNNING', 'FAILED']
                   ELSE ARRAY['PENDING', 'CANCELLED'] END AS codes,
                 CASE b.status
                   WHEN 'COMPLETED' THEN ARRAY[b.t_req, b.t_start, b.t_end]
                        || CASE WHEN b.ver IN ('VERIFIED', 'FAILED') THEN ARRAY[b.t_ver] ELSE '{}'::timestamptz[] END
                        || CASE WHEN b.expired THEN ARRAY[b.t_exp] ELSE '{}'::timestamptz[] END
                   WHEN 'FAILED' THEN ARRAY[b.t_req, b.t_start, b.t_end]
                   ELSE ARRAY[b.t_req, b.t_req + interval '5 seconds'] END AS times
        ) AS v
        CROSS JOIN LATERAL generate_subscripts(v.codes, 1) AS k`,
    ],
    [
      'backup_lsn_s',
      `INSERT INTO backup_mgmt.backup_lsn_s (backup_hk, load_date, load_end_date, hash_diff, start_lsn, stop_lsn, timeline_id, start_wal_file, stop_wal_file,
          start_time, stop_time, pg_version, pg_version_num, system_identifier, next_xid, backup_label, record_source)
       SELECT b.hk, b.t_end, NULL, sha256(b.hk || '\\x6c'::bytea),
              CASE WHEN b.full THEN '0/0'::pg_lsn + (b.segno * 16777216 + 40)::numeric
                   ELSE '0/0'::pg_lsn + (b.segno * 16777216)::numeric END,
              CASE WHEN b.full THEN '0/0'::pg_lsn + (b.segno * 16777216 + 16777216 - 256)::numeric
                   ELSE '0/0'::pg_lsn + ((b.segno + 1) * 16777216)::numeric END,
              1, ${walName('b.segno')}, ${walName('b.segno')},
              b.t_start, b.t_end, 'PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu', 150018, '${sysid}',
              1000 + b.i::bigint * 50,
              CASE WHEN b.full THEN 'START WAL LOCATION: ... (file ' || ${walName('b.segno')} || ')' END,
              'bench.seed'
         FROM seed_b AS b WHERE b.status = 'COMPLETED'`,
    ],
    [
      'backup_storage_s (versions)',
      `INSERT INTO backup_mgmt.backup_storage_s (backup_hk, load_date, load_end_date, hash_diff, repository_root, repository_path, manifest_sha256,
          stored_files, stored_bytes, agent_id, files_present, record_source)
       SELECT b.hk, CASE WHEN v.present THEN b.t_end ELSE b.t_exp END,
              CASE WHEN v.present AND b.expired THEN b.t_exp END,
              sha256(b.hk || CASE WHEN v.present THEN '\\x01'::bytea ELSE '\\x00'::bytea END),
              '/backup/repo',
              CASE WHEN b.full THEN '/backup/repo/${sysid}/backups/' || b.bk ELSE '/backup/repo/${sysid}/wal' END,
              ${hex64("b.bk || 'manifest'")},
              CASE WHEN b.full THEN jsonb_build_array(
                     jsonb_build_object('name', 'base.tar.zst', 'bytes', b.size * 10 / 32, 'sha256', ${hex64("b.bk || 'base'")}),
                     jsonb_build_object('name', 'backup_manifest', 'bytes', 180000 + b.i % 5000, 'sha256', ${hex64("b.bk || 'manifest'")})) END,
              b.size * 10 / 32, 'db-host-1', v.present, 'bench.seed'
         FROM seed_b AS b
        CROSS JOIN LATERAL (VALUES (true), (false)) AS v (present)
        WHERE b.status = 'COMPLETED' AND (v.present OR b.expired)`,
    ],
    [
      'backup_dependency_l',
      `INSERT INTO backup_mgmt.backup_dependency_l (link_backup_dependency_hk, source_backup_hk, dependent_backup_hk, tenant_hk, load_date, record_source)
       SELECT sha256(p.hk || b.hk), p.hk, b.hk, NULL, b.t_req, 'backup_mgmt.create_incremental_backup'
         FROM seed_b AS b JOIN seed_b AS p ON p.i = b.parent_i
        WHERE NOT b.full
       ORDER BY 1`,
    ],
    [
      'wal_archive',
      `INSERT INTO backup_mgmt.wal_archive (system_identifier, file_name, timeline_id, start_lsn, bytes, stored_bytes, sha256, archived_at,
          first_commit_time, last_commit_time, registered_at, purged_at)
       SELECT '${sysid}', ${walName('b.segno')}, 1, '0/0'::pg_lsn + (b.segno * 16777216)::numeric, 16777216, 4000000 + (b.i::bigint * 7919) % 2000000,
              ${hex64("'wal' || b.segno::text")}, b.t_req + interval '61 seconds',
              b.t_req + interval '0.5 seconds', b.t_req + interval '59.5 seconds', b.t_req + interval '62 seconds',
              CASE WHEN b.t_req < a.anchor - interval '${WAL_KEPT_DAYS} days' THEN b.t_req + interval '${WAL_KEPT_DAYS} days' END
         FROM seed_b AS b, seed_anchor AS a
       ORDER BY 2`,
    ],
    [
      'recovery facts',
      `CREATE UNLOGGED TABLE seed_r AS
       SELECT j.j, t.t,
              (j.j % 5 = 0) AS drill,
              CASE WHEN j.j >= ${R} - 3 THEN 'PENDING'
                   WHEN (j.j::bigint * 6151) % 100 < 85 THEN 'COMPLETED'
                   WHEN (j.j::bigint * 6151) % 100 < 90 THEN 'FAILED'
                   WHEN (j.j::bigint * 6151) % 100 < 97 AND j.j % 5 <> 0 THEN 'REJECTED'
                   ELSE 'CANCELLED' END AS status,
              (CASE WHEN j.j % 5 = 0 THEN 'RECOVERY_RESTORE_DRILL_' ELSE 'RECOVERY_POINT_IN_TIME_' END) || to_char(t.t AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS_US') AS bk,
              greatest(0, ((${N}::bigint - ((${R} - j.j)::bigint * ${N} / ${R})) / ${FULL_EVERY} - 1) * ${FULL_EVERY}) AS base_i,
              20 + (j.j * 17) % 600 AS rto
         FROM generate_series(0, ${R - 1}) AS j (j), seed_anchor AS a,
              LATERAL (SELECT a.anchor - (${R} - j.j) * interval '${Math.round((N * 60) / R)} seconds' + (j.j % 13) * interval '1 second' AS t) AS t`,
    ],
    ['analyze seed_r', `ANALYZE seed_r`],
    [
      'recovery_operation_h',
      `INSERT INTO backup_mgmt.recovery_operation_h (recovery_hk, recovery_bk, tenant_hk, load_date, record_source)
       SELECT sha256(convert_to(bk, 'UTF8')), bk, NULL, t, CASE WHEN drill THEN 'backup_mgmt.create_restore_drill' ELSE 'backup_mgmt.initiate_recovery' END FROM seed_r
       ORDER BY 1`,
    ],
    [
      'recovery_operation_s (versions)',
      `INSERT INTO backup_mgmt.recovery_operation_s (recovery_hk, load_date, load_end_date, hash_diff, recovery_type, source_backup_hk, target_point_in_time,
          recovery_target, target_kind, target_value, target_inclusive, recovery_start_time, recovery_end_time, recovery_duration_seconds, recovery_status,
          validation_performed, validation_status, data_integrity_verified, records_recovered, data_size_recovered, recovery_success_rate,
          restore_directory, restore_port, is_drill, error_message, error_code, initiated_by, changed_by, approval_required, approved_by, approval_date,
          approval_comment, plan, record_source)
       SELECT sha256(convert_to(r.bk, 'UTF8')), v.times[k], v.times[k + 1], sha256(convert_to(r.bk || v.codes[k], 'UTF8')),
              CASE WHEN r.drill THEN 'RESTORE_DRILL' ELSE 'POINT_IN_TIME' END, b.hk,
              CASE WHEN NOT r.drill THEN r.t - interval '10 minutes' END, 'FULL_DATABASE',
              CASE WHEN r.drill THEN 'immediate' ELSE 'time' END,
              CASE WHEN r.drill THEN b.bk ELSE to_char((r.t - interval '10 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' END,
              true,
              CASE WHEN v.codes[k] IN ('RUNNING', 'COMPLETED', 'FAILED') THEN v.times[array_position(v.codes, 'RUNNING')] ELSE r.t END,
              CASE WHEN v.codes[k] IN ('COMPLETED', 'FAILED') THEN v.times[k] END,
              CASE WHEN v.codes[k] = 'COMPLETED' THEN r.rto END,
              v.codes[k],
              CASE WHEN v.codes[k] = 'COMPLETED' THEN true END,
              CASE WHEN v.codes[k] = 'COMPLETED' THEN CASE WHEN r.j % 50 = 0 THEN 'PARTIAL' ELSE 'PASSED' END END,
              CASE WHEN v.codes[k] = 'COMPLETED' THEN r.j % 50 <> 0 END,
              CASE WHEN v.codes[k] = 'COMPLETED' THEN 50000000 + (r.j::bigint * 7919) % 1000000 END,
              CASE WHEN v.codes[k] = 'COMPLETED' THEN 10737418240 + (r.j::bigint * 104729) % 1073741824 END,
              CASE WHEN v.codes[k] = 'COMPLETED' THEN CASE WHEN r.j % 50 = 0 THEN 99.5 ELSE 100 END END,
              '/restores/' || r.bk, CASE WHEN v.codes[k] = 'COMPLETED' AND NOT r.drill THEN 50000 + r.j % 10000 END,
              r.drill,
              CASE v.codes[k] WHEN 'FAILED' THEN 'recovery ended before configured recovery target was reached'
                              WHEN 'REJECTED' THEN 'rejected by recovery_approver: not needed'
                              WHEN 'CANCELLED' THEN 'cancelled by backup_operator' END,
              CASE v.codes[k] WHEN 'FAILED' THEN 'AGENT_ERROR' END,
              CASE WHEN r.drill THEN 'pg_cron' ELSE 'backup_operator' END,
              CASE WHEN v.codes[k] IN ('APPROVED', 'REJECTED') THEN 'recovery_approver' WHEN v.codes[k] IN ('RUNNING', 'COMPLETED', 'FAILED') THEN 'backup_agent' ELSE 'backup_operator' END,
              NOT r.drill,
              CASE WHEN NOT r.drill AND v.codes[k] NOT IN ('PENDING', 'REJECTED', 'CANCELLED') THEN 'recovery_approver' END,
              CASE WHEN NOT r.drill AND v.codes[k] NOT IN ('PENDING', 'REJECTED', 'CANCELLED') THEN r.t + interval '10 minutes' END,
              CASE WHEN NOT r.drill AND v.codes[k] NOT IN ('PENDING', 'CANCELLED') THEN 'checked with the application team' END,
              jsonb_build_object('kind', 'restore', 'version', 1, 'drill', r.drill, 'recovery_bk', r.bk,
                'base', jsonb_build_object('backup_hk', encode(b.hk, 'hex'), 'backup_bk', b.bk, 'repository_root', '/backup/repo',
                    'repository_path', '/backup/repo/${sysid}/backups/' || b.bk, 'system_identifier', '${sysid}', 'timeline_id', 1,
                    'stop_time', b.t_end, 'verification_status', 'VERIFIED', 'backup_size_bytes', b.size),
                'wal', jsonb_build_object('timeline_id', 1, 'from_segment', ${walName('b.segno')}, 'segments', 96, 'bytes', 96 * 16777216),
                'target', jsonb_build_object('kind', CASE WHEN r.drill THEN 'immediate' ELSE 'time' END, 'action', 'promote'),
                'estimate', jsonb_build_object('bytes', b.size, 'throughput_bytes_per_second', 17895697, 'basis', 'history', 'minutes', 10),
                'warnings', '[]'::jsonb),
              'bench.seed'
         FROM seed_r AS r
         JOIN seed_b AS b ON b.i = r.base_i
        CROSS JOIN LATERAL (
          SELECT CASE WHEN r.drill THEN CASE r.status WHEN 'COMPLETED' THEN ARRAY['APPROVED', 'RUNNING', 'COMPLETED']
                                                      WHEN 'FAILED' THEN ARRAY['APPROVED', 'RUNNING', 'FAILED']
                                                      WHEN 'PENDING' THEN ARRAY['APPROVED']
                                                      ELSE ARRAY['APPROVED', 'CANCELLED'] END
                      ELSE CASE r.status WHEN 'COMPLETED' THEN ARRAY['PENDING', 'APPROVED', 'RUNNING', 'COMPLETED']
                                         WHEN 'FAILED' THEN ARRAY['PENDING', 'APPROVED', 'RUNNING', 'FAILED']
                                         WHEN 'REJECTED' THEN ARRAY['PENDING', 'REJECTED']
                                         WHEN 'PENDING' THEN ARRAY['PENDING']
                                         ELSE ARRAY['PENDING', 'CANCELLED'] END END AS codes,
                 CASE WHEN r.drill THEN CASE r.status WHEN 'COMPLETED' THEN ARRAY[r.t, r.t + interval '1 second', r.t + (r.rto + 1) * interval '1 second']
                                                      WHEN 'FAILED' THEN ARRAY[r.t, r.t + interval '1 second', r.t + interval '90 seconds']
                                                      WHEN 'PENDING' THEN ARRAY[r.t]
                                                      ELSE ARRAY[r.t, r.t + interval '30 seconds'] END
                      ELSE CASE r.status WHEN 'COMPLETED' THEN ARRAY[r.t, r.t + interval '10 minutes', r.t + interval '601 seconds', r.t + (r.rto + 601) * interval '1 second']
                                         WHEN 'FAILED' THEN ARRAY[r.t, r.t + interval '10 minutes', r.t + interval '601 seconds', r.t + interval '700 seconds']
                                         WHEN 'REJECTED' THEN ARRAY[r.t, r.t + interval '10 minutes']
                                         WHEN 'PENDING' THEN ARRAY[r.t]
                                         ELSE ARRAY[r.t, r.t + interval '5 minutes'] END END AS times
        ) AS v
        CROSS JOIN LATERAL generate_subscripts(v.codes, 1) AS k
       ORDER BY 1, 2`,
    ],
    [
      'recovery_backup_l',
      `INSERT INTO backup_mgmt.recovery_backup_l (link_recovery_backup_hk, recovery_hk, backup_hk, tenant_hk, load_date, record_source)
       SELECT sha256(sha256(convert_to(r.bk, 'UTF8')) || b.hk), sha256(convert_to(r.bk, 'UTF8')), b.hk, NULL, r.t, 'backup_mgmt.initiate_recovery'
         FROM seed_r AS r JOIN seed_b AS b ON b.i = r.base_i
       ORDER BY 1`,
    ],
    [
      'schedule facts',
      `CREATE UNLOGGED TABLE seed_s AS
       SELECT k,
              (ARRAY['nightly-full', 'hourly-incremental', 'verify', 'cleanup', 'health-check', 'restore-drill', 'differential'])[1 + k % 7] || '-' || lpad(k::text, 5, '0') AS name,
              (ARRAY['FULL', 'INCREMENTAL', 'VERIFY', 'CLEANUP', 'HEALTH_CHECK', 'DRILL', 'DIFFERENTIAL'])[1 + k % 7] AS btype,
              (ARRAY['0 2 * * *', '*/15 * * * *', '30 */4 * * *', '0 3 * * 0', '5 * * * *', '0 1 1 * *'])[1 + k % 6] AS cron,
              a.anchor
         FROM generate_series(0, ${S - 1}) AS k, seed_anchor AS a`,
    ],
    [
      'backup_schedule_h',
      `INSERT INTO backup_mgmt.backup_schedule_h (schedule_hk, schedule_bk, tenant_hk, load_date, record_source)
       SELECT sha256(convert_to(upper(name), 'UTF8')), name, NULL, anchor - interval '700 days' + k * interval '1 minute', 'backup_mgmt.create_backup_schedule'
         FROM seed_s
       ORDER BY 1`,
    ],
    [
      'backup_schedule_s (versions)',
      `INSERT INTO backup_mgmt.backup_schedule_s (schedule_hk, load_date, load_end_date, hash_diff, schedule_name, backup_type, schedule_expression, timezone,
           execution_window_start, execution_window_end, max_execution_duration, is_active, next_execution_time, last_execution_time, execution_count,
           retention_period, max_backup_count, min_redundancy, recovery_window, cron_job_name, notify_on_success, notify_on_failure,
           notification_recipients, backup_priority, resource_constraints, created_by, changed_by, schedule_description, tags, record_source)
       SELECT sha256(convert_to(upper(s.name), 'UTF8')), v.ld, v.led, sha256(convert_to(s.name || v.n, 'UTF8')), s.name, s.btype, s.cron, 'UTC',
              CASE WHEN s.k % 3 = 0 THEN time '01:00' END, CASE WHEN s.k % 3 = 0 THEN time '05:00' END, interval '4 hours',
              CASE WHEN v.n = 5 THEN s.k % 10 <> 0 ELSE true END,
              CASE WHEN v.n = 5 THEN s.anchor + ((s.k::bigint * 7919) % 86400) * interval '1 second' ELSE v.ld + interval '1 hour' END,
              CASE WHEN v.n > 1 THEN v.ld END, (v.n - 1) * 1000 + s.k % 1000,
              interval '30 days', NULL, 2, interval '7 days', 'backup_mgmt:' || s.name, false, true, ARRAY['dba@example.com'],
              5, '{"max_rate": null}'::jsonb, 'backup_mgmt_admin', 'backup_mgmt_admin', 'schedule ' || s.name, NULL, 'bench.seed'
         FROM seed_s AS s
        CROSS JOIN LATERAL (
          SELECT n, s.anchor - interval '700 days' + s.k * interval '1 minute' + (n - 1) * interval '150 days' AS ld,
                 CASE WHEN n < 5 THEN s.anchor - interval '700 days' + s.k * interval '1 minute' + n * interval '150 days' END AS led
            FROM generate_series(1, 5) AS n
        ) AS v
       ORDER BY 1, 2`,
    ],
    [
      'schedule_execution_l',
      `INSERT INTO backup_mgmt.schedule_execution_l (link_schedule_execution_hk, schedule_hk, backup_hk, tenant_hk, load_date, record_source)
       SELECT sha256(sh.hk || b.hk), sh.hk, b.hk, NULL, b.t_req, 'backup_mgmt.run_schedule'
         FROM seed_b AS b
         JOIN (SELECT row_number() OVER (ORDER BY schedule_bk) - 1 AS n, schedule_hk AS hk FROM backup_mgmt.backup_schedule_h) AS sh
           ON sh.n = b.i % ${BACKUP_SCHEDULES}
       ORDER BY 1`,
    ],
    ['drop seed tables', 'DROP TABLE seed_b, seed_r, seed_s, seed_anchor'],
  ];
}

export const SEEDED_TABLES = [
  'backup_execution_h',
  'backup_execution_s',
  'backup_lsn_s',
  'backup_storage_s',
  'backup_dependency_l',
  'wal_archive',
  'recovery_operation_h',
  'recovery_operation_s',
  'recovery_backup_l',
  'backup_schedule_h',
  'backup_schedule_s',
  'schedule_execution_l',
];

interface Deferred {
  /** Statements that put the secondary indexes and unique constraints back. */
  restore: string[];
}

/**
 * What a bulk loader does: drop the secondary indexes and unique constraints
 * of the tables it fills (primary keys stay; rows arrive in key order), load
 * with triggers (and so foreign-key checks) off, then build the indexes in
 * one sorted pass each.
 */
async function deferIndexes(client: pg.Client): Promise<Deferred> {
  const r = await client.query<{ kind: string; name: string; tbl: string; def: string }>(
    `SELECT 'constraint' AS kind, k.conname AS name, c.relname AS tbl, pg_get_constraintdef(k.oid) AS def
       FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace
      WHERE n.nspname = 'backup_mgmt' AND c.relname = ANY ($1) AND k.contype = 'u'
     UNION ALL
     SELECT 'index', i.relname, c.relname, pg_get_indexdef(i.oid)
       FROM pg_index AS x JOIN pg_class AS i ON i.oid = x.indexrelid JOIN pg_class AS c ON c.oid = x.indrelid
       JOIN pg_namespace AS n ON n.oid = c.relnamespace
      WHERE n.nspname = 'backup_mgmt' AND c.relname = ANY ($1) AND NOT x.indisprimary
        AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = x.indexrelid)`,
    [SEEDED_TABLES],
  );
  const restore: string[] = [];
  for (const row of r.rows) {
    if (row.kind === 'constraint') {
      await client.query(`ALTER TABLE backup_mgmt.${row.tbl} DROP CONSTRAINT ${row.name}`);
      restore.push(`ALTER TABLE backup_mgmt.${row.tbl} ADD CONSTRAINT ${row.name} ${row.def}`);
    } else {
      await client.query(`DROP INDEX backup_mgmt.${row.name}`);
      restore.push(row.def);
    }
  }
  return { restore };
}

/** Runs the seed and VACUUM ANALYZE; returns seconds and row counts. */
export async function seedCatalog(client: pg.Client, shape: SeedShape, sysid: string): Promise<{ seconds: number; rows: Record<string, number>; bytes: number }> {
  const t0 = performance.now();
  await client.query('SET synchronous_commit = off');
  await client.query(`SET maintenance_work_mem = '512MB'`);
  await client.query(`SET work_mem = '256MB'`);
  const deferred = await deferIndexes(client);
  await client.query(`SET session_replication_role = replica`);
  for (const [label, sql] of seedStatements(shape, sysid)) {
    const t = performance.now();
    await client.query(sql);
    log(`catalog seed: ${label} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  await client.query('RESET session_replication_role');
  let t = performance.now();
  for (const sql of deferred.restore) await client.query(sql);
  log(`catalog seed: ${deferred.restore.length} indexes and unique constraints built (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  await client.query('RESET work_mem');
  t = performance.now();
  await client.query(`VACUUM (ANALYZE) ${SEEDED_TABLES.map((x) => `backup_mgmt.${x}`).join(', ')}`);
  log(`catalog seed: VACUUM ANALYZE (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  const counts = await client.query<{ t: string; n: string; b: string }>(
    `SELECT c.relname AS t, c.reltuples::bigint AS n, pg_total_relation_size(c.oid) AS b
       FROM pg_class AS c JOIN pg_namespace AS ns ON ns.oid = c.relnamespace
      WHERE ns.nspname = 'backup_mgmt' AND c.relkind = 'r' AND c.reltuples > 0
      ORDER BY c.relname`,
  );
  const rows: Record<string, number> = {};
  let bytes = 0;
  for (const r of counts.rows) {
    rows[r.t] = Number(r.n);
    bytes += Number(r.b);
  }
  return { seconds: (performance.now() - t0) / 1000, rows, bytes };
}
