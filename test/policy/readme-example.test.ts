// The README's "Policy as code" example, as a user gets it: the package packed
// with `npm pack`, installed into a separate consumer project, the example
// type-checked there with skipLibCheck off (a misspelt field must fail), then
// compiled and deployed with the installed CLI (`migrate up --policy`) against
// a real cluster with pg_cron, and its deploy script run.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/paths.js';
import { useCluster } from '../harness/cluster.js';
import { run } from '../harness/run.js';

/** The ```ts blocks of the README section, by the file name in their first line (// name.ts). */
function readmeExamples(): Map<string, string> {
  const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Policy as code\n');
  expect(start).toBeGreaterThan(0);
  const section = readme.slice(start + 1, readme.indexOf('\n## ', start + 1));
  const files = new Map<string, string>();
  for (const m of section.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const name = /^\/\/ ([\w.-]+\.ts)\n/.exec(m[1]!)?.[1];
    expect(name, 'each example starts with // <file>.ts').toBeTruthy();
    files.set(name!, m[1]!);
  }
  return files;
}

const root = packageRoot();
const typescript = join(root, 'node_modules/typescript/bin/tsc');
const version = (pkg: string) => (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
const cluster = useCluster({ name: 'policy-readme' });
let dir: string;
let consumer: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bm-policy-readme-'));
  consumer = join(dir, 'consumer');
  // The tarball of what is built (the test suite builds first); no prepare
  // script, which would rebuild dist/ under the other tests' feet.
  const pack = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], root);
  expect(pack.code, pack.stderr).toBe(0);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeTruthy();

  await run('mkdir', [consumer], dir);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // What a TypeScript user of a pg-based package has: the Node and pg types.
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts',
    join(dir, tarball!), `@types/node@${version('@types/node')}`, `@types/pg@${version('@types/pg')}`], consumer);
  expect(install.code, install.stderr).toBe(0);
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
      skipLibCheck: false, outDir: 'out', rootDir: '.', types: ['node'],
    },
    include: ['*.ts'],
  }));
  for (const [name, code] of readmeExamples()) writeFileSync(join(consumer, name), code);
}, 600_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the README example against the packed package', () => {
  it('has the policy file and the deploy script', () => {
    expect([...readmeExamples().keys()]).toEqual(['backup-policy.ts', 'deploy.ts']);
  });

  it('type-checks with skipLibCheck: false; a misspelt field does not', async () => {
    const ok = await run(process.execPath, [typescript, '-p', '.', '--noEmit'], consumer);
    expect(ok.stdout + ok.stderr).toBe('');
    expect(ok.code).toBe(0);

    const typo = readFileSync(join(consumer, 'backup-policy.ts'), 'utf8').replace("cron: '0 */4 * * *'", "cronn: '0 */4 * * *'");
    writeFileSync(join(consumer, 'typo.ts'), typo);
    try {
      const bad = await run(process.execPath, [typescript, '-p', '.', '--noEmit'], consumer);
      expect(bad.code).not.toBe(0);
      expect(bad.stdout).toContain('typo.ts');
      expect(bad.stdout).toContain("'cronn'");
    } finally {
      rmSync(join(consumer, 'typo.ts'));
    }
  }, 300_000);

  it('deploys with the installed CLI (migrate up --policy) and the deploy script then has nothing to do', async () => {
    const build = await run(process.execPath, [typescript, '-p', '.'], consumer);
    expect(build.stdout + build.stderr).toBe('');
    await cluster().query('CREATE EXTENSION pg_cron');
    const env = { DATABASE_URL: cluster().connectionString('postgres') };
    const cli = join(consumer, 'node_modules/backup-mgmt/dist/cli/main.js');

    const up = await run(process.execPath, [cli, 'migrate', 'up', '--policy', 'out/backup-policy.js'], consumer, env);
    // migrate reports its steps on stderr
    expect(up.stderr).not.toMatch(/error|backup-mgmt:/i);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('+ schedule nightly-full: create');
    const plan = await run(process.execPath, [cli, 'policy', 'plan', 'out/backup-policy.js'], consumer, env);
    expect(plan.code).toBe(0);
    const jobs = await cluster().query<{ jobname: string; active: boolean }>(
      `SELECT jobname, active FROM cron.job WHERE jobname LIKE 'backup_mgmt:%' ORDER BY jobname`);
    expect(jobs).toEqual([
      { jobname: 'backup_mgmt:incremental-4h', active: true },
      { jobname: 'backup_mgmt:monthly-drill', active: false },
      { jobname: 'backup_mgmt:nightly-full', active: true },
      { jobname: 'backup_mgmt:weekly-cleanup', active: true },
    ]);

    const deploy = await run(process.execPath, ['out/deploy.js'], consumer, env);
    expect(deploy.stderr).toBe('');
    expect(deploy.code).toBe(0);
    expect(deploy.stdout).toBe('');
  }, 300_000);
});
