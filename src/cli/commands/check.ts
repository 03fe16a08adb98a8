// `backup-mgmt check [--json]`: backup_mgmt.health_check() as a monitoring
// plugin (replaces the health-check shell script of seed 001, Step 5.2). The
// first line is the verdict, then one row per check. Exit codes follow Nagios:
// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (no connection, pack not installed,
// no privilege, bad usage) with one line on stderr.
import { Command, CommanderError, Option } from 'commander';
import pg from 'pg';
import { z } from 'zod';
import { resolveDatabaseUrl } from '../config.js';
import { explainDbError } from '../db-errors.js';
import { CliError, describeError } from '../errors.js';
import { withCommon, type CommonOptions } from '../options.js';
import { printJson, printTable } from '../output.js';

export const EXIT = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
type Status = keyof typeof EXIT;

export interface CheckRow {
  check_name: string;
  status: 'OK' | 'WARNING' | 'CRITICAL';
  value: string | null;
  threshold: string | null;
  detail: string | null;
}

const timeoutSchema = z.coerce.number().int('--timeout: whole seconds').min(1, '--timeout: at least 1 second').max(3600, '--timeout: at most 3600 seconds');

/** UNKNOWN with one line, whatever went wrong. */
const unknown = (message: string) => new CliError(`UNKNOWN: ${message}`, EXIT.UNKNOWN);

/** What a failed connection or query means for someone reading a monitoring alert. */
export function explainCheckError(e: unknown): string {
  const code = (e as { code?: string }).code;
  const explained = explainDbError(e);
  if (explained?.problem === 'connect') return `cannot connect to the database: ${explained.message}`;
  if (explained) return explained.message;
  if (code === '42501') return `the role may not run the health checks (grant it backup_viewer): ${describeError(e)}`;
  if (code === '28P01' || code === '28000') return `cannot log in: ${describeError(e)}`;
  if (code === '3D000') return `no such database: ${describeError(e)}`;
  if (code === '57014') return `the health checks took too long: ${describeError(e)}`;
  // No SQLSTATE (ECONNREFUSED, ENOTFOUND, a timeout) or a connection class one: the server was not reached.
  if (!code || !/^[0-9A-Z]{5}$/.test(code) || /^(08|57P)/.test(code)) return `cannot connect to the database: ${describeError(e)}`;
  return describeError(e);
}

/** The worst status of the rows (no rows: UNKNOWN, nothing was checked). */
export function worstStatus(rows: CheckRow[]): Status {
  if (rows.length === 0) return 'UNKNOWN';
  if (rows.some((r) => r.status === 'CRITICAL')) return 'CRITICAL';
  if (rows.some((r) => r.status === 'WARNING')) return 'WARNING';
  return 'OK';
}

/** The verdict line: "backup_mgmt CRITICAL - rpo CRITICAL, restore_drill WARNING (10 of 12 OK)". */
export function summaryLine(rows: CheckRow[]): string {
  const status = worstStatus(rows);
  const bad = [...rows.filter((r) => r.status === 'CRITICAL'), ...rows.filter((r) => r.status === 'WARNING')];
  const ok = rows.length - bad.length;
  const problems = bad.map((r) => `${r.check_name} ${r.status}`).join(', ');
  return `backup_mgmt ${status} - ${problems ? `${problems} (${ok} of ${rows.length} OK)` : `all ${rows.length} checks OK`}`;
}

async function runChecks(databaseUrl: string, timeoutSeconds: number): Promise<CheckRow[]> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: 'backup-mgmt check',
    connectionTimeoutMillis: timeoutSeconds * 1000,
    statement_timeout: timeoutSeconds * 1000,
  });
  // A server that goes away mid-query must reject the query, not crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<CheckRow>('SELECT check_name, status, value, threshold, detail FROM backup_mgmt.health_check()');
    return rows;
  } catch (e) {
    throw unknown(explainCheckError(e));
  } finally {
    await client.end().catch(() => {});
  }
}

export function checkCommand(): Command {
  return withCommon(new Command('check').description('run the health checks; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (Nagios)'))
    .addOption(new Option('--timeout <seconds>', 'give up (UNKNOWN) after this long').default('30'))
    .configureOutput({ outputError: () => {} })
    .exitOverride((err: CommanderError) => {
      // Usage errors are UNKNOWN for a monitoring plugin, not CRITICAL (2); --help stays 0.
      if (err.exitCode === 0) throw err;
      throw unknown(err.message.replace(/^error: /, ''));
    })
    .action(async (flags: CommonOptions & { timeout: string }) => {
      let databaseUrl: string;
      let timeout: number;
      try {
        databaseUrl = resolveDatabaseUrl(flags.databaseUrl);
        const parsed = timeoutSchema.safeParse(flags.timeout);
        if (!parsed.success) throw new CliError(parsed.error.issues[0]!.message, 2);
        timeout = parsed.data;
      } catch (e) {
        throw unknown(e instanceof Error ? e.message : String(e));
      }
      let rows: CheckRow[];
      try {
        rows = await runChecks(databaseUrl, timeout);
      } catch (e) {
        // Monitoring that parses --json gets JSON for UNKNOWN too (stdout), the line stays on stderr.
        if (flags.json && e instanceof CliError) {
          printJson({ status: 'UNKNOWN', exit_code: EXIT.UNKNOWN, summary: `backup_mgmt ${e.message}`, checks: [] });
        }
        throw e;
      }
      const status = worstStatus(rows);
      if (status === 'UNKNOWN') throw unknown('health_check() returned no checks');
      if (flags.json) {
        printJson({ status, exit_code: EXIT[status], summary: summaryLine(rows), checks: rows });
      } else {
        process.stdout.write(`${summaryLine(rows)}\n`);
        printTable(
          rows.map((r) => ({ status: r.status, check: r.check_name, value: r.value, threshold: r.threshold, detail: r.detail })),
          ['status', 'check', 'value', 'threshold', 'detail'],
        );
      }
      process.exitCode = EXIT[status];
    });
}
