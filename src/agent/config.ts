// Agent configuration from flags and environment, validated once. Nothing but
// the database and the repository has to be configured in the default case.
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { REPOSITORY_ENV, repositoryRootInput } from '../storage/repository-root.js';
import { parseConnectionString } from './conninfo.js';

export interface AgentFlags {
  databaseUrl?: string;
  repo?: string;
  restoreRoot?: string;
  agentId?: string;
  pgBindir?: string;
  maxRate?: string;
  walScanSeconds?: string;
  archiveWaitSeconds?: string;
  streamSpool?: string;
  streamPartialSeconds?: string;
}

const path = (what: string) =>
  z
    .string({ error: `${what} is required` })
    .min(1, `${what} is required`)
    .refine((p) => !p.includes('\0'), `${what} contains a NUL byte`)
    .transform((p) => resolve(p));

export const AgentConfigSchema = z.object({
  databaseUrl: z
    .string({ error: 'no database: pass --database-url or set DATABASE_URL' })
    .min(1, 'no database: pass --database-url or set DATABASE_URL')
    .refine((s) => /^postgres(ql)?:\/\//.test(s) || /(^|\s)(host|dbname|port|user)=/.test(s), {
      message: 'the database URL must look like postgresql://user@host:port/dbname',
    })
    .superRefine((s, ctx) => {
      // What the tools get (pg_basebackup -h/-p/-U/-d) must parse too, not only what pg accepts.
      try {
        parseConnectionString(s);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `--database-url / DATABASE_URL: ${(e as Error).message}` });
      }
    }),
  repo: path(`the repository (--repo or ${REPOSITORY_ENV})`),
  restoreRoot: path('the restore root'),
  agentId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'agent id: letters, digits and . _ : @ - only'),
  pgBindir: path('PG_BINDIR').optional(),
  // pg_basebackup --max-rate syntax: kB/s, or with a k/M suffix.
  maxRate: z.string().regex(/^[0-9]+[kM]?$/, 'max rate: a number of kB/s, optionally with suffix k or M').optional(),
  walScanSeconds: z.coerce.number().int('WAL scan interval: whole seconds').min(1).max(3600).default(10),
  // How long an incremental backup waits for its last segment to be archived.
  archiveWaitSeconds: z.coerce.number().int('archive wait: whole seconds').min(1).max(86_400).default(300),
  // WAL streaming (setting wal.streaming): the receiver's local spool, and how
  // often the segment being received is copied into the repository.
  streamSpool: path('the WAL spool'),
  streamPartialSeconds: z.coerce.number().int('partial interval: whole seconds').min(1).max(3600).default(10),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

/** Flags win over the environment; defaults are derived from the repository. */
export function resolveAgentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const repo = repositoryRootInput(flags.repo, env);
  const raw = {
    databaseUrl: flags.databaseUrl ?? env.DATABASE_URL,
    repo,
    restoreRoot: flags.restoreRoot ?? env.BACKUP_MGMT_RESTORE_ROOT ?? (repo ? resolve(dirname(resolve(repo)), 'restores') : undefined),
    // Stable across restarts so the catalog keeps one row per host; the pid goes into info.
    agentId: flags.agentId ?? env.BACKUP_MGMT_AGENT_ID ?? hostname(),
    pgBindir: flags.pgBindir ?? (env.PG_BINDIR || undefined),
    maxRate: flags.maxRate ?? (env.BACKUP_MGMT_MAX_RATE || undefined),
    walScanSeconds: flags.walScanSeconds ?? (env.BACKUP_MGMT_WAL_SCAN_SECONDS || undefined),
    archiveWaitSeconds: flags.archiveWaitSeconds ?? (env.BACKUP_MGMT_ARCHIVE_WAIT_SECONDS || undefined),
    streamSpool: flags.streamSpool ?? env.BACKUP_MGMT_STREAM_SPOOL ?? (repo ? resolve(dirname(resolve(repo)), 'wal-spool') : undefined),
    streamPartialSeconds: flags.streamPartialSeconds ?? (env.BACKUP_MGMT_STREAM_PARTIAL_SECONDS || undefined),
  };
  const parsed = AgentConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AgentConfigError(issue.message);
  }
  return parsed.data;
}

export class AgentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentConfigError';
  }
}
