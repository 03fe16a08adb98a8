// `backup-mgmt setup [--repo R] [--apply]`: the server settings WAL archiving
// and pg_basebackup need. Prints them; with --apply sets them with ALTER
// SYSTEM, reloads, and says whether a restart is still needed.
import { Command, Option } from 'commander';
import type pg from 'pg';
import { archiveCommand, restoreCommand } from '../../util/wal-commands.js';
import { resolveDatabaseUrl } from '../config.js';
import { CliError } from '../errors.js';
import { databaseUrlOption, jsonOption } from '../options.js';
import { printJson, printTable } from '../output.js';
import { repoOption, resolveRepo } from '../repo-option.js';

interface Flags {
  repo?: string;
  apply?: boolean;
  databaseUrl?: string;
  json?: boolean;
}

interface Wanted {
  name: string;
  value: string;
  /** Whether the current value already satisfies the need (e.g. logical ⊇ replica). */
  satisfied: (current: string) => boolean;
}

export interface SettingState {
  name: string;
  current: string | null;
  wanted: string;
  change: boolean;
  pending_restart?: boolean;
}

export { archiveCommand, restoreCommand, shellQuote } from '../../util/wal-commands.js';

/** What the catalog says about streaming, and where wal-push registers (read once, before the settings). */
interface CatalogFacts {
  catalogUrl?: string;
  synchronous: boolean;
}

const STREAM_APP = 'backup_mgmt_stream';

function wantedSettings(repo: string, facts: CatalogFacts): Wanted[] {
  const archive = archiveCommand(repo, facts.catalogUrl);
  const sync: Wanted[] = facts.synchronous
    ? [{ name: 'synchronous_standby_names', value: STREAM_APP, satisfied: (c) => c.split(/[\s,()]+/).some((n) => n.replace(/"/g, '') === STREAM_APP) }]
    : [];
  return [
    ...sync,
    { name: 'wal_level', value: 'replica', satisfied: (c) => c === 'replica' || c === 'logical' },
    { name: 'archive_mode', value: 'on', satisfied: (c) => c === 'on' || c === 'always' },
    { name: 'archive_command', value: archive, satisfied: (c) => c === archive },
    // pg_basebackup needs one WAL sender; leave room for replicas.
    { name: 'max_wal_senders', value: '10', satisfied: (c) => Number(c) >= 2 },
  ];
}

function hbaLine(user: string): string {
  return `host  replication  ${user}  <agent host>/32  scram-sha-256`;
}

async function currentSettings(client: pg.Client, names: string[]): Promise<Map<string, { setting: string; pending: boolean }>> {
  const r = await client.query<{ name: string; setting: string; pending_restart: boolean }>(
    'SELECT name, setting, pending_restart FROM pg_catalog.pg_settings WHERE name = ANY($1)',
    [names],
  );
  return new Map(r.rows.map((row) => [row.name, { setting: row.setting, pending: row.pending_restart }]));
}

/** After pg_reload_conf() the new values arrive asynchronously; wait until each is in or pending. */
async function settle(client: pg.Client, wanted: Wanted[]): Promise<Map<string, { setting: string; pending: boolean }>> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const now = await currentSettings(client, wanted.map((w) => w.name));
    const done = wanted.every((w) => {
      const s = now.get(w.name);
      return s !== undefined && (w.satisfied(s.setting) || s.pending);
    });
    if (done || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * wal-push registers archived files through the server's Unix socket as this
 * role, without a password (archive_command is visible in pg_settings): peer
 * or trust authentication, or the server OS user's .pgpass.
 */
async function catalogFacts(databaseUrl: string | undefined): Promise<CatalogFacts> {
  if (!databaseUrl) return { synchronous: false };
  const client = await connect(databaseUrl);
  try {
    const r = await client.query<{ u: string; db: string; port: string; sock: string; sync: string | null }>(
      `SELECT current_user AS u, current_database() AS db, current_setting('port') AS port,
              btrim(split_part(current_setting('unix_socket_directories'), ',', 1)) AS sock,
              backup_mgmt.setting('wal.streaming_synchronous') AS sync`,
    );
    const f = r.rows[0]!;
    // No percent-encoding: archive_command gives % a meaning of its own.
    const simple = /^[A-Za-z0-9_./-]+$/;
    if (!simple.test(f.u) || !simple.test(f.db) || (f.sock !== '' && !simple.test(f.sock))) return { synchronous: f.sync === 'on' };
    const catalogUrl = f.sock !== '' ? `postgresql://${f.u}@/${f.db}?host=${f.sock}&port=${f.port}` : `postgresql://${f.u}@127.0.0.1:${f.port}/${f.db}`;
    return { catalogUrl, synchronous: f.sync === 'on' };
  } catch {
    // The pack is not installed yet: no registration, no synchronous mode.
    return { synchronous: false };
  } finally {
    await client.end();
  }
}

async function connect(databaseUrl: string): Promise<pg.Client> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({ connectionString: databaseUrl, application_name: 'backup-mgmt setup' });
  await client.connect();
  return client;
}

async function apply(databaseUrl: string, wanted: Wanted[]): Promise<{ states: SettingState[]; user: string }> {
  const client = await connect(databaseUrl);
  try {
    const user = (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
    const before = await currentSettings(client, wanted.map((w) => w.name));
    const changed = new Set<string>();
    for (const w of wanted) {
      const cur = before.get(w.name)?.setting;
      if (cur !== undefined && w.satisfied(cur)) continue;
      // ALTER SYSTEM takes no bind parameters: quote the value as a literal.
      const lit = (await client.query<{ q: string }>('SELECT quote_literal($1) AS q', [w.value])).rows[0]!.q;
      try {
        await client.query(`ALTER SYSTEM SET ${w.name} = ${lit}`);
      } catch (e) {
        throw new CliError(`ALTER SYSTEM SET ${w.name} failed (superuser needed): ${(e as Error).message}`);
      }
      changed.add(w.name);
    }
    await client.query('SELECT pg_catalog.pg_reload_conf()');
    const after = await settle(client, wanted);
    const states = wanted.map((w) => {
      const s = after.get(w.name);
      return {
        name: w.name,
        current: s?.setting ?? null,
        wanted: w.value,
        change: changed.has(w.name),
        pending_restart: s?.pending ?? false,
      };
    });
    return { states, user };
  } finally {
    await client.end();
  }
}

async function inspect(databaseUrl: string | undefined, wanted: Wanted[]): Promise<{ states: SettingState[]; user: string }> {
  if (!databaseUrl) {
    return { states: wanted.map((w) => ({ name: w.name, current: null, wanted: w.value, change: true })), user: '<agent role>' };
  }
  const client = await connect(databaseUrl);
  try {
    const user = (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
    const now = await currentSettings(client, wanted.map((w) => w.name));
    const states = wanted.map((w) => {
      const cur = now.get(w.name)?.setting ?? null;
      return { name: w.name, current: cur, wanted: w.value, change: cur === null || !w.satisfied(cur) };
    });
    return { states, user };
  } finally {
    await client.end();
  }
}

function streamingAdvice(synchronous: boolean): string {
  return [
    '',
    "WAL streaming (SELECT backup_mgmt.set_setting('wal.streaming', 'on')): the agent runs pg_receivewal through slot",
    `${STREAM_APP}; RPO about a second instead of a segment or archive_timeout. A slot whose receiver is down keeps WAL`,
    "on the server: cap it, e.g. max_slot_wal_keep_size = '16GB' (past it the slot is invalidated and archiving covers the gap);",
    'health_check() warns at health.stream_slot_warning_size / _critical_size.',
    synchronous
      ? `synchronous (wal.streaming_synchronous = on): synchronous_standby_names = '${STREAM_APP}' is in the list above.`
      : `synchronous mode (wal.streaming_synchronous = on, then setup again): synchronous_standby_names = '${STREAM_APP}'.`,
    'It costs every commit a round trip to the receiver and its fsync (see README, Performance), and while the',
    'receiver is down commits wait; RPO 0.',
    '',
  ].join('\n');
}

export function setupCommand(): Command {
  return new Command('setup')
    .description('show (or --apply) the server settings for WAL archiving and base backups')
    .addOption(repoOption())
    .addOption(new Option('--apply', 'set them with ALTER SYSTEM and reload (superuser)'))
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (flags: Flags) => {
      const repo = resolveRepo(flags.repo);
      const databaseUrl = flags.apply ? resolveDatabaseUrl(flags.databaseUrl) : flags.databaseUrl ?? process.env.DATABASE_URL;
      const facts = await catalogFacts(databaseUrl);
      const wanted = wantedSettings(repo, facts);
      const { states, user } = flags.apply ? await apply(databaseUrl!, wanted) : await inspect(databaseUrl, wanted);
      const restartRequired = states.some((s) => s.pending_restart === true);
      const report = {
        repository: repo,
        settings: states,
        pg_hba: hbaLine(user),
        restore_command: restoreCommand(repo),
        applied: !!flags.apply,
        restart_required: flags.apply ? restartRequired : null,
      };
      if (flags.json) return printJson(report);

      printTable(
        states.map((s) => ({ setting: s.name, current: s.current ?? '?', wanted: s.wanted, action: s.change ? (flags.apply ? 'set' : 'change') : 'ok' })),
      );
      const out = process.stdout;
      out.write(`\npg_hba.conf needs a replication line for the agent's role, e.g.:\n  ${report.pg_hba}\n`);
      out.write(`the repository ${repo} must be writable by the server's OS user (archive_command runs as it)\n`);
      out.write(`for restores: restore_command = '${report.restore_command}'\n`);
      out.write(streamingAdvice(facts.synchronous));
      if (flags.apply) {
        out.write(restartRequired ? 'restart required: some settings take effect only after a server restart\n' : 'no restart needed: the settings are active\n');
      } else if (states.some((s) => s.change)) {
        out.write('run again with --apply to set them (ALTER SYSTEM), or edit postgresql.conf\n');
      }
    });
}
