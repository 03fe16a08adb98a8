// DELETE job in the off-host repository: a backup's objects and archived WAL
// of one timeline, removed through the store. Object stores have no rename,
// so there is no trash: objects are deleted one by one, the backup_manifest
// first (without it no reader takes the backup for complete), and a retried
// job deletes what a crashed attempt left. SQL decided what goes; this only
// checks that the plan points where a DELETE may point.
import { backupDir, HISTORY_DIR, MANIFEST_NAME, parseStoredWalName, walRoot } from '../storage/layout.js';
import type { SealedStore } from '../storage/offsite/sealed.js';
import { JobFailure, type JobContext } from './job-context.js';
import type { DeleteJobResult, DeletePlan } from './protocol.js';

export async function removeOffsiteBackup(ctx: JobContext, store: SealedStore, root: string, plan: DeletePlan): Promise<NonNullable<DeleteJobResult['backup']>> {
  const bk = plan.backup_bk!;
  const prefix = backupDir('', plan.system_identifier, bk);
  const expected = `${root}/${prefix}`;
  if (plan.repository_path !== expected) throw new JobFailure(`refusing to delete ${plan.repository_path}: a backup in the off-host repository is ${expected}`);
  const keys: string[] = [];
  for await (const o of store.backend.list(`${prefix}/`)) keys.push(o.key);
  // The manifest first: from then on no reader sees a complete backup here.
  keys.sort((a, b) => Number(b.startsWith(`${prefix}/${MANIFEST_NAME}`)) - Number(a.startsWith(`${prefix}/${MANIFEST_NAME}`)));
  for (const k of keys) await store.backend.delete(k);
  ctx.log('info', `job ${ctx.jobId}: backup ${bk} ${keys.length > 0 ? `removed from ${root} (${keys.length} object(s))` : `was already gone from ${root}`}`);
  return { repository_path: expected, removed: keys.length > 0, trash_removed: 0 };
}

export async function purgeOffsiteWal(
  ctx: JobContext,
  store: SealedStore,
  purge: NonNullable<DeletePlan['wal_purge']>,
): Promise<NonNullable<DeleteJobResult['wal']>> {
  const root = walRoot('', purge.system_identifier);
  const tli = purge.before_segment.slice(0, 8);
  const limitDir = purge.before_segment.slice(0, 16);
  let files = 0;
  let bytes = 0;
  for await (const o of store.list(`${root}/`)) {
    const [sub, name, ...more] = o.key.slice(root.length + 1).split('/');
    if (!sub || !name || more.length > 0 || sub === HISTORY_DIR || !/^[0-9A-F]{16}$/.test(sub) || !sub.startsWith(tli) || sub > limitDir) continue;
    const parsed = parseStoredWalName(name);
    // Segments, .partial and .backup files before the cut; anything else stays.
    if (!parsed || parsed.kind === 'history' || parsed.fileName.slice(0, 24) >= purge.before_segment) continue;
    await store.delete(o.key);
    files++;
    bytes += o.size;
    if (files % 200 === 0) ctx.progress.report(files, null, 'purging WAL');
    if (ctx.lost.aborted) break;
  }
  ctx.log('info', `job ${ctx.jobId}: purged ${files} archived WAL file(s) of timeline ${purge.timeline} before ${purge.before_segment} from ${store.location}`);
  return { timeline: purge.timeline, before_segment: purge.before_segment, files_removed: files, stored_bytes_removed: bytes };
}
