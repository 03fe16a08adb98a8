// Test harness: the throwaway clusters of tools/local-cluster.ts plus vitest
// hooks that stop them after a file and keep their data when a test failed.
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
