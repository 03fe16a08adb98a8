// `npm run demo` is the README's first command: it must pass as written.
// Runs the compiled demo as a newcomer would and checks what it proves.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/paths.js';
import { runCommand } from '../../src/util/process.js';
import { ensureBuilt } from './support.js';

describe('npm run demo', () => {
  it('backs up, drops a table, recovers to just before the drop and proves the rows are back', async () => {
    await ensureBuilt();
    const { stdout } = await runCommand(process.execPath, [join(packageRoot(), 'dist-tools', 'tools', 'demo', 'demo.js')], { timeoutMs: 540_000, env: process.env, replaceEnv: true });
    expect(stdout).toMatch(/FULL_BACKUP_SYSTEM_\S+: .* VERIFIED/);
    expect(stdout).toMatch(/INCREMENTAL_BACKUP_SYSTEM_\S+: .* VERIFIED/);
    expect(stdout).toMatch(/orders: 230000 rows, checksum \w+… — identical to before the drop/);
    expect(stdout).toContain('customers who signed up after the drop: 0');
    expect(stdout).toMatch(/RTO \(measured\) \d+\.\d s/);
    expect(stdout).toContain('demo passed');
  }, 600_000);
});
