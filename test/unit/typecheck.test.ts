// Type-level assertions (generated Kysely types used in typed queries, zod
// inference) only count if the compiler checks them: run tsc over the project.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');

describe('typecheck', () => {
  it('tsc --noEmit passes over src, codegen and test (generated types included)', () => {
    const r = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', join(repo, 'tsconfig.json')], {
      encoding: 'utf8',
      cwd: repo,
    });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  }, 180_000);
});
