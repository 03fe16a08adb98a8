// The generated files are committed; codegen:check must notice any drift:
// an edited output, a missing one, or a stale extra file.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DELIMITER, NULL_PLACEHOLDER } from '../../codegen/conventions.js';
import { model } from '../../codegen/model.js';
import { emitCatalogMigration } from '../../codegen/emit/ddl.js';
import { col, kinds } from '../../codegen/types.js';
import { hashKey } from '../../src/generated/conventions.js';

const repo = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'bm-codegen-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function generate(root: string, opts: { check?: boolean; codegen?: string } = {}) {
  const args = [join(opts.codegen ?? join(repo, 'codegen'), 'generate.ts'), ...(opts.check === false ? [] : ['--check']), '--root', root];
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8', cwd: repo });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
const check = (root: string) => generate(root);

function copyOfGenerated(name: string): string {
  const root = join(work, name);
  for (const dir of ['migrations', 'sql/00-generated', 'src/generated', 'src/agent/PROTOCOL-jobs.md']) cpSync(join(repo, dir), join(root, dir), { recursive: true });
  return root;
}

/** A job type as a developer would add it: one entry in codegen/protocol.ts. */
const VACUUM_JOB = `    {
      name: 'VACUUM',
      meaning: 'tidy the repository',
      executor: 'src/agent/vacuum-job.ts',
      kinds: [
        {
          kind: 'vacuum',
          planName: 'VacuumPlan',
          resultName: 'VacuumJobResult',
          queuedBy: 'vacuum_repository',
          applyResult: '_apply_vacuum_result',
          docSection: 'VACUUM job',
          plan: { fields: [f('kind', v.literal('vacuum'), 'plan kind'), f('repository_root', absPath, 'the repository')] },
          result: { fields: [f('files_removed', v.number, 'how many', { required: true })] },
        },
      ],
    },
`;

/** A copy of codegen/ whose protocol model has the VACUUM job type. */
function codegenWithVacuum(): string {
  const dir = join(work, 'codegen-vacuum', 'codegen');
  cpSync(join(repo, 'codegen'), dir, { recursive: true });
  const file = join(dir, 'protocol.ts');
  const model = readFileSync(file, 'utf8');
  const at = model.indexOf("    {\n      name: 'DELETE',");
  expect(at).toBeGreaterThan(0);
  writeFileSync(file, model.slice(0, at) + VACUUM_JOB + model.slice(at));
  return dir;
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

  it('a changed protocol model makes codegen:check fail; a new job type is one model edit, and the agent needs its executor', () => {
    const codegen = codegenWithVacuum();
    const drift = generate(repo, { codegen });
    expect(drift.code).toBe(1);
    for (const f of [
      'src/generated/job-types.ts',
      'src/generated/protocol.ts',
      'sql/00-generated/protocol/_job_types.sql',
      'sql/00-generated/protocol/_job_plan_required.sql',
      'sql/00-generated/protocol/_job_result_required.sql',
      'sql/00-generated/protocol/_apply_job_result.sql',
      'src/agent/PROTOCOL-jobs.md',
    ]) expect(drift.out).toContain(`differs: ${f}`);

    // Regenerating from that one edit rewrites the contract's outputs and nothing else (no migration).
    const root = copyOfGenerated('vacuum');
    const written = generate(root, { codegen, check: false });
    expect(written.code).toBe(0);
    expect(written.out.trim().split('\n').sort()).toEqual([
      'wrote sql/00-generated/protocol/_apply_job_result.sql',
      'wrote sql/00-generated/protocol/_job_plan_required.sql',
      'wrote sql/00-generated/protocol/_job_result_required.sql',
      'wrote sql/00-generated/protocol/_job_types.sql',
      'wrote src/agent/PROTOCOL-jobs.md',
      'wrote src/generated/job-types.ts',
      'wrote src/generated/protocol.ts',
    ]);
    const read = (f: string) => readFileSync(join(root, f), 'utf8');
    expect(read('src/generated/job-types.ts')).toContain("JOB_TYPES = ['BACKUP', 'VERIFY', 'RESTORE', 'VACUUM', 'DELETE'] as const");
    expect(read('sql/00-generated/protocol/_job_types.sql')).toContain("ARRAY['BACKUP', 'VERIFY', 'RESTORE', 'VACUUM', 'DELETE']::text[]");
    expect(read('sql/00-generated/protocol/_job_result_required.sql')).toContain("p_job_type = 'VACUUM' AND p_kind IS NOT DISTINCT FROM 'vacuum' THEN ARRAY['files_removed']::text[]");
    expect(read('sql/00-generated/protocol/_apply_job_result.sql')).toMatch(/WHEN 'VACUUM' THEN\s+PERFORM backup_mgmt\._apply_vacuum_result\(p_job, p_result, p_agent_id\);/);
    expect(read('src/generated/protocol.ts')).toContain("export const VacuumPlan = plan('vacuum', {");
    expect(read('src/generated/protocol.ts')).toContain('export interface VacuumJobResult {');
    expect(read('src/agent/PROTOCOL-jobs.md')).toContain('## VACUUM, plan kind `vacuum`');

    // The agent does not compile until the new type has an executor (EXECUTORS in job-runner.ts).
    const project = join(work, 'compile');
    cpSync(join(repo, 'src'), join(project, 'src'), { recursive: true });
    cpSync(join(root, 'src/generated'), join(project, 'src/generated'), { recursive: true });
    symlinkSync(join(repo, 'node_modules'), join(project, 'node_modules'));
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, noEmit: true, types: ['node'] },
        files: ['src/agent/job-runner.ts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(project, 'tsconfig.json')], { encoding: 'utf8', cwd: project });
    expect(tsc.status).not.toBe(0);
    expect(`${tsc.stdout}${tsc.stderr}`).toMatch(/src\/agent\/job-runner\.ts.*Property 'VACUUM' is missing/s);
  }, 180_000);

  it('model covers the seed: 9 tables named as in seed 001 and at least 15 indexes', () => {
    const tables = [...model.hubs, ...model.satellites, ...model.links].map((t) => t.name);
    for (const t of [
      'backup_execution_h', 'recovery_operation_h', 'backup_schedule_h',
      'backup_execution_s', 'recovery_operation_s', 'backup_schedule_s',
      'backup_dependency_l', 'schedule_execution_l', 'recovery_backup_l',
    ]) expect(tables).toContain(t);
    expect(model.indexes.length).toBeGreaterThanOrEqual(15);
  });

  it('each model version migrates only what it added: new tables, and columns added to older tables', () => {
    // Version 1 is what was first applied, unchanged; version 2 (repository copies) creates only its own tables.
    const v1 = emitCatalogMigration(model, 1);
    const v2 = emitCatalogMigration(model, 2);
    expect(v1).toBe(readFileSync(join(repo, 'migrations/20261122000100_catalog-v1.sql'), 'utf8'));
    expect(v1).not.toContain('backup_copy');
    expect(v2.match(/^CREATE TABLE \S+/gm)).toEqual([
      'CREATE TABLE backup_mgmt.backup_repository_h', 'CREATE TABLE backup_mgmt.backup_copy_h', 'CREATE TABLE backup_mgmt.backup_repository_s',
      'CREATE TABLE backup_mgmt.backup_copy_s', 'CREATE TABLE backup_mgmt.backup_copy_l',
    ]);
    // A column a later version adds to an existing satellite: ALTER TABLE there, absent from the CREATE of version 1.
    const sat = model.satellites.find((x) => x.name === 'backup_storage_s')!;
    const later = { ...model, version: 3, satellites: model.satellites.map((x) => (x === sat ? { ...x, columns: [...x.columns, col('encryption_fingerprints', kinds.textArray, { since: 3, comment: 'keys' })] } : x)) };
    expect(emitCatalogMigration(later, 1)).toBe(v1);
    const v3 = emitCatalogMigration(later, 3);
    expect(v3).toContain('ALTER TABLE backup_mgmt.backup_storage_s ADD COLUMN encryption_fingerprints text[];');
    expect(v3).toContain("COMMENT ON COLUMN backup_mgmt.backup_storage_s.encryption_fingerprints IS 'keys';");
    expect(v3).toContain('ALTER TABLE backup_mgmt.backup_storage_s DROP COLUMN IF EXISTS encryption_fingerprints;');
    expect(v3).not.toContain('CREATE TABLE');
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
