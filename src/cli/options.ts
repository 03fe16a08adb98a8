// Options shared by many commands, defined once.
import { Option, type Command } from 'commander';

export interface CommonOptions {
  databaseUrl?: string;
  json?: boolean;
}

export const databaseUrlOption = () =>
  new Option('--database-url <url>', 'PostgreSQL connection string (default: $DATABASE_URL)');
export const jsonOption = () => new Option('--json', 'print machine-readable JSON instead of text');

export function withCommon(cmd: Command): Command {
  return cmd.addOption(databaseUrlOption()).addOption(jsonOption());
}
