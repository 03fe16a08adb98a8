// The agent as a library: the CLI's `agent` command and tests start it from here.
export { Agent, DEFAULT_INTERVALS, type AgentIntervals, type AgentOptions } from './agent.js';
export { AgentConfigError, resolveAgentConfig, type AgentConfig, type AgentFlags } from './config.js';
export { stderrLogger, type Logger } from './log.js';
