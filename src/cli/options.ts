// Options shared by many commands, defined once.
import { Option, type Command } from 'commander';
import { CliError } from './errors.js';

export interface CommonOptions {
  databaseUrl?: string;
  json?: boolean;
}

export const databaseUrlOption = () =>
  new Option('--database-url <url>', 'PostgreSQL connection string (default: $DATABASE_URL)');
/** A location names the configured repository it lies in; a sub-directory is only a label (README "Repositories and locations"). */
export const locationOption = () =>
  new Option('--location <dir>', 'a directory inside a configured repository root: names that repository (default: the default repository)');
export const jsonOption = () => new Option('--json', 'print machine-readable JSON instead of text');

export function withCommon(cmd: Command): Command {
  return cmd.addOption(databaseUrlOption()).addOption(jsonOption());
}

/** The flags of a command that can --wait for the outcome. */
export interface WaitOptions {
  wait?: boolean;
  timeout: string;
}

/** Adds --wait (with its help text) and --timeout. */
export function withWait(cmd: Command, waitHelp = 'wait for the outcome, showing progress'): Command {
  return cmd.addOption(new Option('--wait', waitHelp)).addOption(timeoutOption());
}

/** --timeout of the commands that can --wait. */
export function timeoutOption(): Option {
  return new Option('--timeout <seconds>', 'give up waiting after this long').default('86400');
}

export function parseTimeoutMs(s: string): number {
  if (!/^[0-9]+$/.test(s) || Number(s) <= 0) throw new CliError(`--timeout: expected a positive number of seconds, got ${JSON.stringify(s)}`, 2);
  return Number(s) * 1000;
}
