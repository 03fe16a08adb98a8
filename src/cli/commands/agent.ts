// `backup-mgmt agent`: the long-running process that executes the catalog's
// jobs. SIGTERM/SIGINT stop it gracefully (exit 0); another signal more than
// REPEAT_MS later exits at once.
import { Command, Option } from 'commander';
import type { AgentFlags } from '../../agent/index.js';
import type { MetricsFlags } from '../../agent/metrics.js';
import { CliError } from '../errors.js';
import { databaseUrlOption } from '../options.js';
import { repoOption } from '../repo-option.js';

/** Signals this close to the first are the same stop request (forwarded by runuser/su). */
const REPEAT_MS = 5_000;

export function agentCommand(): Command {
  return new Command('agent')
    .description('run the agent that executes backup, verification and restore jobs')
    .addOption(databaseUrlOption())
    .addOption(repoOption('repository root (default: $BACKUP_MGMT_REPO); created if missing'))
    .addOption(new Option('--restore-root <dir>', 'where restores go (default: $BACKUP_MGMT_RESTORE_ROOT or <repo>/../restores)'))
    .addOption(new Option('--agent-id <id>', 'identity in the catalog (default: $BACKUP_MGMT_AGENT_ID or the host name)'))
    .addOption(new Option('--pg-bindir <dir>', 'PostgreSQL binaries (default: $PG_BINDIR, pg_config --bindir, PATH)'))
    .addOption(new Option('--max-rate <rate>', 'pg_basebackup --max-rate when a plan sets none, e.g. 10M (default: $BACKUP_MGMT_MAX_RATE)'))
    .addOption(new Option('--wal-scan-seconds <n>', 'how often archived WAL is registered in the catalog (default: 10)'))
    .addOption(new Option('--archive-wait-seconds <n>', 'how long an incremental backup waits for its WAL to be archived (default: 300)'))
    .addOption(new Option('--stream-spool <dir>', 'WAL streaming (wal.streaming = on): the receiver\'s spool (default: $BACKUP_MGMT_STREAM_SPOOL or <repo>/../wal-spool)'))
    .addOption(new Option('--stream-partial-seconds <n>', 'how often the segment being streamed is copied into the repository (default: 10)'))
    .addOption(new Option('--metrics-port <port>', 'serve Prometheus metrics on this port at /metrics (default: $BACKUP_MGMT_METRICS_PORT; off)'))
    .addOption(new Option('--metrics-host <addr>', 'address the metrics port binds (default: $BACKUP_MGMT_METRICS_HOST or 127.0.0.1)'))
    .action(async (flags: AgentFlags & MetricsFlags) => {
      const { Agent, AgentConfigError, resolveAgentConfig } = await import('../../agent/index.js');
      const { AgentMonitor, MetricsConfigError, resolveMetricsListen } = await import('../../agent/metrics.js');
      let config;
      let listen;
      try {
        config = resolveAgentConfig(flags);
        listen = resolveMetricsListen(flags);
      } catch (e) {
        if (e instanceof AgentConfigError || e instanceof MetricsConfigError) throw new CliError(e.message, 2);
        throw e;
      }
      // pgTool() looks the binaries up through the environment.
      if (config.pgBindir) process.env.PG_BINDIR = config.pgBindir;
      // Restored servers run wal-fetch from this package as the server's OS user.
      const { unreadableInstall } = await import('../install-check.js');
      const unreadable = unreadableInstall(process.env.BACKUP_MGMT_OS_USER ?? 'postgres');
      if (unreadable) throw new CliError(unreadable, 2);
      const agent = new Agent({ config });
      // runuser, su and init scripts forward the SIGTERM they get to the
      // process group that also got it: the same stop request arrives twice
      // within milliseconds. Repeats within REPEAT_MS are that one request;
      // a later one (an operator insisting) exits without cleanup. Installed
      // before start(): a stop requested while the agent registers is kept
      // and carried out once it has registered, so stopped_at is recorded.
      let firstSignalAt: number | undefined;
      let started = false;
      const onSignal = (sig: NodeJS.Signals) => {
        const now = Date.now();
        if (firstSignalAt === undefined) {
          firstSignalAt = now;
          if (started) void agent.stop();
        } else if (now - firstSignalAt > REPEAT_MS) {
          process.stderr.write(`backup-mgmt agent: ${sig} again while stopping, exiting without cleanup\n`);
          process.exit(1);
        }
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      await agent.start();
      // Repository free space for the health checks, and /metrics when a port is set.
      const monitor = new AgentMonitor({ databaseUrl: config.databaseUrl, agentId: agent.agentId, repository: agent.repository, listen });
      await monitor.start().catch(async (e: unknown) => {
        await agent.stop();
        throw new CliError((e as Error).message, 1);
      });
      started = true;
      if (firstSignalAt !== undefined) void agent.stop();
      await agent.finished;
      await agent.stop();
      await monitor.stop();
    });
}
