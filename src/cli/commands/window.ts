// `backup-mgmt window [--json]`: recoverable_window(): how far back and how
// far forward this cluster can be recovered, WAL gaps, and the RPO right now.
import { Command } from 'commander';
import { withClient } from '../client.js';
import { withCommon, type CommonOptions } from '../options.js';
import { printJson } from '../output.js';
import { printWindow } from '../recovery-view.js';

export function windowCommand(): Command {
  return withCommon(new Command('window').description('show the recoverable window (earliest/latest recoverable time and LSN, WAL gaps, RPO)'))
    .addHelpText('after', '\nExit codes: 0 something is recoverable and the WAL has no gap, 1 nothing recoverable or a gap, 2 usage.')
    .action(async (flags: CommonOptions) => {
      await withClient(flags.databaseUrl, async (bm) => {
        const rows = await bm.recoverableWindow();
        if (flags.json) printJson(rows);
        else printWindow(rows);
        const healthy = rows.some((r) => r.earliest_recoverable_time !== null) && rows.every((r) => r.wal_gaps.length === 0);
        if (!healthy) process.exitCode = 1;
      });
    });
}
