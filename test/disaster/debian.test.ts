// Disaster recovery into a Debian cluster (issue 15, part C): the lost
// cluster's repository is restored with `restore --repo --start` into the
// stopped, emptied data directory of a `pg_createcluster` cluster whose
// configuration lives in /etc/postgresql/…; --start uses pg_ctlcluster, the
// new primary archives into the repository, and the rows are those of the
// lost cluster. Needs root and Debian's postgresql-common.
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.js';
import { isRoot, runCommand } from '../../src/util/process.js';
import { freePort, query, runCli, stopAllAgents, withDatabase } from '../e2e/support.js';
import { archiveNow, archivingCluster, type ArchivingSetup } from '../e2e/recovery-support.js';

const debian = isRoot() && existsSync('/usr/bin/pg_createcluster');
const cluster = useCluster({ name: 'e2e-dr-debian' });
const name = `bmdr${process.pid}`;
let env: ArchivingSetup;
let port = 0;
let created = false;

beforeAll(async () => {
  if (!debian) return;
  env = await archivingCluster(cluster(), 'bm_drdeb', 'e2e-dr-debian');
  port = await freePort();
});

afterAll(async () => {
  await stopAllAgents();
  if (created) await runCommand('pg_dropcluster', ['--stop', '15', name], { timeoutMs: 120_000 }).catch(() => {});
});

describe.runIf(debian)('restore --repo into a Debian pg_createcluster cluster', () => {
  it('restores the lost cluster into the emptied data directory and starts it with pg_ctlcluster', async () => {
    await cluster().createDatabase('shop');
    const shop = withDatabase(env.url, 'shop');
    await query(shop, 'CREATE TABLE marker (id int PRIMARY KEY, note text); INSERT INTO marker SELECT g, md5(g::text) FROM generate_series(1, 500) g');
    const [q] = await query<{ backup_id: Buffer }>(env.url, 'SELECT backup_id FROM backup_mgmt.create_full_backup()');
    const [b] = await query<{ backup_status: string }>(env.url, `SELECT * FROM backup_mgmt.await_backup($1, '3 minutes')`, [q!.backup_id]);
    expect(b!.backup_status).toBe('COMPLETED');
    await query(shop, 'INSERT INTO marker SELECT g, md5(g::text) FROM generate_series(501, 800) g');
    const [expected] = await query<{ n: string; md5: string }>(shop, `SELECT count(*) AS n, md5(string_agg(id || note, ',' ORDER BY id)) AS md5 FROM marker`);
    await archiveNow(env.url);
    // Metadata of the backup in the repository, then the loss.
    const dir = join(env.repo, env.sysid, 'backups');
    for (let i = 0; i < 100 && !(await readdir(dir)).some((f) => f.endsWith('.json')); i++) await new Promise((r) => setTimeout(r, 200));
    await env.agent.stop();
    await cluster().stop();

    // A fresh Debian cluster: created, stopped, emptied; its configuration stays in /etc.
    await runCommand('pg_createcluster', ['15', name, '-p', String(port)], { timeoutMs: 180_000 });
    created = true;
    const etc = `/etc/postgresql/15/${name}`;
    const data = `/var/lib/postgresql/15/${name}`;
    await writeFile(join(etc, 'pg_hba.conf'), `local all all trust\nhost all all 127.0.0.1/32 trust\n${await readFile(join(etc, 'pg_hba.conf'), 'utf8')}`);
    for (const f of await readdir(data)) await rm(join(data, f), { recursive: true, force: true });

    const r = await runCli(['restore', '--repo', env.repo, '--to', data, '--latest', '--start', '--json'], { env: { DATABASE_URL: '', BACKUP_MGMT_REPO: '' } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ promoted: true });
    const status = await runCommand('pg_lsclusters', ['--no-header', '15', name]);
    expect(status.stdout).toMatch(/online/);
    const url = `postgresql://postgres@127.0.0.1:${port}/shop`;
    const [got] = await query<{ n: string; md5: string }>(url, `SELECT count(*) AS n, md5(string_agg(id || note, ',' ORDER BY id)) AS md5 FROM marker`);
    expect(got).toEqual(expected);
    // The configuration came from /etc (the port), archiving goes into the repository.
    const [{ f }] = (await query<{ f: string }>(url, 'SELECT pg_walfile_name(pg_switch_wal()) AS f')) as [{ f: string }];
    const walDir = join(env.repo, env.sysid, 'wal', f.slice(0, 16));
    for (let i = 0; i < 150 && !(existsSync(walDir) && (await readdir(walDir)).some((n) => n.startsWith(f))); i++) await new Promise((res) => setTimeout(res, 200));
    expect((await readdir(walDir)).some((n) => n.startsWith(f))).toBe(true);
  });
});
