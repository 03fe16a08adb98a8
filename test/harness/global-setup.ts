// Runs once in the vitest main process before any worker starts: checks the
// PostgreSQL installation and owns the run directory the workers' clusters
// live in. Imports nothing that registers test hooks.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { unreadableInstall } from '../../src/cli/install-check.js';
import { isRoot, pgBinDir, pgTool, asPostgresUser } from '../../src/util/process.js';

const PACKAGES = 'postgresql-15 postgresql-15-cron';
const HINT = `install the Debian packages ${PACKAGES} (run: bash .ci/ensure-deps.sh, as root)`;

function checkPostgres(): void {
  let bindir: string;
  try {
    bindir = pgBinDir();
  } catch (e) {
    throw new Error(`PostgreSQL server binaries not found: ${HINT}\n${(e as Error).message}`);
  }
  for (const tool of ['initdb', 'pg_ctl', 'postgres', 'pg_basebackup', 'pg_verifybackup', 'pg_waldump']) {
    try {
      pgTool(tool);
    } catch {
      throw new Error(`${tool} missing from ${bindir}: ${HINT}`);
    }
  }
  // pg_cron is a server module; the bindir's sibling lib/ is where Debian
  // (and a source build) put it. pg_config knows for sure when present.
  const cfg = spawnSync(join(bindir, 'pg_config'), ['--pkglibdir'], { encoding: 'utf8' });
  const libdir = cfg.status === 0 ? cfg.stdout.trim() : join(bindir, '..', 'lib');
  if (!existsSync(join(libdir, 'pg_cron.so'))) {
    throw new Error(`pg_cron.so not found in ${libdir}: ${HINT}`);
  }
  if (isRoot() && spawnSync('id', ['-u', 'postgres']).status !== 0) {
    throw new Error(`running as root but there is no "postgres" OS user to run the server: ${HINT}`);
  }
  // Agents and archive_command run dist/cli/main.js as postgres: a checkout
  // under /root or a mktemp -d folder fails later as "Cannot find module".
  const unreadable = unreadableInstall('postgres');
  if (unreadable) throw new Error(unreadable.replace(/install it where .* or chmod/, 'clone it where postgres can read it (e.g. under /srv or /opt), or chmod'));
}

// Only directories this call created get chmod'ed (see makeTraversableDir).
async function makeTraversableDir(target: string): Promise<void> {
  const first = await mkdir(target, { recursive: true });
  if (first === undefined) return;
  let dir = first;
  await chmod(dir, 0o755);
  const rel = relative(first, target);
  for (const part of rel ? rel.split(sep) : []) {
    dir = join(dir, part);
    await chmod(dir, 0o755);
  }
}

function clusterDirs(runDir: string): string[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(runDir, d.name));
}

// A worker that crashed or was killed leaves its servers running. They run in
// data directories of this run, so stopping them touches nothing of anyone else.
function stopStrays(runDir: string): void {
  for (const dir of clusterDirs(runDir)) {
    const dataDir = join(dir, 'data');
    if (!existsSync(join(dataDir, 'postmaster.pid'))) continue;
    const spec = asPostgresUser(pgTool('pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']);
    const r = spawnSync(spec.cmd, spec.args, { cwd: spec.cwd, stdio: 'ignore', timeout: 35_000 });
    if (r.status === 0) console.error(`[harness] stopped a cluster left running: ${dir}`);
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  checkPostgres();
  const root = process.env.BM_CLUSTER_ROOT ?? '/tmp/bm-clusters';
  // Workers are forked after this runs and inherit process.env.
  const runId = (process.env.BM_RUN_ID ??= `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${process.pid}`);
  const runDir = join(root, runId);
  // A reused BM_RUN_ID must not inherit an earlier run's leftovers.
  if (existsSync(runDir)) {
    stopStrays(runDir);
    await rm(runDir, { recursive: true, force: true });
  }
  await makeTraversableDir(runDir);

  return async () => {
    stopStrays(runDir);
    const left = clusterDirs(runDir);
    if (left.length > 0) {
      console.error(`[harness] kept ${left.length} cluster director${left.length === 1 ? 'y' : 'ies'} in ${runDir}`);
      return;
    }
    await rm(runDir, { recursive: true, force: true });
  };
}
