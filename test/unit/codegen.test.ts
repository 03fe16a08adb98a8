// The generated files are committed; codegen:check must notice any drift:
// an edited output, a missing one, or a stale extra file.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DELIMITER, NULL_PLACEHOLDER } from '../../codegen/conventions.js';
import { model } from '../../codegen/model.js';
import { hashKey } from '../../src/generated/conventions.js';

const repo = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'bm-codegen-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function check(root: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'codegen/generate.ts'), '--check', '--root', root], {
    encoding: 'utf8',
    cwd: repo,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function copyOfGenerated(name: string): string {
  const root = join(work, name);
  for (const dir of ['migrations', 'sql/00-generated', 'src/generated']) cpSync(join(repo, dir), join(root, dir), { recursive: true });
  return root;
}

describe('codegen', () => {
  it('committed outputs match the model', () => {
    const r = check(repo);
    expect(r.out).toContain('match the model');
    expect(r.code).toBe(0);
  });

  it('detects an edited, a missing and a stale generated file', () => {
    const edited = copyOfGenerated('edited');
    appendFileSync(join(edited, 'sql/00-generated/views/backup_execution_current.sql'), '-- hand edit\n');
    const r1 = check(edited);
    expect(r1.code).toBe(1);
    expect(r1.out).toContain('differs: sql/00-generated/views/backup_execution_current.sql');

    const missing = copyOfGenerated('missing');
    unlinkSync(join(missing, 'src/generated/schemas.ts'));
    const r2 = check(missing);
    expect(r2.code).toBe(1);
    expect(r2.out).toContain('missing: src/generated/schemas.ts');

    const stale = copyOfGenerated('stale');
    writeFileSync(join(stale, 'sql/00-generated/loaders/old_s_load.sql'), 'select 1;\n');
    const r3 = check(stale);
    expect(r3.code).toBe(1);
    expect(r3.out).toContain('stale: sql/00-generated/loaders/old_s_load.sql');
  });

  it('model covers the seed: 9 tables named as in seed 001 and at least 15 indexes', () => {
    const tables = [...model.hubs, ...model.satellites, ...model.links].map((t) => t.name);
    for (const t of [
      'backup_execution_h', 'recovery_operation_h', 'backup_schedule_h',
      'backup_execution_s', 'recovery_operation_s', 'backup_schedule_s',
      'backup_dependency_l', 'schedule_execution_l', 'recovery_backup_l',
    ]) expect(tables).toContain(t);
    expect(model.indexes.length).toBeGreaterThanOrEqual(15);
  });

  it('hashKey normalises like the documented convention', () => {
    expect(hashKey(' full_backup_x ')).toEqual(hashKey('FULL_BACKUP_X'));
    expect(hashKey('a', null)).not.toEqual(hashKey('a', ''));
    expect(hashKey('a', 'b').toString('hex')).toBe(createHash('sha256').update(`A${DELIMITER}B`).digest('hex'));
    expect(NULL_PLACEHOLDER).not.toBe('');
  });

  it('hashKey escapes the delimiter: parts cannot run into each other, keys without | or \\ are unchanged', () => {
    expect(hashKey('a|b', 'c')).not.toEqual(hashKey('a', 'b|c'));
    expect(hashKey('a\\', 'b')).not.toEqual(hashKey('a', '\\b'));
    expect(hashKey('a\\|b')).not.toEqual(hashKey('a', 'b'));
    // the key of a part without either character is the pre-escape sha256(upper(parts) joined by '|')
    const old = (...parts: string[]) => createHash('sha256').update(parts.map((p) => p.toUpperCase()).join('|')).digest('hex');
    expect(hashKey('FULL_BACKUP_SYSTEM_20261122_010203_123456').toString('hex')).toBe(old('FULL_BACKUP_SYSTEM_20261122_010203_123456'));
    expect(hashKey('tenant_a', 'x y').toString('hex')).toBe(old('tenant_a', 'x y'));
  });
});
