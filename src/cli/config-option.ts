// `--config <file>` for every command, applied once before any command reads
// its environment: KEY=VALUE lines (BACKUP_MGMT_*, AWS_*) that fill what the
// real environment leaves unset (src/storage/offsite/env-file.ts). The path is
// then kept, absolute, in $BACKUP_MGMT_CONFIG, so the archive_command and
// restore_command lines this process writes carry it. Cheap: wal-push and
// wal-fetch start once per WAL file.
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { applyEnvFile, CONFIG_ENV, EnvFileError } from '../storage/offsite/env-file.js';
import { assertConfigPath, ConfigPathError } from '../util/config-file.js';
import { CliError } from './errors.js';

export const configOption = () =>
  new Option('--config <file>', `env file of BACKUP_MGMT_* and AWS_* settings, e.g. the S3 repository (default: $${CONFIG_ENV})`);

/** Load the config file named by `flag` or $BACKUP_MGMT_CONFIG into `env`. */
export function useConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = flag ?? (env[CONFIG_ENV] || undefined);
  if (given === undefined) return undefined;
  try {
    const file = assertConfigPath(resolve(given));
    applyEnvFile(file, env);
    env[CONFIG_ENV] = file;
    return file;
  } catch (e) {
    if (e instanceof EnvFileError || e instanceof ConfigPathError) throw new CliError(e.message, 2);
    throw e;
  }
}

/** The program-level option, applied before the subcommand parses and runs. */
export function withConfigOption(program: Command): Command {
  return program.addOption(configOption()).hook('preSubcommand', (cmd) => {
    useConfigFile(cmd.opts<{ config?: string }>().config);
  });
}
