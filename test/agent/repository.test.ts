// The repository as the agent prepares it, on the real filesystem.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { chown, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirShared, prepareRepository } from '../../src/agent/repository.js';
import { isRoot } from '../../src/util/process.js';

const base = mkdtempSync(join(tmpdir(), 'bm-agent-repo-'));
afterAll(() => rm(base, { recursive: true, force: true }));

describe('repository', () => {
  it('is created when missing and returned as a real path', async () => {
    const repo = join(base, 'a', 'repo');
    expect(await prepareRepository(repo)).toBe(repo);
    expect(statSync(repo).isDirectory()).toBe(true);
  });

  it.runIf(isRoot())('directories a root agent creates belong to the repository owner, so archive_command can write beside them', async () => {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout);
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout);
    const repo = await prepareRepository(join(base, 'shared'));
    await chown(repo, uid, gid);
    await mkdirShared(repo, join(repo, '7312345678901234567', 'staging'));
    for (const d of [join(repo, '7312345678901234567'), join(repo, '7312345678901234567', 'staging')]) {
      expect([statSync(d).uid, statSync(d).gid]).toEqual([uid, gid]);
    }
  });
});
