// Where a restore may write (PROTOCOL.md "RESTORE job" step 1). SQL checked
// the names; only the agent sees the file system: symlinks, a directory that
// already has content, a running cluster's files. A marker file tells this
// restore's own leftovers (an earlier attempt that died) from anyone else's.
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { resolveInsideRoot } from '../storage/layout.js';
import { JobFailure } from './job-context.js';

/** Lives inside the restored data directory; pg_verifybackup is told to ignore it. */
export const RESTORE_MARKER = 'backup_mgmt_restore.json';

export interface RestoreMarker {
  recovery_bk: string;
  recovery_hk: string;
  job_id: number;
  agent_id: string;
  created_at: string;
}

export interface PrepareDirectoryOptions {
  dir: string;
  /** The agent's restore root and setting restore.root; the first is created if missing. */
  roots: string[];
  /** The running cluster's data directory (null when the agent may not see it) and tablespaces. */
  server: { dataDirectory: string | null; tablespaces: string[] };
  marker: RestoreMarker;
  /** Stops a server an earlier attempt of this restore may have left running there. */
  stopLeftover: (dir: string) => Promise<void>;
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** realpath of `p`, or of its longest existing prefix with the rest appended. */
async function realpathLoose(p: string): Promise<string> {
  let cur = p;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(await realpath(cur), ...rest.reverse());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(cur) === cur) throw e;
      rest.push(cur.slice(dirname(cur).length + 1));
      cur = dirname(cur);
    }
  }
}

async function insideARoot(dir: string, roots: string[]): Promise<boolean> {
  for (const root of roots) {
    if (!existsSync(root)) continue;
    try {
      const abs = await resolveInsideRoot(root, dir);
      if ((await realpathLoose(abs)) !== (await realpath(root))) return true;
    } catch {
      // Not under this root (lexically or through a symlink); try the next.
    }
  }
  return false;
}

/** Refuses a directory that is, contains or lies inside the running cluster's files. */
async function checkOverlap(dir: string, server: PrepareDirectoryOptions['server']): Promise<void> {
  const target = await realpathLoose(dir);
  const protectedDirs = [
    ...(server.dataDirectory ? [{ what: 'the data directory', path: server.dataDirectory }] : []),
    ...server.tablespaces.map((t) => ({ what: `tablespace ${t}`, path: t })),
  ];
  for (const p of protectedDirs) {
    const real = await realpathLoose(p.path);
    if (isInside(real, target) || isInside(target, real)) {
      throw new JobFailure(`restore directory ${dir} overlaps ${p.what} of the running cluster (${real}): refusing to restore there`);
    }
  }
  // Whatever the catalog may see: a directory with PG_VERSION above us is some cluster's data directory.
  for (let d = dirname(target); ; d = dirname(d)) {
    if (existsSync(join(d, 'PG_VERSION'))) {
      throw new JobFailure(`restore directory ${dir} lies inside the PostgreSQL data directory ${d}: refusing to restore there`);
    }
    if (dirname(d) === d) break;
  }
}

async function readMarker(dir: string): Promise<RestoreMarker | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, RESTORE_MARKER), 'utf8')) as RestoreMarker;
  } catch {
    return undefined;
  }
}

/** Checks, clears this restore's own leftovers, then creates the directory (0700) with its marker. */
export async function prepareRestoreDirectory(o: PrepareDirectoryOptions): Promise<{ leftoverRemoved: boolean }> {
  const first = o.roots[0];
  if (first) await mkdir(first, { recursive: true });
  if (!(await insideARoot(o.dir, o.roots))) {
    throw new JobFailure(`restore directory ${o.dir} is not inside the agent's restore root (${o.roots.join(', ') || 'none'}): refusing to restore there`);
  }
  await checkOverlap(o.dir, o.server);

  let leftoverRemoved = false;
  if (existsSync(o.dir)) {
    const st = await lstat(o.dir);
    if (!st.isDirectory()) throw new JobFailure(`restore directory ${o.dir} exists and is not a directory`);
    const entries = await readdir(o.dir);
    if (entries.length > 0) {
      const marker = await readMarker(o.dir);
      if (marker?.recovery_bk !== o.marker.recovery_bk) {
        throw new JobFailure(`restore directory ${o.dir} exists and is not empty (${entries.length} entries): a restore never writes over existing files`);
      }
      // An earlier attempt of this very recovery: ours to clear.
      await o.stopLeftover(o.dir);
      await rm(o.dir, { recursive: true, force: true });
      leftoverRemoved = true;
    }
  }
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  // PostgreSQL refuses a data directory others can read; an existing empty one may be 0755.
  await chmod(o.dir, 0o700);
  await writeFile(join(o.dir, RESTORE_MARKER), `${JSON.stringify(o.marker, null, 2)}\n`, { mode: 0o600 });
  return { leftoverRemoved };
}
