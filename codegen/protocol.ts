// The agent ⇄ SQL job contract, declared once: the job types, and for each
// plan kind the plan SQL writes and the result the agent reports back. From
// it `npm run codegen` writes
//   src/generated/job-types.ts   JOB_TYPES / JobType for client and agent,
//   src/generated/protocol.ts    the zod plan schemas and result types the agent uses,
//   sql/00-generated/_job_contract.sql  _job_types(), _job_result_required(), _apply_job_result(),
//   src/agent/PROTOCOL-jobs.md   the protocol tables.
// Adding a job type: one entry in `jobTypes` below, then its executor
// (src/agent/job-runner.ts EXECUTORS refuses to compile without it) and the
// SQL function named in `applyResult`. See codegen/README.md.

import { field as f, maybe, nullable, nullish, optional, prim, v, withDefault, type Primitive, type Protocol } from './protocol-types.js';
import { RECOVERY_TARGET_KIND, VALIDATION_STATUS } from './model.js';

const P = {
  int8: {
    name: 'int8',
    zod: 'z.union([z.string().regex(/^-?\\d+$/), z.number().int()]).transform((v) => Number(v))',
    ts: 'number',
    doc: 'int8',
    comment: 'int8 columns arrive from node-postgres as strings.',
  },
  hex: { name: 'hex', zod: "z.string().regex(/^[0-9a-f]+$/i, 'expected hex')", ts: 'string', doc: 'hex', comment: 'A hash key in hex.' },
  hk: {
    name: 'hashKey',
    zod: "z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits')",
    ts: 'string',
    doc: 'hash key (64 hex)',
    comment: 'A hash key: 64 lower-case hex digits.',
  },
  absolutePath: {
    name: 'absolutePath',
    zod:
      "z\n  .string()\n  .min(1)\n  .max(1024)\n  .refine((p) => isAbsolute(p) && SAFE_PATH.test(p) && !p.split('/').some((s) => s === '.' || s === '..' || s.startsWith('-')), {\n    message: 'must be an absolute path of A-Z a-z 0-9 / . _ - + @ = without . or .. segments or a component starting with -',\n  })",
    ts: 'string',
    doc: 'absolute path',
    comment:
      'Absolute, already normalized and in the safe character set, checked again\n * here (after SQL): a plan must not smuggle `..`, a shell metacharacter or an\n * option-like component into a path.',
  },
  repositoryPath: {
    name: 'repositoryPath',
    zod: "z.union([\n  absolutePath,\n  z\n    .string()\n    .max(1024)\n    .regex(/^s3:\\/\\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/, 'expected s3://bucket/key of [A-Za-z0-9._-] segments'),\n])",
    ts: 'string',
    doc: 'absolute path or s3://bucket/key',
    comment: 'Where a backup is stored: a local directory (absolutePath) or an object\n * prefix in an off-host repository, in the storage key grammar.',
  },
  lsn: { name: 'lsn', zod: "z.string().regex(/^[0-9A-Fa-f]{1,8}\\/[0-9A-Fa-f]{1,8}$/, 'expected an LSN X/X')", ts: 'string', doc: 'LSN', comment: 'A pg_lsn as text.' },
  segmentName: {
    name: 'segmentName',
    zod: "z.string().regex(/^[0-9A-F]{24}$/, 'expected a WAL segment name')",
    ts: 'string',
    doc: 'WAL file name',
    comment: 'A WAL segment name: 24 upper-case hex digits.',
  },
  sysid: { name: 'sysid', zod: "z.string().regex(/^[0-9]{1,20}$/, 'expected a system identifier')", ts: 'string', doc: 'system identifier', comment: 'A system identifier in decimal.' },
  sysidDecimal: {
    name: 'sysidDecimal',
    zod: "z.string().regex(/^[0-9]{1,20}$/, 'expected a decimal system identifier')",
    ts: 'string',
    doc: 'system identifier',
    comment: 'A system identifier in decimal (DELETE plans word the complaint so).',
  },
  backupBk: {
    name: 'backupBk',
    zod: "z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'backup key must be a safe directory name')",
    ts: 'string',
    doc: 'business key',
    comment: 'A backup business key: it names a directory.',
  },
  recoveryBk: {
    name: 'recoveryBk',
    zod: "z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'recovery key must be a safe directory name')",
    ts: 'string',
    doc: 'business key',
    comment: 'A recovery business key: it names the restore directory.',
  },
} satisfies Record<string, Primitive>;

const hex = prim(P.hex);
const hk = prim(P.hk);
const absPath = prim(P.absolutePath);
const repoPath = prim(P.repositoryPath);
const lsn = prim(P.lsn);
const segment = prim(P.segmentName);
const sysid = prim(P.sysid);
const backupBk = prim(P.backupBk);
const iso = v.raw('z.string()', 'string', 'ISO 8601 time');
const verification = v.raw('z.unknown()', 'Verification', 'verification');
const VERIFY_HINT = 'the verification: `status` VERIFIED \\| FAILED \\| SKIPPED, `detail`, `verified_at` (ISO 8601)';

export const protocol: Protocol = {
  constants: [
    {
      name: 'SAFE_PATH',
      expr: '/^\\/[A-Za-z0-9/._+@=-]*$/',
      comment: "The characters SQL's _normalize_path allows in a path: none that a shell,\n * a quoting rule or an option parser gives a meaning.",
    },
  ],
  primitives: Object.values(P),
  named: [
    {
      name: 'Verification',
      comment: 'A verification outcome, as every job that verifies reports it.',
      fields: [
        f('status', v.enum(['VERIFIED', 'FAILED', 'SKIPPED']), 'SKIPPED only when the plan asked for no verification'),
        f('detail', v.string, 'what was checked or what is wrong'),
        f('verified_at', iso, 'when'),
      ],
    },
    {
      name: 'StoredFile',
      comment: 'One file a backup stored, with the SHA-256 of its bytes.',
      fields: [f('name', v.string, 'plain file name'), f('bytes', v.number, 'size'), f('sha256', v.string, '64 lower-case hex digits')],
    },
    {
      name: 'WalRegistration',
      comment: "One row of register_wal's p_files.",
      fields: [
        f('file_name', v.string, 'WAL file name'),
        f('timeline_id', v.number, 'timeline'),
        f('start_lsn', nullable(v.string), 'first LSN of the segment'),
        f('bytes', v.number, 'size of the WAL file'),
        f('stored_bytes', v.number, 'size as stored (compressed)'),
        f('sha256', v.string, 'of the stored bytes'),
        f('archived_at', v.string, 'ISO 8601'),
        f('first_commit_time', nullable(v.string), 'timestamptz literal from pg_waldump; null without commits (or for history/backup files)'),
        f('last_commit_time', nullable(v.string), 'likewise'),
      ],
    },
  ],
  jobTypes: [
    {
      name: 'BACKUP',
      meaning: 'take a backup; one BACKUP job runs at a time',
      executor: 'src/agent/backup-job.ts (full), src/agent/incremental-job.ts (incremental)',
      kinds: [
        {
          kind: 'full',
          planName: 'FullBackupPlan',
          resultName: 'FullBackupResult',
          queuedBy: 'create_full_backup',
          applyResult: '_apply_backup_result',
          docSection: 'BACKUP job (full)',
          plan: {
            fields: [
              f('kind', v.literal('full'), 'plan kind'),
              f('backup_hk', hex, 'the backup'),
              f('backup_bk', backupBk, 'its business key, the directory name'),
              f('label', v.raw('z.string().min(1).max(1000)', 'string', 'text'), 'pg_basebackup --label'),
              f('repository_root', repoPath, 'stored into `<repository_root>/<system_identifier>/backups/<backup_bk>/`; s3://… for storage type S3 (the agent\'s off-host repository)'),
              f(
                'compression',
                v.object([
                  f('enabled', v.boolean, 'false: method, level, workers are null'),
                  // Verification reads zstd or uncompressed tar only; nothing else may be stored.
                  f('method', nullish(v.enum(['server-zstd', 'client-zstd'])), 'verification reads zstd or plain tar only'),
                  f('level', nullish(v.int(-7, 22)), 'zstd level'),
                  f('workers', nullish(v.int(0, 256)), "the server's cores (`info.cpu_count`), at least 1"),
                ]),
                'pg_basebackup --compress',
              ),
              f('checkpoint', withDefault(v.enum(['fast', 'spread']), 'fast'), 'pg_basebackup --checkpoint'),
              f('manifest_checksums', withDefault(v.enum(['SHA256', 'SHA224', 'SHA384', 'SHA512', 'CRC32C', 'NONE']), 'SHA256'), 'setting backup.manifest_checksums'),
              // -X fetch keeps the backup self-contained inside base.tar; that is what verification expects.
              f('wal_method', withDefault(v.literal('fetch'), 'fetch'), '-X fetch: the backup is self-contained'),
              f('verify', withDefault(v.boolean, true), 'verify against the manifest after the backup'),
              f(
                'max_rate',
                nullish(v.union([v.positiveInt, v.regex('/^[0-9]+[kM]?$/')], 'kB/s or "20480k" / "50M"')),
                'pg_basebackup --max-rate; null = unlimited (or the agent\'s `--max-rate`)',
              ),
            ],
          },
          result: {
            fields: [
              f('repository_path', v.string, 'where it was stored, inside plan.repository_root', { required: true }),
              f('system_identifier', v.string, 'of the backed-up cluster', { required: true }),
              f('backup_size_bytes', v.number, 'bytes of the data directory', { required: true }),
              f('compressed_size_bytes', v.number, 'bytes stored', { required: true }),
              f('start_lsn', v.string, 'backup start', { required: true }),
              f('stop_lsn', v.string, 'backup end (≥ start_lsn)', { required: true }),
              f('timeline_id', v.number, 'timeline', { required: true }),
              f('start_wal_file', v.string, '24 upper-case hex digits', { required: true }),
              f('stop_wal_file', v.string, 'the segment holding the byte before stop_lsn', { required: true }),
              f('pg_version', v.string, 'version() text, at most 100 characters', { required: true }),
              f('pg_version_num', v.number, 'server_version_num', { required: true }),
              f('manifest_sha256', v.string, 'SHA-256 of backup_manifest', { required: true }),
              f('stored_files', v.raw('z.unknown()', 'StoredFile[]', 'array of {name, bytes, sha256}'), 'what was stored (plaintext bytes and SHA-256, also when encrypted)', { required: true }),
              f('encryption_fingerprints', maybe(v.array(v.string)), 'required for an s3:// repository_root (the keys it is encrypted to, `age-x25519:<32 hex>`), absent for a local one'),
              f('verification', verification, `${VERIFY_HINT}; required when plan.verify`),
              f('start_time', iso, "backup_label's START TIME"),
              f('stop_time', iso, 'when pg_basebackup reported its end point'),
              f('next_xid', v.string, 'pg_snapshot_xmax(pg_current_snapshot()) after pg_basebackup returned: bounds xid targets'),
              f('started_at', iso, 'job start'),
              f('ended_at', iso, 'when the directory was published (before verification)'),
              f('backup_label', v.string, 'backup_label as the server wrote it; the plan\'s label is stored when absent'),
            ],
          },
        },
        {
          kind: 'incremental',
          planName: 'IncrementalBackupPlan',
          resultName: 'IncrementalBackupResult',
          queuedBy: 'create_incremental_backup',
          applyResult: '_apply_incremental_result',
          docSection: 'BACKUP job (incremental)',
          plan: {
            fields: [
              f('kind', v.literal('incremental'), 'plan kind'),
              // Only WAL-range incrementals exist before PostgreSQL 17.
              f('method', v.literal('WAL_ARCHIVE'), 'a proven WAL range (PostgreSQL < 17)'),
              f('backup_hk', hex, 'the backup'),
              f('backup_bk', backupBk, 'its business key'),
              f('parent_backup_hk', hex, 'the backup it continues'),
              f('parent_backup_bk', v.string, "the parent's business key"),
              f('chain_full_backup_hk', hex, 'the full backup the chain starts with'),
              f('chain_start_lsn', lsn, "start_lsn of the chain's full backup"),
              f('range_start_lsn', lsn, 'stop_lsn of the parent'),
              f('timeline_id', v.int(1), 'timeline the range is on'),
              f('system_identifier', sysid, 'of the cluster'),
              f('repository_root', repoPath, 'where the WAL is archived; s3://… when the chain lives in the off-host repository (the range is stored there too)'),
              f('wal_segment_size', v.positiveInt, 'bytes per segment'),
              f('verify', withDefault(v.boolean, true), 'false: presence only'),
            ],
          },
          result: {
            fields: [
              f('stop_lsn', v.string, 'pg_switch_wal() (≥ range_start_lsn)', { required: true }),
              f('stop_wal_file', v.string, 'the segment holding the byte before stop_lsn on plan.timeline_id', { required: true }),
              f('stop_time', iso, 'clock_timestamp() of the switch', { required: true }),
              f('next_xid', v.string, 'decimal, pg_snapshot_xmax(pg_current_snapshot())', { required: true }),
              f('changes_captured', v.number, 'exactly stop_lsn - range_start_lsn, in bytes', { required: true }),
              f('wal_files_checked', v.number, "segments checked from chain_start_lsn's segment to stop_wal_file", { required: true }),
              f('verification', verification, `${VERIFY_HINT} (VERIFIED or FAILED)`, { required: true }),
              f('started_at', iso, 'job start'),
              f('ended_at', iso, 'job end'),
              f('pg_version', v.string, 'version() text'),
              f('pg_version_num', v.number, 'server_version_num'),
              f('repository_path', v.string, 'default `<repository_root>/<sysid>/wal`'),
              f('encryption_fingerprints', maybe(v.array(v.string)), 'as for a full backup: required for an s3:// repository_root'),
            ],
          },
        },
      ],
    },
    {
      name: 'VERIFY',
      meaning: 'check a stored backup against its manifest again',
      executor: 'src/agent/verify-job.ts',
      kinds: [
        {
          kind: 'verify',
          planName: 'VerifyPlan',
          resultName: 'VerifyJobResult',
          queuedBy: 'verify_backup_integrity',
          applyResult: '_apply_verify_result',
          docSection: 'VERIFY job',
          plan: {
            fields: [
              f('kind', v.literal('verify'), 'plan kind'),
              f('backup_hk', hex, 'the backup'),
              f('repository_path', repoPath, 'its directory, or its s3:// location'),
            ],
          },
          result: { fields: [f('verification', verification, `${VERIFY_HINT} (VERIFIED or FAILED)`, { required: true })] },
        },
      ],
    },
    {
      name: 'RESTORE',
      meaning: 'restore a base backup, replay WAL to the target, validate (recoveries and drills)',
      executor: 'src/agent/restore-job.ts',
      kinds: [
        {
          kind: 'restore',
          planName: 'RestorePlan',
          resultName: 'RestoreResult',
          queuedBy: '_queue_restore_job',
          applyResult: '_apply_restore_result',
          docSection: 'RESTORE job',
          plan: {
            fields: [
              f('kind', v.literal('restore'), 'plan kind'),
              f('recovery_hk', hex, 'the recovery'),
              f('recovery_bk', prim(P.recoveryBk), 'its business key'),
              f('restore_directory', absPath, 'empty or absent, inside the restore root'),
              f('drill', v.boolean, 'a drill never keeps its copy'),
              f('keep_running', v.boolean, 'leave the restored server running'),
              f(
                'validation',
                withDefault(v.object([f('compare_table_counts', withDefault(v.boolean, true), 'count the rows of every table')]), { compare_table_counts: true }),
                'what validation does',
              ),
              f(
                'base',
                v.object([
                  f('backup_hk', hex, 'the base backup'),
                  f('backup_bk', backupBk, 'its business key'),
                  f('repository_root', nullish(repoPath), 'its repository'),
                  f('repository_path', repoPath, 'its directory, or s3://… when its home is the off-host repository'),
                  f('system_identifier', sysid, 'of the source cluster'),
                  f('timeline_id', v.int(1), 'timeline'),
                  f('start_lsn', lsn, 'backup start'),
                  f('stop_lsn', lsn, 'backup end: replay must reach it'),
                  f('verification_status', nullish(v.string), 'VERIFIED: restored files matching stored_files need no pg_verifybackup'),
                  f(
                    'stored_files',
                    nullish(v.array(v.object([f('name', v.string, 'file'), f('sha256', v.regex('/^[0-9a-f]{64}$/'), 'its SHA-256')], { passthrough: true }))),
                    'what the backup job stored (backup_storage_s.stored_files)',
                  ),
                ]),
                'the base backup',
              ),
              f(
                'wal',
                optional(
                  v.object(
                    [
                      f('timeline_id', v.int(), 'timeline'),
                      f('from_segment', segment, 'first segment replay needs'),
                      f('to_segment', segment, 'last segment replay needs'),
                      f('segments', v.int(), 'how many'),
                      f('bytes', v.number, 'their size'),
                    ],
                    { partial: true },
                  ),
                ),
                'the archived WAL replay needs (read ahead)',
              ),
              f(
                'target',
                v.object([
                  f('kind', v.enum(RECOVERY_TARGET_KIND), 'target kind'),
                  f('value', nullish(v.string), 'canonical text'),
                  f('time', nullish(v.string), 'time targets'),
                  f('lsn', nullish(lsn), 'lsn, name (the restore point\'s), immediate (base stop)'),
                  f('xid', nullish(v.regex('/^[0-9]+$/')), 'xid targets'),
                  f('restore_point', nullish(v.object([f('name', v.string, 'name'), f('lsn', lsn, 'where')], { partial: true })), 'name targets'),
                ]),
                'the recovery target',
              ),
              // Setting names are written into postgresql.auto.conf: only recovery_* may come from a plan.
              f(
                'restore_settings',
                v.record(v.regex('/^recovery_target(_[a-z]+)?$/', 'only recovery_target* settings'), v.union([v.string, v.boolean])),
                'exactly the recovery_target* parameters to write (quoted; booleans as on/off)',
              ),
              f('estimate', nullish(v.object([f('bytes', nullish(v.number), 'to restore'), f('minutes', nullish(v.number), 'expected')], { partial: true })), 'RTO estimate'),
            ],
          },
          result: {
            fields: [
              f('restore_directory', v.string, 'the plan\'s', { required: true }),
              f('recovery_duration_seconds', v.number, 'claim to validated', { required: true }),
              f(
                'validation',
                v.raw(
                  'z.unknown()',
                  `{\n    status: ValidationStatus;\n    records_recovered: number;\n    data_size_recovered: number;\n    detail: string;\n    success_rate: number;\n    databases?: { name: string; tables: number; rows: number; bytes: number; error?: string }[];\n    checks?: { name: string; ok: boolean; detail: string }[];\n  }`,
                  'object',
                ),
                `status ${VALIDATION_STATUS.join(' \\| ')}, records_recovered, data_size_recovered, detail, success_rate (0..100); extras databases[], checks[]`,
                { required: true },
              ),
              f('restore_port', nullable(v.number), 'port of a kept copy'),
              f('recovery_end_time', iso, 'when recovery ended'),
              f('reached', v.raw('z.unknown()', '{ lsn: string | null; time: string | null }', 'object'), 'replayed up to (lsn ≥ base.stop_lsn), last replayed commit time'),
              f('kept_running', v.boolean, 'the restored server still runs (never for drills)'),
              f('socket_directory', maybe(nullable(v.string)), 'where an operator connects (kept restores)'),
              f('log_file', maybe(v.string), 'server log'),
              f('phases_seconds', maybe(v.record(v.string, v.number)), 'time per phase'),
              f('wal_segments_read_ahead', maybe(v.number), 'WAL segments decompressed and checked ahead of replay'),
              f(
                'repository',
                maybe(v.raw('z.unknown()', "{ name: 'local' | 's3'; location: string; detail: string }", 'object')),
                'which repository served the base backup (`detail` says so when the local copy was missing and S3 served it)',
              ),
            ],
          },
        },
      ],
    },
    {
      name: 'DELETE',
      meaning: 'remove what retention decided: a backup directory and/or archived WAL of one timeline',
      executor: 'src/agent/delete-job.ts',
      kinds: [
        {
          kind: 'delete',
          planName: 'DeletePlan',
          resultName: 'DeleteJobResult',
          queuedBy: 'cleanup_expired_backups',
          applyResult: '_apply_delete_result',
          docSection: 'DELETE job',
          plan: {
            loose: true,
            fields: [
              f('kind', v.literal('delete'), 'plan kind'),
              f('backup_hk', nullable(hk), 'the backup, or null for a WAL purge only'),
              f('backup_bk', nullable(backupBk), 'its business key'),
              f('system_identifier', prim(P.sysidDecimal), 'the cluster'),
              f('repository_root', repoPath, "must be the agent's own repository (local, or its off-host s3:// one)"),
              f('repository_path', nullable(repoPath), 'exactly `<repository_root>/<system_identifier>/backups/<backup_bk>`'),
              f('dependents', withDefault(v.array(v.object([f('backup_hk', hk, 'an incremental'), f('backup_bk', backupBk, 'its key')], { loose: true })), []), 'incrementals without files of their own that go with it'),
              f(
                'wal_purge',
                withDefault(
                  nullable(
                    v.object(
                      [
                        f('system_identifier', prim(P.sysidDecimal), 'the cluster'),
                        f('timeline', v.int(1, 0xffffffff), 'timeline to purge'),
                        f('before_segment', segment, 'archived WAL before it goes'),
                      ],
                      { loose: true },
                    ),
                  ),
                  null,
                ),
                'archived WAL of one timeline before before_segment',
              ),
            ],
            refine: [
              {
                check: '(p.backup_hk === null) === (p.backup_bk === null) && (p.backup_bk === null) === (p.repository_path === null)',
                message: 'backup_hk, backup_bk and repository_path are all given or all null',
              },
              { check: 'p.backup_bk !== null || p.wal_purge !== null', message: 'nothing to delete: no backup and no wal_purge' },
              { check: 'p.wal_purge === null || p.wal_purge.system_identifier === p.system_identifier', message: 'wal_purge.system_identifier differs from system_identifier' },
              {
                check: 'p.wal_purge === null || parseInt(p.wal_purge.before_segment.slice(0, 8), 16) === p.wal_purge.timeline',
                message: 'wal_purge.before_segment is not on wal_purge.timeline',
              },
            ],
          },
          result: {
            fields: [
              f(
                'backup',
                v.raw(
                  'z.unknown()',
                  '{\n    repository_path: string;\n    /** false: the directory was gone already (a retry after a crash, or removed by hand). */\n    removed: boolean;\n    /** Leftovers of this backup in trash/ that were removed (a crashed attempt\'s rename). */\n    trash_removed: number;\n  } | null',
                  'object \\| null',
                ),
                '`repository_path`, `removed` (boolean; required when the plan deletes a backup), `trash_removed`',
              ),
              f(
                'wal',
                v.raw(
                  'z.unknown()',
                  '{\n    timeline: number;\n    before_segment: string;\n    files_removed: number;\n    stored_bytes_removed: number;\n  } | null',
                  'object \\| null',
                ),
                '`timeline`, `before_segment`, `files_removed` (a count; required when the plan purges WAL), `stored_bytes_removed`',
              ),
            ],
          },
        },
      ],
    },
  ],
};
