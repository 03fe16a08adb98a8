// The agent's systemd unit, as `setup --systemd` writes it.
import { configFileInUse } from '../util/config-file.js';
import { cliEntry } from '../util/paths.js';
import { CliError } from './errors.js';

export interface UnitOptions {
  osUser: string;
  databaseUrl: string;
  repo: string;
  restoreRoot: string;
}

/** A word of a unit file: % is a specifier and quotes/backslashes are special in systemd's syntax. */
function unitWord(s: string, what: string): string {
  if (/[\n\r\0]/.test(s)) throw new CliError(`${what}: a line break or NUL cannot go into a systemd unit`, 2);
  const escaped = s.replace(/%/g, '%%');
  return /^[A-Za-z0-9_./:=@+,-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function systemdUnit(o: UnitOptions): string {
  if (!/^[a-z_][a-z0-9_-]*$/.test(o.osUser)) throw new CliError(`--os-user: not a user name: ${JSON.stringify(o.osUser)}`, 2);
  // A 0644 unit file is readable by every user of the host.
  if (/^postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(o.databaseUrl) || /(^|\s)password\s*=/.test(o.databaseUrl)) {
    throw new CliError(`--systemd: the database URL holds a password; put it in ~${o.osUser}/.pgpass (mode 0600) instead, or use peer authentication on the socket`, 2);
  }
  // The config file setup ran with (the off-host repository, its credentials) is the agent's too.
  const config = configFileInUse();
  const exec = [process.execPath, cliEntry(), 'agent', '--repo', o.repo, '--restore-root', o.restoreRoot, ...(config ? ['--config', config] : [])];
  return `# Written by backup-mgmt setup --systemd.
[Unit]
Description=backup-mgmt agent: runs the backups, verifications and restores queued in the catalog
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
Type=simple
User=${o.osUser}
Group=${o.osUser}
WorkingDirectory=/
UMask=0027
Environment=${unitWord(`DATABASE_URL=${o.databaseUrl}`, '--database-url')}
ExecStart=${exec.map((a) => unitWord(a, 'a path')).join(' ')}
# The stop request goes to the agent alone (not to pg_basebackup or a
# restored server it runs): it finishes or hands back its job, records
# stopped_at and exits 0. What is left after TimeoutStopSec is killed.
KillMode=mixed
KillSignal=SIGTERM
TimeoutStopSec=120
Restart=on-failure
RestartSec=10

[Install]
WantedBy=multi-user.target
`;
}
