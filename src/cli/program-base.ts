// The bare `backup-mgmt` program: name, description, error behaviour. Shared
// by the full program and main.ts's fast path for the per-WAL-file commands.
import { Command } from 'commander';

export function baseProgram(): Command {
  return new Command('backup-mgmt')
    .description('PostgreSQL backup and recovery that lives in the database')
    .showHelpAfterError()
    .exitOverride();
}
