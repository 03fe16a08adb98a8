// The postgres OS user: the owner a root process gives server files to.
import { spawnSync } from 'node:child_process';

let pgIds: { uid: number; gid: number } | undefined;

/** uid/gid of the postgres OS user (the owner a root process gives server files to). */
export function postgresIds(): { uid: number; gid: number } {
  if (pgIds) return pgIds;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('running as root but there is no "postgres" OS user (install postgresql-15)');
  pgIds = { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
  return pgIds;
}
