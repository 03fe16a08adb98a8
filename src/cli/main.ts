#!/usr/bin/env node
// Entry point of the `backup-mgmt` command: runs the program and turns any
// error into one line on stderr and a non-zero exit code.
import { CommanderError, type Command } from 'commander';
import { CliError, describeError } from './errors.js';

// archive_command and restore_command start the CLI once per WAL file: loading
// every other command (and zod schemas, clients …) would double each start.
const PER_WAL_FILE: Record<string, () => Promise<Command>> = {
  'wal-fetch': async () => (await import('./commands/wal-fetch.js')).walFetchCommand(),
  'wal-push': async () => (await import('./commands/wal-push.js')).walPushCommand(),
};

async function programFor(argv: string[]): Promise<Command> {
  const single = PER_WAL_FILE[argv[2] ?? ''];
  if (single) {
    const base = await import('./program-base.js');
    return base.oneLineErrorsEverywhere(base.baseProgram().addCommand(await single()));
  }
  return (await import('./program.js')).buildProgram();
}

async function main(argv: string[]): Promise<number> {
  try {
    await (await programFor(argv)).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`backup-mgmt: ${describeError(err)}\n`);
      return err.exitCode;
    }
    // Not reaching the server, or a database without the schema: a setting
    // to fix (exit 2, as for usage), said in one line with what to do.
    const { explainDbError } = await import('./db-errors.js');
    const explained = explainDbError(err);
    process.stderr.write(`backup-mgmt: ${explained ? explained.message : describeError(err)}\n`);
    return explained ? 2 : 1;
  }
}

main(process.argv).then((code) => process.exit(code));
