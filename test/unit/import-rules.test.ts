// Production code (src/) never imports the tools (tools/: the throwaway-cluster
// harness, the demo, the benchmarks) or the tests, and the published package
// holds neither.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/util/process.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** Every folder of src/ is production code (the build ships all of src/). */
const PRODUCTION = readdirSync(join(ROOT, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier of a file: static imports, re-exports and import(). */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+(['"])([^'"]+)\1/g)) out.push(m[2]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+(['"])([^'"]+)\1/g)) out.push(m[2]!);
  for (const m of text.matchAll(/\bimport\(\s*(['"`])([^'"`]+)\1\s*\)/g)) out.push(m[2]!);
  return out;
}

/** Why an import from a production file is forbidden, or undefined. */
export function forbidden(fromFile: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const target = relative(ROOT, resolve(dirname(fromFile), spec));
  if (!target.startsWith('src/')) return `${target} is outside src/`;
  if (/^src\/(bench|demo)\//.test(target) || /local-cluster/.test(target)) return `${target} is a tool`;
  return undefined;
}

describe('import rules', () => {
  it('the rule catches an import of the harness, the bench, the demo or the tests', () => {
    const f = join(ROOT, 'src/agent/restore-job.ts');
    expect(forbidden(f, '../../tools/local-cluster.js')).toMatch(/outside src/);
    expect(forbidden(f, '../../tools/bench/env.js')).toMatch(/outside src/);
    expect(forbidden(f, '../../tools/demo/demo.js')).toMatch(/outside src/);
    expect(forbidden(f, '../../test/harness/cluster.js')).toMatch(/outside src/);
    expect(forbidden(f, '../pg/local-cluster.js')).toMatch(/a tool/);
    expect(forbidden(f, '../pg/ports.js')).toBeUndefined();
    expect(specifiers("import { a } from '../x.js';\nexport * from './y.js';\nawait import('../../z.js');\nimport \"../w.js\";")).toEqual(['../x.js', './y.js', '../w.js', '../../z.js']);
  });

  it('src/agent, cli, client, storage (and every other production folder) import neither tools nor tests', () => {
    const bad: string[] = [];
    let seen = 0;
    for (const dir of PRODUCTION) {
      for (const file of tsFiles(join(ROOT, 'src', dir))) {
        for (const spec of specifiers(readFileSync(file, 'utf8'))) {
          seen++;
          const why = forbidden(file, spec);
          if (why) bad.push(`${relative(ROOT, file)}: ${spec} (${why})`);
        }
      }
    }
    expect(seen).toBeGreaterThan(100);
    expect(bad).toEqual([]);
    expect(PRODUCTION).toEqual(expect.arrayContaining(['agent', 'cli', 'client', 'storage']));
    expect(PRODUCTION.filter((d) => d === 'bench' || d === 'demo')).toEqual([]);
  });

  it('the published package (npm pack --dry-run) holds the CLI and the SQL, not the tools or the tests', async () => {
    const r = await runCommand('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeoutMs: 60_000 });
    const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/client/index.js');
    expect(files.some((f) => f.startsWith('sql/'))).toBe(true);
    expect(files.some((f) => f.startsWith('migrations/'))).toBe(true);
    const tools = files.filter((f) => /^(tools|dist-tools|test|src)\//.test(f) || /(^|\/)(bench|demo)\//.test(f) || /local-cluster/.test(f));
    expect(tools).toEqual([]);
  });
});
