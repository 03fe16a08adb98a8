// Wiring: one file per command under commands/, assembled here.
import type { Command } from 'commander';
import { agentCommand } from './commands/agent.js';
import { backupCommand } from './commands/backup.js';
import { cancelCommand } from './commands/cancel.js';
import { checkCommand } from './commands/check.js';
import { listCommand } from './commands/list.js';
import { migrateCommand } from './commands/migrate.js';
import { policyCommand } from './commands/policy.js';
import { setupCommand } from './commands/setup.js';
import { showCommand } from './commands/show.js';
import { verifyCommand } from './commands/verify.js';
import { walFetchCommand } from './commands/wal-fetch.js';
import { walPushCommand } from './commands/wal-push.js';
import { drillCommand } from './commands/drill.js';
import { recoveryCommand } from './commands/recovery.js';
import { restoreCommand } from './commands/restore.js';
import { restorePointCommand } from './commands/restore-point.js';
import { windowCommand } from './commands/window.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/paths.js';
import { baseProgram, oneLineErrorsEverywhere } from './program-base.js';

/** The installed package's version (package.json beside dist/). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
import { repoCommand } from './commands/repo.js';
import { catalogCommand } from './commands/catalog.js';

export function buildProgram(): Command {
  const program = baseProgram().version(packageVersion(), '-V, --version', 'print the version of backup-mgmt');
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
  program.addCommand(checkCommand());
  program.addCommand(restorePointCommand());
  program.addCommand(windowCommand());
  program.addCommand(restoreCommand());
  program.addCommand(recoveryCommand());
  program.addCommand(drillCommand());
  program.addCommand(policyCommand());
  program.addCommand(repoCommand());
  program.addCommand(catalogCommand());
  // `check` answers usage errors as UNKNOWN (exit 3) for monitoring, and
  // `policy` as errors (exit 1, since 2 means "changes pending" to a CI gate):
  // each on its own.
  return oneLineErrorsEverywhere(program, new Set(['check', 'policy']));
}
