// The bare `backup-mgmt` program: name, description, error behaviour. Shared
// by the full program and main.ts's fast path for the per-WAL-file commands.
import { Command } from 'commander';
import { withConfigOption } from './config-option.js';

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Usage errors are one line with where to look, not the whole help (exit 2 in main.ts). */
export function oneLineErrors(cmd: Command): Command {
  return cmd.exitOverride().configureOutput({
    // Commander's suggestion ("Did you mean backup?") comes on a line of its own.
    outputError: (text, write) => write(`backup-mgmt: ${text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (see: ${commandPath(cmd)} --help)\n`),
  });
}

/** oneLineErrors for a command and every subcommand under it, except those that handle their own. */
export function oneLineErrorsEverywhere(cmd: Command, except: ReadonlySet<string> = new Set()): Command {
  oneLineErrors(cmd);
  for (const sub of cmd.commands) if (!except.has(sub.name())) oneLineErrorsEverywhere(sub, except);
  return cmd;
}

export function baseProgram(): Command {
  return withConfigOption(new Command('backup-mgmt').description('PostgreSQL backup and recovery that lives in the database'));
}
