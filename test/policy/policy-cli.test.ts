// `backup-mgmt policy plan|apply FILE` and `migrate up --policy FILE`, run as
// the published CLI runs (node dist/cli/main.js) against a real cluster with
// pg_cron in the pack's database: exit codes 0 / 2 / 1, --json, the file
// forms (.json, .mjs with defineBackupPolicy, .ts through a loader), errors
// naming the file and the path in it, serialised applies.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEntry, packageRoot } from '../../src/util/paths.js';
import { runCli, type CliResult } from '../e2e/support.js';
import { useCluster } from '../harness/cluster.js';
import { run } from '../harness/run.js';

const cluster = useCluster({ name: 'policy-cli' });
let client: pg.Client;
let dir: string;
let url: string;

beforeAll(async () => {
  await cluster().query('CREATE EXTENSION pg_cron');
  url = cluster().connectionString('postgres');
  client = await cluster().connect('postgres');
  dir = mkdtempSync(join(tmpdir(), 'bm-policy-'));
});
afterAll(async () => {
  await client?.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(args, { env: { DATABASE_URL: url } });
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
};
const job = async (name: string) =>
  (await client.query<{ schedule: string; active: boolean }>('SELECT schedule, active FROM cron.job WHERE jobname = $1', [`backup_mgmt:${name}`])).rows[0];
const oneLine = (r: CliResult) => r.stderr.trim().split('\n');

const POLICY = {
  version: 1,
  schedules: [
    { name: 'nightly-full', type: 'FULL', cron: '0 2 * * *', timezone: 'Europe/Berlin', retention: { period: '30 days' } },
    { name: 'cleanup', type: 'CLEANUP', cron: '0 3 * * 0' },
  ],
  retention: { min_redundancy: 3 },
  health: { drill_max_age: '14 days' },
};

describe('a deployment', () => {
  it('migrate up --policy installs the pack and applies the policy in one run', async () => {
    const r = await cli('migrate', 'up', '--policy', file('policy.json', POLICY));
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+ schedule nightly-full: create');
    expect(r.stdout).toContain('~ setting retention.min_redundancy: set value: 2 -> 3');
    expect(r.stdout).toContain('applied');
    expect(await job('nightly-full')).toEqual({ schedule: '0 0,1 * * *', active: true });
    // A second deployment: the pack is up to date and so is the policy.
    const again = await cli('migrate', 'up', '--policy', join(dir, 'policy.json'));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to do');
  });

  it('plan exits 0 when the database matches the file', async () => {
    const r = await cli('policy', 'plan', join(dir, 'policy.json'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no changes');
  });

  it('plan exits 2 and lists old -> new when there is something to do, with --json for machines; apply makes it so', async () => {
    const changed = { ...POLICY, schedules: [{ ...POLICY.schedules[0]!, cron: '30 1 * * *' }, POLICY.schedules[1]!], health: {} };
    const path = file('changed.json', changed);
    const r = await cli('policy', 'plan', path);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('~ schedule nightly-full: alter cron: 0 2 * * * -> 30 1 * * *');
    expect(r.stdout).toContain('= setting health.drill_max_age: release');

    const j = await cli('policy', 'plan', path, '--json');
    expect(j.code).toBe(2);
    const out = JSON.parse(j.stdout);
    expect(out).toMatchObject({ exit_code: 2, summary: { alter: 1, release: 1 } });
    expect(out.changes).toContainEqual(expect.objectContaining({ object_name: 'nightly-full', field: 'cron', old_value: '0 2 * * *', new_value: '30 1 * * *' }));

    const a = await cli('policy', 'apply', path, '--json');
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ applied: true });
    expect((await cli('policy', 'plan', path)).code).toBe(0);
    expect(await job('nightly-full')).toEqual({ schedule: '30 0,23 * * *', active: true });
  });
});

describe('bad files: one line naming the file and the path, exit 1, nothing applied', () => {
  const fingerprint = async () =>
    (await client.query(`SELECT (SELECT count(*) FROM backup_mgmt.backup_schedule_s) AS s, (SELECT count(*) FROM backup_mgmt.policy_apply) AS a,
                                (SELECT string_agg(name || '=' || value, ',' ORDER BY name) FROM backup_mgmt.setting) AS settings`)).rows[0];

  it.each([
    ['an unknown type', { schedules: [{ name: 'x', type: 'WEEKLY', cron: '0 1 * * *' }] }, 'schedules[0].type'],
    ['an invalid cron (caught by the database)', { schedules: [{ name: 'x', type: 'FULL', cron: '0 25 * * *' }] }, 'schedules[0].cron'],
    ['a cron without five fields', { schedules: [{ name: 'x', type: 'FULL', cron: '0 1 * *' }] }, 'schedules[0].cron'],
    ['a negative retention', { schedules: [{ name: 'x', type: 'FULL', cron: '0 1 * * *', retention: { period: '-1 day' } }] }, 'schedules[0].retention.period'],
    ['a negative setting', { retention: { keep_daily: -1 } }, 'retention.keep_daily'],
    ['a duplicate name', { schedules: [{ name: 'x', type: 'FULL', cron: '0 1 * * *' }, { name: 'X', type: 'VERIFY', cron: '0 2 * * *' }] }, 'schedules[1].name'],
  ])('%s', async (_what, doc, path) => {
    const before = await fingerprint();
    const f = file('bad.json', { ...POLICY, ...doc });
    for (const args of [['policy', 'plan', f], ['policy', 'apply', f], ['migrate', 'up', '--policy', f]]) {
      const r = await cli(...args);
      expect(r.code).toBe(1);
      expect(oneLine(r)).toHaveLength(1);
      expect(r.stderr).toContain(`${f}: ${path}: `);
    }
    expect(await fingerprint()).toEqual(before);
  });

  it('not JSON, an unknown file kind, no file argument', async () => {
    const broken = await cli('policy', 'plan', file('broken.json', '{"schedules": ['));
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('not valid JSON');
    const yaml = await cli('policy', 'plan', file('policy.yaml', 'schedules: []'));
    expect(yaml.code).toBe(1);
    expect(yaml.stderr).toContain('a policy file ends in .json, .js or .mjs');
    const missing = await cli('policy', 'plan');
    expect(missing.code).toBe(1);
    expect(oneLine(missing)).toHaveLength(1);
  });
});

describe('policy files as modules', () => {
  const clientUrl = pathToFileURL(join(packageRoot(), 'dist/client/index.js')).href;

  it('.mjs: the default export of defineBackupPolicy(); a bad one fails while loading, naming the path', async () => {
    const good = file('policy.mjs', `import { defineBackupPolicy } from '${clientUrl}';
export default defineBackupPolicy(${JSON.stringify({ ...POLICY, schedules: [{ ...POLICY.schedules[0]!, cron: '30 1 * * *' }, POLICY.schedules[1]!], health: {} })});
`);
    const r = await cli('policy', 'plan', good);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);

    const bad = file('bad.mjs', `import { defineBackupPolicy } from '${clientUrl}';
export default defineBackupPolicy({ schedules: [{ name: 'x', type: 'FULL', cron: '0 1 * * *', retention: { min_redundancy: 0 } }] });
`);
    const b = await cli('policy', 'plan', bad);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(`${bad}: schedules[0].retention.min_redundancy: `);
  });

  const ts = () => file('policy.ts', `type Policy = { schedules: { name: string; type: 'FULL' | 'CLEANUP'; cron: string; timezone?: string; retention?: { period: string } }[] };
const policy: Policy = ${JSON.stringify({ schedules: [{ ...POLICY.schedules[0]!, cron: '30 1 * * *' }, POLICY.schedules[1]!] })};
export default { ...policy, retention: { min_redundancy: 3 } };
`);

  it('.ts without a TypeScript loader: exit 1 and how to load it', async () => {
    const r = await cli('policy', 'plan', ts());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('node --import tsx');
  });

  it('.ts through tsx (node --import tsx): planned like any other file', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', cliEntry(), 'policy', 'plan', ts()], packageRoot(), { DATABASE_URL: url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no changes');
  });
});

describe('serialised applies', () => {
  it('two applies of different files at once: both succeed, the database ends as exactly one of them', async () => {
    const variant = (cron: string, redundancy: number, drill: string) => ({
      ...POLICY, prune: true,
      schedules: [{ ...POLICY.schedules[0]!, cron }, { ...POLICY.schedules[1]!, paused: redundancy > 4 }],
      retention: { min_redundancy: redundancy }, health: { drill_max_age: drill },
    });
    const a = file('race-a.json', variant('10 2 * * *', 4, '20 days'));
    const b = file('race-b.json', variant('20 2 * * *', 5, '25 days'));
    const [ra, rb] = await Promise.all([cli('policy', 'apply', a), cli('policy', 'apply', b)]);
    expect([ra.code, rb.code, ra.stderr, rb.stderr]).toEqual([0, 0, '', '']);
    const [pa, pb] = await Promise.all([cli('policy', 'plan', a), cli('policy', 'plan', b)]);
    // One file matches completely; the other differs in every one of its fields.
    expect([pa.code, pb.code].sort()).toEqual([0, 2]);
    const other = pa.code === 2 ? pa : pb;
    for (const line of ['nightly-full: alter cron', 'cleanup: ', 'retention.min_redundancy: set', 'health.drill_max_age: set']) {
      expect(other.stdout).toContain(line);
    }
  });

  it('apply --no-wait while another apply holds the lock: exit 1 with 55P03, nothing applied', async () => {
    const other = await cluster().connect('postgres');
    try {
      await other.query('BEGIN');
      await other.query('SELECT * FROM backup_mgmt.policy_apply($1::jsonb)', [JSON.stringify(POLICY)]);
      const f = file('late.json', { ...POLICY, retention: { min_redundancy: 9 } });
      const r = await cli('policy', 'apply', f, '--no-wait');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('55P03');
      await other.query('COMMIT');
      expect((await client.query(`SELECT backup_mgmt.setting('retention.min_redundancy') AS v`)).rows[0].v).toBe('3');
    } finally {
      await other.end();
    }
  });
});
