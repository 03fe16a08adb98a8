// `npm run demo -- --disaster` (issue 15, acceptance 7): after the demo's
// recovery, the cluster and its catalog are lost; the repository alone
// brings them back, the rows are proven, and catalog sync restores the history.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/paths.js';
import { runCommand } from '../../src/util/process.js';
import { ensureBuilt } from '../e2e/support.js';

describe('npm run demo -- --disaster', () => {
  it('loses the cluster, restores it from the repository alone and proves the rows', async () => {
    await ensureBuilt();
    const { stdout } = await runCommand(process.execPath, [join(packageRoot(), 'dist-tools', 'tools', 'demo', 'demo.js'), '--disaster'], { timeoutMs: 540_000 });
    expect(stdout).toMatch(/is empty\. Only the repository .* is left\./);
    expect(stdout).toMatch(/\$ backup-mgmt repo list --repo /);
    expect(stdout).toMatch(/promoted on timeline 2 after \d+(\.\d+)? s; archiving into the repository/);
    expect(stdout).toMatch(/orders on the new primary: 230000 rows — identical to before the drop/);
    expect(stdout).toMatch(/recoveries_recorded\s+1/);
    expect(stdout).toContain('the catalog knows its 2 completed backups again');
    expect(stdout).toContain('demo passed');
  }, 600_000);
});
