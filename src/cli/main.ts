#!/usr/bin/env node
// Entry point of the `backup-mgmt` command: runs the program and turns any
// error into one line on stderr and a non-zero exit code.
import { CommanderError } from 'commander';
import { CliError, describeError } from './errors.js';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`backup-mgmt: ${describeError(err)}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}

main(process.argv).then((code) => process.exit(code));
