// Test harness: the throwaway clusters of tools/local-cluster.ts plus vitest
// hooks that stop them after a file and keep their data when a test failed.
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { createCluster, type CreateClusterOptions, type TestCluster } from '../../tools/local-cluster.js';

export * from '../../tools/local-cluster.js';

interface TaskLike {
  result?: { state?: string };
  tasks?: TaskLike[];
}

function anyFailed(task: TaskLike | undefined): boolean {
  if (!task) return false;
  if (task.result?.state === 'fail') return true;
  return (task.tasks ?? []).some(anyFailed);
}

/**
 * One cluster for the surrounding test file or describe block: created in
 * beforeAll, stopped in afterAll and removed only if nothing in it failed.
 * Returns an accessor because the cluster exists only once beforeAll has run.
 */
export function useCluster(opts: CreateClusterOptions = {}): () => TestCluster {
  let cluster: TestCluster | undefined;
  let failed = false;

  beforeAll(async () => {
    cluster = await createCluster(opts);
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      failed = true;
    });
  });
  afterEach(({ task }) => {
    if (task.result?.state === 'fail') failed = true;
  });
  // vitest 4 passes (context, suite); the context must be destructured.
  afterAll(async ({}, suite) => {
    if (!cluster) return;
    if (failed || anyFailed(suite as TaskLike)) cluster.keepOnFailure();
    await cluster.destroy();
  });

  return () => {
    if (!cluster) throw new Error('useCluster(): the cluster is created in beforeAll; use it inside hooks or tests');
    return cluster;
  };
}

/** Debian's libfaketime (installed by .ci/ensure-deps.sh). */
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

/**
 * The StartOptions environment that runs a server with its clock moved by
 * `offset` (libfaketime's relative form, e.g. "+65m"): a history that seems
 * an hour old without waiting an hour. Real and monotonic clocks move alike.
 * Measured with PostgreSQL 15 and libfaketime 0.9.10 (pg_stat_activity's
 * backend_start, pg_stat_archiver, last_autoanalyze, the log): backends (so
 * commit times), the checkpointer, the background writer and archive_command
 * children see the moved clock; the postmaster once the startup process has
 * ended, and what it starts from its signal handlers (archiver, walwriter,
 * autovacuum, background workers such as pg_cron's) see the real one.
 */
export function fakeClockEnv(offset: string): Record<string, string> {
  if (!/^[+-]\d+[smhd]?$/.test(offset)) throw new Error(`fakeClockEnv: "${offset}" is not a relative offset like +65m`);
  if (!existsSync(LIBFAKETIME)) throw new Error(`fakeClockEnv: ${LIBFAKETIME} is missing; run .ci/ensure-deps.sh (Debian package libfaketime)`);
  return { LD_PRELOAD: LIBFAKETIME, FAKETIME: offset };
}
