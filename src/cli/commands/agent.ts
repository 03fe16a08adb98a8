// `backup-mgmt agent`: the long-running process that executes the catalog's
// jobs. SIGTERM/SIGINT stop it gracefully (exit 0); a second signal exits now.
import { Command, Option } from 'commander';
import type { AgentFlags } from '../../agent/index.js';
import { CliError } from '../errors.js';
import { databaseUrlOption } from '../options.js';

export function agentCommand(): Command {
  return new Command('agent')
    .description('run the agent that executes backup and verification jobs')
    .addOption(databaseUrlOption())
    .addOption(new Option('--repo <dir>', 'repository root (default: $BACKUP_MGMT_REPO); created if missing'))
    .addOption(new Option('--restore-root <dir>', 'where restores go (default: $BACKUP_MGMT_RESTORE_ROOT or <repo>/../restores)'))
    .addOption(new Option('--agent-id <id>', 'identity in the catalog (default: $BACKUP_MGMT_AGENT_ID or the host name)'))
    .addOption(new Option('--pg-bindir <dir>', 'PostgreSQL binaries (default: $PG_BINDIR, pg_config --bindir, PATH)'))
    .addOption(new Option('--max-rate <rate>', 'pg_basebackup --max-rate when a plan sets none, e.g. 10M (default: $BACKUP_MGMT_MAX_RATE)'))
    .addOption(new Option('--wal-scan-seconds <n>', 'how often archived WAL is registered in the catalog (default: 10)'))
    .action(async (flags: AgentFlags) => {
      const { Agent, AgentConfigError, resolveAgentConfig } = await import('../../agent/index.js');
      let config;
      try {
        config = resolveAgentConfig(flags);
      } catch (e) {
        if (e instanceof AgentConfigError) throw new CliError(e.message, 2);
        throw e;
      }
      // pgTool() looks the binaries up through the environment.
      if (config.pgBindir) process.env.PG_BINDIR = config.pgBindir;
      const agent = new Agent({ config });
      await agent.start();
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          process.stderr.write(`backup-mgmt agent: second ${sig}, exiting without cleanup\n`);
          process.exit(1);
        }
        void agent.stop();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      await agent.finished;
      await agent.stop();
    });
}
