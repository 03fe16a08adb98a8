// Writes every generated file from the model (`npm run codegen`), or with
// --check exits non-zero when any committed file differs or is stale.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitCatalogMigration } from './emit/ddl.js';
import { emitCurrentView, emitHashKeyFunction, emitLoader, emitSatelliteLoader } from './emit/sql-objects.js';
import { emitConventions, emitKysely, emitZod } from './emit/typescript.js';
import { model } from './model.js';
import { emitApplyResultSql, emitJobTypes, emitJobTypesSql, emitPlanRequiredSql, emitProtocolDoc, emitProtocolZod, emitResultRequiredSql } from './emit/protocol.js';
import { protocol } from './protocol.js';

// --root DIR checks or writes another checkout (the drift test uses a copy).
const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? process.argv[rootArg + 1]! : join(dirname(fileURLToPath(import.meta.url)), '..');

/** Directories that hold only generated files: anything else in them is stale. */
const GENERATED_DIRS = ['sql/00-generated', 'src/generated'];

export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (let v = 1; v <= model.version; v++) {
    const prefix = model.migrations[v];
    if (!prefix) throw new Error(`codegen/model.ts: no migration prefix for model version ${v}`);
    files.set(`migrations/${prefix}_catalog-v${v}.sql`, emitCatalogMigration(model, v));
  }
  files.set('sql/00-generated/hash_key.sql', emitHashKeyFunction(model));
  files.set('sql/00-generated/loaders/_load_satellite.sql', emitSatelliteLoader(model));
  for (const sat of model.satellites) {
    files.set(`sql/00-generated/views/${sat.currentView}.sql`, emitCurrentView(model, sat));
    files.set(`sql/00-generated/loaders/${sat.name}_load.sql`, emitLoader(model, sat));
  }
  files.set('src/generated/database.ts', emitKysely(model));
  files.set('src/generated/schemas.ts', emitZod(model));
  files.set('src/generated/conventions.ts', emitConventions());
  // The job contract (codegen/protocol.ts).
  files.set('src/generated/job-types.ts', emitJobTypes(protocol));
  files.set('src/generated/protocol.ts', emitProtocolZod(protocol));
  files.set('sql/00-generated/protocol/_job_types.sql', emitJobTypesSql(protocol, model.schema));
  files.set('sql/00-generated/protocol/_job_plan_required.sql', emitPlanRequiredSql(protocol, model.schema));
  files.set('sql/00-generated/protocol/_job_result_required.sql', emitResultRequiredSql(protocol, model.schema));
  files.set('sql/00-generated/protocol/_apply_job_result.sql', emitApplyResultSql(protocol, model.schema));
  files.set('src/agent/PROTOCOL-jobs.md', emitProtocolDoc(protocol));
  // The folder's README travels with it: everything in sql/00-generated is written here.
  files.set('sql/00-generated/README.md', readFileSync(new URL('./generated-sql-README.md', import.meta.url), 'utf8'));
  return new Map([...files.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

function main() {
  const check = process.argv.includes('--check');
  const files = generatedFiles();
  const drift: string[] = [];
  for (const [rel, content] of files) {
    const abs = join(root, rel);
    const current = existsSync(abs) ? readFileSync(abs, 'utf8') : null;
    if (current === content) continue;
    if (check) drift.push(`${current === null ? 'missing' : 'differs'}: ${rel}`);
    else {
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, content);
      console.log(`wrote ${rel}`);
    }
  }
  for (const dir of GENERATED_DIRS) {
    for (const abs of listFiles(join(root, dir))) {
      const rel = relative(root, abs);
      if (files.has(rel)) continue;
      if (check) drift.push(`stale: ${rel}`);
      else {
        rmSync(abs);
        console.log(`removed stale ${rel}`);
      }
    }
  }
  if (check) {
    if (drift.length) {
      console.error(`codegen:check: ${drift.length} generated file(s) drift from codegen/model.ts or codegen/protocol.ts:\n  ${drift.join('\n  ')}\nRun: npm run codegen`);
      process.exit(1);
    }
    console.log(`codegen:check: ${files.size} generated files match the model`);
  }
}

main();
