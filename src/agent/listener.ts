// LISTEN backup_mgmt_jobs on a dedicated connection so a new job is picked up
// at once. Polling is the safety net, so a lost connection only costs latency:
// it is re-established in the background.
import pg from 'pg';
import { errorText, type Logger } from './log.js';
import { PINNED_OPTIONS } from './conninfo.js';

export const JOB_CHANNEL = 'backup_mgmt_jobs';
const RECONNECT_MS = 2_000;

export class JobListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly log: Logger,
    private readonly onNotify: () => void,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: 'backup-mgmt agent (listen)', options: PINNED_OPTIONS });
    client.on('notification', () => this.onNotify());
    client.on('error', (e) => this.lostConnection(client, e));
    client.on('end', () => this.lostConnection(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${JOB_CHANNEL}`);
      this.client = client;
      // Something may have been queued while we were not listening.
      this.onNotify();
    } catch (e) {
      this.log('warn', `LISTEN ${JOB_CHANNEL} failed: ${errorText(e)}; polling only until it works`);
      await client.end().catch(() => {});
      this.schedule();
    }
  }

  private lostConnection(client: pg.Client, e?: Error): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    this.log('warn', `LISTEN connection lost${e ? `: ${e.message}` : ''}; reconnecting`);
    client.end().catch(() => {});
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, RECONNECT_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }
}
