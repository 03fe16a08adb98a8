// `backup-mgmt setup [--repo R] [--restore-root D] [--apply] [--systemd [FILE]]`:
// what the server, the file system and the host need before the first backup.
// Prints it; with --apply it creates the repository and the restore root for
// the server's OS user, sets the server settings with ALTER SYSTEM, reloads,
// names each setting that waits for a restart, registers missing pg_cron
// jobs, and with --systemd writes the agent's unit. Run as root it does the
// file-system part as root and then talks to the server as the server's OS
// user (peer authentication on Debian's socket).
import { Command, Option } from 'commander';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type pg from 'pg';
import { isRoot } from '../../util/process.js';
import { archiveCommand, restoreCommand } from '../../util/wal-commands.js';
import { resolveDatabaseUrl } from '../config.js';
import { CliError } from '../errors.js';
import { unreadableInstall } from '../install-check.js';
import { databaseUrlOption, jsonOption } from '../options.js';
import { printJson, printTable } from '../output.js';
import { repoOption, resolveRepo } from '../repo-option.js';
import { systemdUnit, type UnitOptions } from '../systemd-unit.js';

interface Flags {
  repo?: string;
  restoreRoot?: string;
  apply?: boolean;
  databaseUrl?: string;
  json?: boolean;
  osUser: string;
  archiveTimeout: string;
  systemd?: string | boolean;
}

interface Wanted {
  name: string;
  value: string;
  /** Whether the current value already satisfies the need (e.g. logical ⊇ replica). */
  satisfied: (current: string) => boolean;
  why: string;
}

export interface SettingState {
  name: string;
  current: string | null;
  wanted: string;
  change: boolean;
  /** Takes effect only at server start (pg_settings.context = postmaster). */
  needs_restart: boolean;
  pending_restart?: boolean;
  why: string;
}

export { archiveCommand, restoreCommand, shellQuote } from '../../util/wal-commands.js';

const DEFAULT_UNIT = '/etc/systemd/system/backup-mgmt-agent.service';

/** What the catalog says about streaming, and where wal-push registers (read once, before the settings). */
interface CatalogFacts {
  catalogUrl?: string;
  synchronous: boolean;
}

const STREAM_APP = 'backup_mgmt_stream';

function wantedSettings(repo: string, archiveTimeout: number, facts: CatalogFacts): Wanted[] {
  const archive = archiveCommand(repo, facts.catalogUrl);
  const sync: Wanted[] = facts.synchronous
    ? [
        {
          name: 'synchronous_standby_names',
          value: STREAM_APP,
          satisfied: (c) => c.split(/[\s,()]+/).some((n) => n.replace(/"/g, '') === STREAM_APP),
          why: 'commits wait until the agent\'s WAL receiver has flushed them (wal.streaming_synchronous)',
        },
      ]
    : [];
  return [
    ...sync,
    { name: 'wal_level', value: 'replica', satisfied: (c) => c === 'replica' || c === 'logical', why: 'WAL for base backups and recovery' },
    { name: 'archive_mode', value: 'on', satisfied: (c) => c === 'on' || c === 'always', why: 'every WAL segment goes to the repository' },
    { name: 'archive_command', value: archive, satisfied: (c) => c === archive, why: 'runs wal-push as the server\'s OS user' },
    // A quiet server fills a segment slowly; without a timeout "a minute ago"
    // may sit in an unarchived segment for hours.
    {
      name: 'archive_timeout',
      value: String(archiveTimeout),
      satisfied: (c) => Number(c) > 0 && Number(c) <= archiveTimeout,
      why: `a quiet server still archives at least every ${archiveTimeout} s, so a point-in-time recovery reaches that close to now`,
    },
    // pg_basebackup needs one WAL sender; leave room for replicas.
    { name: 'max_wal_senders', value: '10', satisfied: (c) => Number(c) >= 2, why: 'pg_basebackup streams through a WAL sender' },
  ];
}

interface ServerFacts {
  user: string;
  settings: Map<string, { setting: string; pending: boolean; context: string }>;
  clusterName: string | null;
  versionMajor: number;
  viaSocket: boolean;
  cron: { available: boolean; preloaded: boolean; installedHere: boolean; databaseName: string | null; database: string };
}

async function currentSettings(client: pg.Client, names: string[]): Promise<ServerFacts['settings']> {
  const r = await client.query<{ name: string; setting: string; pending_restart: boolean; context: string }>(
    'SELECT name, setting, pending_restart, context FROM pg_catalog.pg_settings WHERE name = ANY($1)',
    [names],
  );
  return new Map(r.rows.map((row) => [row.name, { setting: row.setting, pending: row.pending_restart, context: row.context }]));
}

async function serverFacts(client: pg.Client, names: string[], databaseUrl: string): Promise<ServerFacts> {
  const q = async <T extends pg.QueryResultRow>(text: string) => (await client.query<T>(text)).rows[0]!;
  const base = await q<{ u: string; db: string; cluster: string; major: number; preload: string; available: boolean; here: boolean }>(
    `SELECT current_user AS u, current_database() AS db, current_setting('cluster_name') AS cluster,
            current_setting('server_version_num')::integer / 10000 AS major,
            current_setting('shared_preload_libraries') AS preload,
            EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pg_cron') AS available,
            EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') AS here`,
  );
  const preloaded = base.preload.split(',').some((l) => l.trim().replace(/^"|"$/g, '') === 'pg_cron');
  const cronDb = preloaded ? (await q<{ d: string | null }>(`SELECT current_setting('cron.database_name', true) AS d`)).d : null;
  const { parseConnectionString } = await import('../../agent/conninfo.js');
  const host = parseConnectionString(databaseUrl).host ?? process.env.PGHOST ?? '';
  return {
    user: base.u,
    settings: await currentSettings(client, names),
    clusterName: base.cluster || null,
    versionMajor: base.major,
    viaSocket: host === '' || host.startsWith('/'),
    cron: { available: base.available, preloaded, installedHere: base.here, databaseName: cronDb, database: base.db },
  };
}

/** After pg_reload_conf() the new values arrive asynchronously; wait until each is in or pending. */
async function settle(client: pg.Client, wanted: Wanted[]): Promise<ServerFacts['settings']> {
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
async function catalogFacts(client: pg.Client): Promise<CatalogFacts> {
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

async function connect(databaseUrl: string): Promise<pg.Client> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({ connectionString: databaseUrl, application_name: 'backup-mgmt setup' });
  await client.connect();
  return client;
}

/** ALTER SYSTEM for what is not satisfied, reload; the names changed. */
async function applySettings(client: pg.Client, wanted: Wanted[], before: ServerFacts['settings']): Promise<Set<string>> {
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
  return changed;
}

/** pg_cron jobs for schedules made before pg_cron was there (see register_cron_jobs). */
async function registerCronJobs(client: pg.Client): Promise<string[] | null> {
  try {
    const r = await client.query<{ cron_job_name: string }>('SELECT cron_job_name FROM backup_mgmt.register_cron_jobs()');
    return r.rows.map((x) => x.cron_job_name);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === '3F000' || code === '42883') return null; // the pack is not installed (yet)
    throw e;
  }
}

function restartCommand(facts: ServerFacts): string {
  // Debian's clusters are named "<major>/<name>" and run as postgresql@<major>-<name>.
  const m = /^(\d+)\/([A-Za-z0-9_.-]+)$/.exec(facts.clusterName ?? '');
  return m ? `pg_ctlcluster ${m[1]} ${m[2]} restart (or systemctl restart postgresql@${m[1]}-${m[2]})` : 'restart the server (systemctl restart postgresql)';
}

function cronAdvice(facts: ServerFacts): string[] {
  const c = facts.cron;
  if (c.installedHere) return [`pg_cron: installed in ${c.database}; schedules run from pg_cron jobs backup_mgmt:<name>`];
  const lines = ['pg_cron: not in this database, so the agent runs due schedules itself (run_due_schedules) while it is up.'];
  if (!c.available) {
    lines.push(`  to let the server run them: apt-get install postgresql-${facts.versionMajor}-cron, then as below`);
  }
  if (!c.preloaded) {
    lines.push(`  ALTER SYSTEM SET shared_preload_libraries = 'pg_cron'; ALTER SYSTEM SET cron.database_name = '${c.database}'; then ${restartCommand(facts)}`);
  } else if (c.databaseName && c.databaseName !== c.database) {
    lines.push(`  pg_cron lives in database ${c.databaseName}: ALTER SYSTEM SET cron.database_name = '${c.database}' and restart, or keep agent-driven schedules`);
  }
  lines.push(`  then in ${c.database}: CREATE EXTENSION pg_cron; and run backup-mgmt migrate up (it registers a job for each existing schedule)`);
  return lines;
}

interface DirState {
  path: string;
  owner: string;
  created: boolean;
}

function osIds(user: string): { uid: number; gid: number } {
  const u = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (u.status !== 0 || g.status !== 0) throw new CliError(`--os-user: there is no OS user ${user}`, 2);
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Repository and restore root: created, owned by the server's OS user, not readable by others (0750). */
function prepareDirectories(dirs: string[], user: string): DirState[] {
  const out: DirState[] = [];
  for (const path of dirs) {
    const created = !existsSync(path);
    try {
      // Parents the server's OS user must be able to pass through (0755), then the directory itself.
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      mkdirSync(path, { recursive: true, mode: 0o750 });
      if (isRoot()) {
        const { uid, gid } = osIds(user);
        chownSync(path, uid, gid);
        chmodSync(path, 0o750);
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EACCES' || err.code === 'EPERM') {
        throw new CliError(`cannot create ${path} for ${user} (${err.code}): run setup as root, which creates it and gives it to ${user}`, 2);
      }
      throw e;
    }
    out.push({ path, owner: user, created });
  }
  return out;
}

/** As root, after the file-system part: talk to the server as its OS user (peer authentication). */
function becomeOsUser(user: string): void {
  const { uid, gid } = osIds(user);
  (process as NodeJS.Process & { initgroups?: (user: string, gid: number) => void }).initgroups?.(user, gid);
  process.setgid?.(gid);
  process.setuid?.(uid);
}

export function setupCommand(): Command {
  return new Command('setup')
    .description("prepare the server, the repository and the agent's service (prints; --apply does it)")
    .addOption(repoOption())
    .addOption(new Option('--restore-root <dir>', 'where restores go (default: $BACKUP_MGMT_RESTORE_ROOT or <repo>/../restores)'))
    .addOption(new Option('--apply', 'create the directories, set the settings (ALTER SYSTEM, reload), register pg_cron jobs; as root'))
    .addOption(new Option('--os-user <name>', "the server's OS user: owns the directories, runs archive_command and the agent").default('postgres'))
    .addOption(new Option('--archive-timeout <seconds>', 'archive at least this often on a quiet server').default('60'))
    .addOption(new Option('--systemd [file]', `write the agent's systemd unit (default ${DEFAULT_UNIT}) and print it`))
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Run it as root: the directories are created for --os-user, the unit is written,
then the server is reached as --os-user (on Debian: peer authentication on the
socket, --database-url 'postgresql://postgres@/DB?host=/var/run/postgresql').
Exit codes: 0 done (or nothing to do), 1 refused by the server, 2 usage or setup problem.`,
    )
    .action(async (flags: Flags) => {
      const repo = resolveRepo(flags.repo);
      const restoreRoot = resolve(flags.restoreRoot ?? process.env.BACKUP_MGMT_RESTORE_ROOT ?? resolve(dirname(repo), 'restores'));
      if (!/^[0-9]+$/.test(flags.archiveTimeout) || Number(flags.archiveTimeout) < 1 || Number(flags.archiveTimeout) > 3600) {
        throw new CliError('--archive-timeout: whole seconds between 1 and 3600', 2);
      }
      const databaseUrl = resolveDatabaseUrl(flags.databaseUrl);
      const unreadable = unreadableInstall(flags.osUser);
      // archive_command must never point at something the server cannot run.
      if (unreadable && flags.apply) throw new CliError(unreadable, 2);

      let dirs: DirState[] | null = null;
      let unit: { path: string; text: string } | null = null;
      if (flags.apply) dirs = prepareDirectories([repo, restoreRoot], flags.osUser);
      if (flags.systemd !== undefined) {
        const unitOptions: UnitOptions = { osUser: flags.osUser, databaseUrl, repo, restoreRoot };
        unit = { path: typeof flags.systemd === 'string' ? resolve(flags.systemd) : DEFAULT_UNIT, text: systemdUnit(unitOptions) };
        if (flags.apply) writeFileSync(unit.path, unit.text, { mode: 0o644 });
      }
      if (isRoot() && flags.osUser !== 'root') becomeOsUser(flags.osUser);

      const client = await connect(databaseUrl);
      let wanted: Wanted[] = [];
      let streaming: CatalogFacts = { synchronous: false };
      let facts: ServerFacts;
      let changed = new Set<string>();
      let cronJobs: string[] | null = null;
      try {
        streaming = await catalogFacts(client);
        wanted = wantedSettings(repo, Number(flags.archiveTimeout), streaming);
        facts = await serverFacts(client, wanted.map((w) => w.name), databaseUrl);
        if (flags.apply) {
          changed = await applySettings(client, wanted, facts.settings);
          facts.settings = await settle(client, wanted);
          cronJobs = await registerCronJobs(client);
        }
      } finally {
        await client.end();
      }
      const states: SettingState[] = wanted.map((w) => {
        const s = facts.settings.get(w.name);
        return {
          name: w.name,
          current: s?.setting ?? null,
          wanted: w.value,
          change: flags.apply ? changed.has(w.name) : s === undefined || !w.satisfied(s.setting),
          needs_restart: s?.context === 'postmaster',
          pending_restart: s?.pending ?? false,
          why: w.why,
        };
      });
      const waitingForRestart = states.filter((s) => s.pending_restart).map((s) => s.name);
      const report = {
        repository: repo,
        restore_root: restoreRoot,
        os_user: flags.osUser,
        install_readable: unreadable === undefined,
        install_problem: unreadable ?? null,
        settings: states,
        restart_required: flags.apply ? waitingForRestart.length > 0 : null,
        restart_settings: waitingForRestart,
        restart_command: restartCommand(facts),
        pg_hba: facts.viaSocket ? null : `host  replication  ${facts.user}  <agent host>/32  scram-sha-256`,
        restore_command: restoreCommand(repo),
        archive_registers_in_catalog: streaming.catalogUrl !== undefined,
        pg_cron: { ...facts.cron, advice: cronAdvice(facts), registered_jobs: cronJobs },
        directories: dirs,
        systemd_unit: unit ? { path: unit.path, written: !!flags.apply, text: unit.text } : null,
        applied: !!flags.apply,
      };
      if (flags.json) return printJson(report);

      const out = process.stdout;
      printTable(
        states.map((s) => ({
          setting: s.name,
          current: s.current ?? '?',
          wanted: s.wanted,
          action: s.change ? (flags.apply ? 'set' : 'change') : 'ok',
          restart: s.needs_restart ? (s.pending_restart ? 'PENDING' : 'needed to change') : 'no',
        })),
      );
      if (unreadable) out.write(`\nPROBLEM: ${unreadable}\n`);
      if (dirs) for (const d of dirs) out.write(`${d.created ? 'created' : 'kept'} ${d.path} (owner ${d.owner}, mode 0750)\n`);
      else out.write(`\n${repo} and ${restoreRoot} must exist and belong to ${flags.osUser} (--apply creates them)\n`);
      if (flags.apply) {
        out.write(
          waitingForRestart.length
            ? `restart required for ${waitingForRestart.join(', ')} (take effect only at server start): ${restartCommand(facts)}\n`
            : 'no restart needed: the settings are active\n',
        );
      } else if (states.some((s) => s.change)) {
        const restart = states.filter((s) => s.change && s.needs_restart).map((s) => s.name);
        out.write(`run again with --apply to set them (ALTER SYSTEM)${restart.length ? `; ${restart.join(', ')} then need a restart` : ''}\n`);
      }
      for (const s of states.filter((x) => x.name === 'archive_timeout')) out.write(`archive_timeout ${s.wanted}: ${s.why}\n`);
      if (report.pg_hba) out.write(`pg_hba.conf needs a replication line for the agent's role, e.g.:\n  ${report.pg_hba}\n`);
      for (const line of report.pg_cron.advice) out.write(`${line}\n`);
      out.write(streamingAdvice(streaming.synchronous));
      if (cronJobs?.length) out.write(`registered pg_cron jobs: ${cronJobs.join(', ')}\n`);
      if (unit) {
        out.write(`${flags.apply ? 'wrote' : 'would write (with --apply)'} ${unit.path}:\n${unit.text.replace(/^/gm, '  ')}\n`);
        if (flags.apply) out.write(`then: systemctl daemon-reload && systemctl enable --now ${unit.path.split('/').pop()}\n`);
      }
    });
}
