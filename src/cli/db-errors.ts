// What a failed connection or a missing schema means, in one line with what
// to do: the raw messages (`connect ENOENT /var/run/postgresql/.s.PGSQL.5433`,
// `relation "backup_mgmt.backup_list" does not exist`) name a symptom, not
// the fix. Used by every command (exit 2, a configuration error) and by
// `check` (UNKNOWN).
import { describeError } from './errors.js';

export type DbProblem = 'connect' | 'login' | 'database' | 'not-installed';

export interface ExplainedDbError {
  problem: DbProblem;
  message: string;
}

interface NodeLikeError {
  code?: string;
  address?: string;
  port?: number;
  hostname?: string;
  syscall?: string;
  message?: string;
}

const PG_LSCLUSTERS = 'pg_lsclusters lists the clusters, their ports and states';

/** A one-line explanation, or undefined when the error is not about reaching the schema. */
export function explainDbError(err: unknown): ExplainedDbError | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & NodeLikeError;
  const raw = describeError(err);
  switch (e.code) {
    case 'ECONNREFUSED':
      return { problem: 'connect', message: `cannot connect to ${e.address ?? '?'}:${e.port ?? '?'} (${raw}): is the server running and is this its port? ${PG_LSCLUSTERS}` };
    case 'ENOENT':
      if (e.syscall === 'connect' || /\.s\.PGSQL\./.test(e.message ?? '')) {
        return { problem: 'connect', message: `no server socket ${e.address ?? ''} (${raw}): wrong port or socket directory? ${PG_LSCLUSTERS}; Debian's socket directory is /var/run/postgresql` };
      }
      return undefined;
    case 'EACCES':
      if (e.syscall === 'connect') return { problem: 'connect', message: `may not open the server socket ${e.address ?? ''}: ${raw}` };
      return undefined;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { problem: 'connect', message: `unknown host ${e.hostname ?? ''} (${raw}): check the host in --database-url / DATABASE_URL` };
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { problem: 'connect', message: `cannot reach ${e.address ?? 'the server'}: ${raw}` };
    case '28P01':
    case '28000':
      return { problem: 'login', message: `cannot log in: ${raw} — on Debian connect through the socket as the postgres OS user: --database-url 'postgresql://postgres@/DB?host=/var/run/postgresql'` };
    case '3D000':
      return { problem: 'database', message: `${raw} — the database in --database-url / DATABASE_URL does not exist on this server` };
    case '3F000':
    case '42P01':
    case '42883':
      if (/backup_mgmt/.test(e.message ?? '')) {
        return { problem: 'not-installed', message: `backup_mgmt is not installed in this database (run: backup-mgmt migrate up): ${raw}` };
      }
      return undefined;
  }
  // pg's SCRAM code when the server wants a password and none was given.
  if (/client password must be a string|password authentication failed|no password supplied/i.test(e.message ?? '')) {
    return { problem: 'login', message: `the server asks for a password and none was given: put it in ~/.pgpass, or connect through the socket as the postgres OS user (peer): --database-url 'postgresql://postgres@/DB?host=/var/run/postgresql'` };
  }
  if (e.message === 'Connection terminated unexpectedly' || e.message === 'Connection terminated due to connection timeout') {
    return { problem: 'connect', message: `the server closed the connection: ${raw}` };
  }
  return undefined;
}
