// Wiring: one file per command under commands/, assembled here.
import { Command } from 'commander';
import { agentCommand } from './commands/agent.js';
import { backupCommand } from './commands/backup.js';
import { cancelCommand } from './commands/cancel.js';
import { listCommand } from './commands/list.js';
import { migrateCommand } from './commands/migrate.js';
import { setupCommand } from './commands/setup.js';
import { showCommand } from './commands/show.js';
import { verifyCommand } from './commands/verify.js';
import { walFetchCommand } from './commands/wal-fetch.js';
import { walPushCommand } from './commands/wal-push.js';

export function buildProgram(): Command {
  const program = new Command('backup-mgmt')
    .description('PostgreSQL backup and recovery that lives in the database')
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(migrateCommand());
  program.addCommand(setupCommand());
  program.addCommand(agentCommand());
  program.addCommand(walPushCommand());
  program.addCommand(walFetchCommand());
  program.addCommand(backupCommand());
  program.addCommand(listCommand());
  program.addCommand(showCommand());
  program.addCommand(verifyCommand());
  program.addCommand(cancelCommand());
  return program;
}
