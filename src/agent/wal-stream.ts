// WAL streaming: pg_receivewal through the pack's physical slot into a local
// spool; each completed segment is stored in the repository by wal-push's own
// code (same checksummed name, same registration), so wal-fetch, PITR and
// retention cannot tell the two paths apart, and the same segment arriving
// by both is the same SHA-256, never a conflict. The segment being written
// (`.partial`) is copied into the repository now and then and when the
// stream ends, so a restore to `latest` can replay it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { walDirFor } from '../storage/layout.js';
import { dropOffsiteVersions, pushWalOffsite, sharedWalOffsite } from '../storage/wal-offsite.js';
import { walPush, type WalPushResult } from '../storage/wal-push.js';
import { parseLsn, parseWalSegmentName } from '../storage/wal-names.js';
import { sha256File, storedVersions } from '../storage/wal-store.js';
import { pgTool } from '../util/process.js';
import { toolConnection } from './conninfo.js';
import { errorText, type Logger } from './log.js';
import { originalCommitTimes, pushedRegistration } from './push-registration.js';
import type { AgentSql } from './sql.js';

const SETPRIV = '/usr/bin/setpriv';
const COMPLETE_RE = /^([0-9A-F]{24}|[0-9A-F]{8}\.history)$/;
const PARTIAL_RE = /^[0-9A-F]{24}\.partial$/;
/** Where a copy of the `.partial` is taken before it is stored (pg_receivewal keeps writing the original). */
const SNAPSHOT_DIR = '.snapshot';
/** Stored partial versions being replaced; the suffix hides them from every reader of stored names. */
const SUPERSEDED = '.superseded';

export interface WalStreamOptions {
  databaseUrl: string;
  repo: string;
  spoolDir: string;
  systemIdentifier: string;
  segSize: number;
  sql: AgentSql;
  log: Logger;
  /** How often the current `.partial` is copied into the repository while streaming. */
  partialEveryMs: number;
  /** How often the spool is looked at for completed segments. */
  moveEveryMs?: number;
}

/** Only what pg_receivewal needs: no DATABASE_URL, no agent settings. */
function receiverEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const keep = ['HOME', 'PGPASSFILE', 'PGPASSWORD', 'PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY', 'PGSERVICEFILE'];
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C', TZ: 'UTC' };
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  return { ...env, ...extra };
}

/** The URL without an application_name of its own: the receiver must be known by the slot's name. */
function withoutAppName(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) return url;
  const u = new URL(url);
  u.searchParams.delete('application_name');
  return u.toString();
}

export function receiverArgs(databaseUrl: string, spoolDir: string, slot: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const conn = toolConnection(withoutAppName(databaseUrl), slot);
  // --synchronous in both modes: every write is fsynced and confirmed at
  // once, so what the server reports flushed is what the spool holds; -n:
  // the agent restarts it itself (and re-checks the slot and the setting).
  const args = [...conn.args, '-D', spoolDir, '-S', slot, '--synchronous', '-n', '--no-password', '--status-interval=1'];
  return { args, env: receiverEnv(conn.env) };
}

export class WalStreamer {
  private child: ChildProcess | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private moving: Promise<void> = Promise.resolve();
  private lastPartialSha = '';
  private lastPartialAt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Receiver runs since start (for tests and logs). */
  runs = 0;

  constructor(private readonly opts: WalStreamOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.timer = setInterval(() => void this.move(false), this.opts.moveEveryMs ?? 500);
    this.loop = this.run();
  }

  /** Stop the receiver, store what it completed and its last `.partial`. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.child?.kill('SIGTERM');
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    let backoff = 1_000;
    while (!this.stopped) {
      const started = Date.now();
      try {
        await mkdir(this.opts.spoolDir, { recursive: true, mode: 0o700 });
        const slot = await this.opts.sql.streamSlotEnsure();
        if (slot.created) this.opts.log('info', `created replication slot ${slot.slotName} at ${slot.restartLsn}`);
        if (slot.synchronous && !slot.serverWaits) {
          this.opts.log('warn', `wal.streaming_synchronous is on but synchronous_standby_names does not name ${slot.slotName}: commits do not wait for the receiver (see backup-mgmt setup)`);
        }
        await this.prepareSpool(slot.restartLsn);
        await this.receive(slot.slotName);
      } catch (e) {
        this.opts.log('warn', `WAL receiver: ${errorText(e)}`);
      }
      // Whatever it completed, and where it stopped, goes to the repository now.
      await this.move(true);
      if (this.stopped) break;
      backoff = Date.now() - started > 30_000 ? 1_000 : Math.min(backoff * 2, 30_000);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoff);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /**
   * pg_receivewal resumes from the newest segment in its spool, else from the
   * slot. Two kinds of leftovers would stop it: a `.partial` it was still
   * filling with zeros when it was killed (shorter than a segment, no WAL in
   * it yet: "should be 0 or 16777216"), and a `.partial` older than the slot
   * (streaming was off meanwhile and the slot is new: the server no longer
   * has that WAL). The latter is stored first, then removed.
   */
  private async prepareSpool(restartLsn: string | null): Promise<void> {
    const slotSegNo = restartLsn ? parseLsn(restartLsn) / BigInt(this.opts.segSize) : undefined;
    for (const name of (await readdir(this.opts.spoolDir)).filter((n) => PARTIAL_RE.test(n))) {
      const path = join(this.opts.spoolDir, name);
      const size = (await stat(path)).size;
      if (size !== this.opts.segSize && size !== 0) {
        this.opts.log('warn', `WAL spool: ${name} is ${size} bytes, left by a receiver stopped while preparing it (no WAL in it yet): removed`);
        await unlink(path);
        continue;
      }
      const segNo = parseWalSegmentName(name.slice(0, 24), this.opts.segSize).segNo;
      if (slotSegNo !== undefined && segNo < slotSegNo) {
        if (await this.holdsWal(name)) await this.storePartial(name);
        this.opts.log('info', `WAL spool: ${name} is older than the slot (${restartLsn}): stored and removed`);
        await unlink(path);
      }
    }
  }

  private receive(slot: string): Promise<void> {
    // stop() kills only a receiver that already runs: one asked for while the
    // slot or the spool was being prepared must not start one (it would run,
    // and stop() wait for it, until a second signal).
    if (this.stopped) return Promise.resolve();
    const { args, env } = receiverArgs(this.opts.databaseUrl, this.opts.spoolDir, slot);
    const tool = pgTool('pg_receivewal');
    // A killed agent must not leave a receiver holding the slot.
    const [cmd, argv] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', tool, ...args]] : [tool, args];
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, argv, { env, cwd: this.opts.spoolDir, stdio: ['ignore', 'ignore', 'pipe'] });
      this.child = child;
      this.runs++;
      let stderr = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (s: string) => (stderr = (stderr + s).slice(-8192)));
      child.on('error', (e) => reject(new Error(`could not start ${tool}: ${e.message}`)));
      child.on('close', (code, signal) => {
        this.child = undefined;
        if (this.stopped) return resolve();
        const why = stderr.trim().split('\n').slice(-2).join('; ') || (signal ? `killed by ${signal}` : `exit code ${code}`);
        reject(new Error(`pg_receivewal ended: ${why}`));
      });
    });
  }

  /** One move at a time; `final` also stores the `.partial` whatever its age. */
  move(final: boolean): Promise<void> {
    this.moving = this.moving.then(() => this.moveOnce(final)).catch((e) => this.opts.log('warn', `WAL spool: ${errorText(e)}`));
    return this.moving;
  }

  private async moveOnce(final: boolean): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.opts.spoolDir)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const name of names.filter((n) => COMPLETE_RE.test(n))) {
      const path = join(this.opts.spoolDir, name);
      const times = originalCommitTimes(name, path).catch((e: unknown) => e as Error);
      // Like archive_command: the segment leaves the spool only once every repository holds it.
      const offsite = await sharedWalOffsite();
      const result = await walPush({ repo: this.opts.repo, walPath: path, systemIdentifier: this.opts.systemIdentifier, offsite });
      const t = await times;
      // Without its commit times the row would hide the segment from time targets for good: the scan registers it instead.
      if (t instanceof Error) this.opts.log('warn', `streamed ${name} is stored; its commit times could not be read (${errorText(t)}): the scan registers it`);
      else await this.register(result, t);
      this.opts.log('info', `streamed ${name} stored${result.alreadyPresent ? ' (identical to the archived copy)' : ''}`);
      await this.dropStoredPartials(name);
      await unlink(path);
    }
    const partial = names.find((n) => PARTIAL_RE.test(n));
    if (partial && (final || Date.now() - this.lastPartialAt >= this.opts.partialEveryMs) && (await this.holdsWal(partial))) {
      await this.storePartial(partial);
    }
  }

  /** A full-size `.partial` whose first page has been written (not still the receiver's zero fill). */
  private async holdsWal(name: string): Promise<boolean> {
    const fh = await open(join(this.opts.spoolDir, name), 'r');
    try {
      if ((await fh.stat()).size !== this.opts.segSize) return false;
      const head = Buffer.alloc(4);
      await fh.read(head, 0, 4, 0);
      return head.readUInt32LE(0) !== 0;
    } finally {
      await fh.close();
    }
  }

  private async register(result: WalPushResult, times: { first: string | null; last: string | null }): Promise<void> {
    try {
      await this.opts.sql.registerWal(this.opts.systemIdentifier, [pushedRegistration(result, this.opts.segSize, times)]);
    } catch (e) {
      // The periodic scan registers it; the file is stored either way.
      this.opts.log('warn', `streamed ${result.fileName} is stored but not registered yet: ${errorText(e)}`);
    }
  }

  /**
   * A copy first (the receiver keeps writing the original; a torn copy is a
   * prefix followed by an invalid record, where replay stops), then the
   * stored versions of this `.partial` step aside, the copy is stored like
   * any file, and the old versions go.
   */
  private async storePartial(name: string): Promise<void> {
    this.lastPartialAt = Date.now();
    const snapDir = join(this.opts.spoolDir, SNAPSHOT_DIR);
    await mkdir(snapDir, { recursive: true, mode: 0o700 });
    const snap = join(snapDir, name);
    await copyFile(join(this.opts.spoolDir, name), snap);
    try {
      const { sha256 } = await sha256File(snap);
      if (sha256 === this.lastPartialSha) return;
      const dir = walDirFor(this.opts.repo, this.opts.systemIdentifier, name);
      const old = (await storedVersions(dir, name)).filter((v) => v.sha256 !== sha256);
      for (const v of old) await rename(v.storedPath, v.storedPath + SUPERSEDED);
      const stored = await walPush({ repo: this.opts.repo, walPath: snap, systemIdentifier: this.opts.systemIdentifier });
      for (const v of old) await rm(v.storedPath + SUPERSEDED, { force: true });
      // Off-host: the new snapshot first, then the old ones go (wal-fetch takes the newest of several).
      const offsite = await sharedWalOffsite();
      if (offsite) {
        await pushWalOffsite(offsite, stored);
        await dropOffsiteVersions(offsite, this.opts.systemIdentifier, name, sha256);
      }
      this.lastPartialSha = sha256;
    } finally {
      await rm(snap, { force: true });
    }
  }

  /** The complete segment replaces its `.partial` in the repository. */
  private async dropStoredPartials(segment: string): Promise<void> {
    if (segment.length !== 24) return;
    const name = `${segment}.partial`;
    for (const v of await storedVersions(walDirFor(this.opts.repo, this.opts.systemIdentifier, name), name)) await rm(v.storedPath, { force: true });
    const offsite = await sharedWalOffsite();
    if (offsite) await dropOffsiteVersions(offsite, this.opts.systemIdentifier, name);
  }
}
