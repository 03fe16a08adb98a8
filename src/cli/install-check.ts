// Whether the server's OS user can run this installation: archive_command,
// restore_command and the agent all start `node <package>/dist/cli/main.js`
// as that user. A checkout under /root or a `mktemp -d` folder (mode 0700)
// fails there with `Cannot find module` (EACCES reported as MODULE_NOT_FOUND),
// in the server log, long after setup said all was well.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { cliEntry, packageRoot } from '../util/paths.js';
import { isRoot } from '../util/process.js';

export const INSTALL_HINT = 'npm pack, then npm install -g --prefix /opt/backup-mgmt ./backup-mgmt-<version>.tgz (see README "Install on your cluster")';

/** The first directory on the way to `path` that `user` may not enter, or the file itself when it may not read it. */
function blockingPath(user: string, path: string): string | undefined {
  const probe = (p: string, test: string) => spawnSync('runuser', ['-u', user, '--', 'test', test, p], { stdio: 'ignore' }).status === 0;
  const parts: string[] = [];
  for (let d = dirname(path); d !== dirname(d); d = dirname(d)) parts.unshift(d);
  for (const d of parts) if (!probe(d, '-x')) return d;
  return probe(path, '-r') ? undefined : path;
}

/**
 * One line saying what to do when `user` cannot read node or the CLI of this
 * installation; undefined when it can (or when this process cannot find out:
 * neither root nor that user).
 */
export function unreadableInstall(user: string): string | undefined {
  const files = [process.execPath, cliEntry()];
  let blocked: string | undefined;
  if (isRoot()) {
    if (spawnSync('id', ['-u', user], { stdio: 'ignore' }).status !== 0) return `there is no OS user ${user}: name the server's OS user with --os-user`;
    for (const f of files) if ((blocked = blockingPath(user, f))) break;
  } else if (userInfo().username === user) {
    for (const f of files) {
      try {
        accessSync(f, constants.R_OK);
      } catch {
        blocked = f;
        break;
      }
    }
  } else {
    return undefined;
  }
  if (!blocked) return undefined;
  const mode = (() => {
    try {
      return (statSync(blocked).mode & 0o777).toString(8).padStart(4, '0');
    } catch {
      return '?';
    }
  })();
  return `the server's OS user ${user} cannot read ${blocked} (mode ${mode}), but archive_command, restore_command and the agent run this package as ${user}: install it where ${user} can read it (${INSTALL_HINT}), or chmod o+rx ${blocked}; package: ${packageRoot()}`;
}
