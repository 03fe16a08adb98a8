// SIGTERM around WAL streaming start-up: the agent stops within a generous
// bound (a bound on a hang, not a speed measure) with exit code 0, leaves no
// pg_receivewal running, and a restarted agent streams again. The moments:
// while the agent is still starting (streaming already on), right after it
// turns streaming on (the slot being created), the moment its pg_receivewal
// appears, and once the receiver streams.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.js';
import { query, stopAllAgents, waitFor, type AgentProcess } from '../e2e/support.js';
import { receiver, receiverPid, SLOT, startAgent, streamingCluster, waitStreaming, type StreamingSetup } from './support.js';

const cluster = useCluster({ name: 'stream-stop' });
const AGENT = 'stop-agent';
/** Far above any healthy stop; only a hang reaches it. */
const HANG_MS = 30_000;
let env: StreamingSetup;

beforeAll(async () => {
  env = await streamingCluster(cluster(), 'stophang', AGENT, { streaming: true });
  await waitStreaming(env.url);
  await stopChecked(env.agent, new Set());
}, 300_000);

afterAll(async () => {
  await stopAllAgents();
});

/** Every pg_receivewal on this machine writing into this test's spool (whoever its parent is now). */
function spoolReceivers(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // A zombie is no longer running (its parent has not reaped it yet).
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith('pg_receivewal')) && argv.includes(env.spool)) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Notes the agent's pg_receivewal pids until `done` settles (each one must be gone after the stop). */
function watchReceivers(agent: AgentProcess, done: Promise<unknown>): { seen: Set<number>; finished: Promise<void> } {
  const seen = new Set<number>();
  let over = false;
  void done.finally(() => (over = true));
  const finished = (async () => {
    while (!over) {
      const pid = receiverPid(agent);
      if (pid !== undefined) seen.add(pid);
      await sleep(5);
    }
  })();
  return { seen, finished };
}

/** SIGTERM (once), then: exit 0 within HANG_MS, no receiver left, the server no longer streams to one. */
async function stopChecked(agent: AgentProcess, seen: Set<number>): Promise<void> {
  const from = agent.log().length;
  const stopped = agent.stop();
  const outcome = await Promise.race([stopped, sleep(HANG_MS).then(() => 'hung' as const)]);
  if (outcome === 'hung') {
    const log = agent.log().slice(from);
    await agent.kill();
    expect.fail(`the agent did not exit within ${HANG_MS / 1000} s of one SIGTERM; its log since:\n${log}`);
  }
  expect(outcome, `exit of the agent; its log:\n${agent.log().slice(from)}`).toEqual({ code: 0, signal: null });
  for (const pid of seen) expect(alive(pid), `pg_receivewal ${pid} still running after the agent exited`).toBe(false);
  expect(spoolReceivers(), 'no pg_receivewal on the spool after the agent exited').toEqual([]);
  await waitFor('the server to have no receiver', async () => (await receiver(env.url)) === undefined, 30_000);
}

/** The agent started; `trigger` waits for the moment; SIGTERM then, checked. */
async function stopAt(trigger: (agent: AgentProcess, logFrom: number) => Promise<void>): Promise<void> {
  const agent = await startAgent(cluster(), env.url, env.repo, AGENT, env.agentArgs);
  const logFrom = agent.log().length;
  const watch = watchReceivers(agent, agent.exited);
  await trigger(agent, logFrom);
  await stopChecked(agent, watch.seen);
  await watch.finished;
}

async function setStreaming(on: boolean): Promise<void> {
  await query(env.url, `SELECT backup_mgmt.set_setting('wal.streaming', $1)`, [on ? 'on' : 'off']);
}

/** Polls the agent's log (since `from`) every few ms for `text`. */
async function logShows(agent: AgentProcess, from: number, text: string): Promise<void> {
  await waitFor(`the agent to log "${text}"`, async () => agent.log().slice(from).includes(text), 60_000, 2);
}

describe('SIGTERM around WAL streaming start-up', () => {
  it('while the agent starts with streaming on: several delays after it registered', async () => {
    for (const delayMs of [0, 20, 60, 150, 400]) {
      await stopAt(async () => {
        await sleep(delayMs);
      });
    }
  }, 300_000);

  it('right after the agent turns streaming on (the slot is being created)', async () => {
    for (let i = 0; i < 4; i++) {
      await setStreaming(false);
      await stopAt(async (agent, from) => {
        // Off at start: the agent drops the slot; on again, its next heartbeat starts the receiver.
        await waitFor('the slot to be dropped', async () => (await query(env.url, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [SLOT])).length === 0, 60_000);
        await setStreaming(true);
        await logShows(agent, from, 'WAL streaming on');
        if (i > 0) await sleep(i * 5);
      });
    }
  }, 300_000);

  it('the moment its pg_receivewal appears, before it streams', async () => {
    for (let i = 0; i < 3; i++) {
      await stopAt(async (agent) => {
        await waitFor('pg_receivewal to start', async () => receiverPid(agent) !== undefined, 60_000, 2);
      });
    }
  }, 300_000);

  it('once the receiver streams', async () => {
    await stopAt(async () => {
      await waitStreaming(env.url);
    });
  }, 120_000);

  it('a restarted agent streams again and stores a completed segment from the stream', async () => {
    await setStreaming(true);
    env.agent = await startAgent(cluster(), env.url, env.repo, AGENT, env.agentArgs);
    const from = env.agent.log().length;
    await waitStreaming(env.url);
    await query(env.url, 'CREATE TABLE IF NOT EXISTS t (id int)');
    await query(env.url, 'INSERT INTO t SELECT generate_series(1, 1000)');
    const [{ f }] = (await query<{ f: string }>(env.url, 'SELECT pg_walfile_name(pg_switch_wal()) AS f')) as [{ f: string }];
    await waitFor(`${f} stored by the receiver`, async () => env.agent.log().slice(from).includes(`streamed ${f} stored`), 60_000);
    const [r] = await query<{ n: string }>(env.url, 'SELECT count(*)::text AS n FROM pg_replication_slots WHERE slot_name = $1 AND active', [SLOT]);
    expect(r!.n).toBe('1');
    await stopChecked(env.agent, new Set([receiverPid(env.agent)!]));
  }, 180_000);
});
