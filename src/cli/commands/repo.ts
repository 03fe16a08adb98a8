// `backup-mgmt repo list | show <backup> | window | verify --repo DIR|s3://…`:
// the repository read on its own, with no database (disaster recovery).
import { Command } from 'commander';
import { CliError, describeError } from '../errors.js';
import { jsonOption } from '../options.js';
import { printJson, printRecord, printTable } from '../output.js';
import { repoOption, resolveRepoLocation, parseSystemIdentifier, systemIdentifierOption } from '../repo-option.js';

interface Flags {
  repo?: string;
  systemIdentifier?: string;
  json?: boolean;
}

const HELP = `
Reads only the repository (its metadata files and archived WAL); no DATABASE_URL.
--repo s3://bucket/prefix reads the off-host repository (AWS_* for the endpoint
and credentials; verify needs BACKUP_MGMT_DECRYPT_IDENTITY_FILE).
Exit codes: 0 ok, 1 a problem found (verify: a damaged file; window: nothing
recoverable or a WAL gap; show: no such backup; an unreadable repository),
2 usage.`;

/** Repository errors (format, missing cluster) are one line and exit 1. */
async function load(flags: Flags) {
  const { loadRepository } = await import('../../dr/offline-restore.js');
  try {
    return await loadRepository(resolveRepoLocation(flags.repo), parseSystemIdentifier(flags.systemIdentifier));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(describeError(e), 1);
  }
}

function sub(name: string, description: string): Command {
  return new Command(name).description(description).addOption(repoOption('repository root, or s3://bucket/prefix (default: $BACKUP_MGMT_REPO)')).addOption(systemIdentifierOption()).addOption(jsonOption()).addHelpText('after', HELP);
}

export function repoCommand(): Command {
  const cmd = new Command('repo').description('read the repository alone: backups, recoverable window, verification (no database)');

  cmd.addCommand(
    sub('list', 'every backup the repository describes').action(async (flags: Flags) => {
      const r = await load(flags);
      const rows = r.backups.map((b) => ({
        backup_bk: b.backup_bk,
        type: b.type,
        status: b.status,
        parent_bk: b.parent_bk,
        timeline: b.timeline,
        start_lsn: b.start_lsn,
        stop_lsn: b.stop_lsn,
        end_time: b.stop_time,
        verification: b.verification.status,
        files_present: b.files_present,
      }));
      if (flags.json) printJson({ system_identifier: r.sysid, backups: rows, restore_points: r.restorePoints });
      else {
        process.stdout.write(`system ${r.sysid}: ${rows.length} backup(s)\n`);
        printTable(rows);
        if (r.restorePoints.length) {
          process.stdout.write('\nrestore points\n');
          printTable(r.restorePoints.map((p) => ({ name: p.name, lsn: p.lsn, timeline: p.timeline, time: p.time })));
        }
      }
    }),
  );

  cmd.addCommand(
    sub('show', 'one backup: everything its metadata file says')
      .argument('<backup>', 'business key or hash key')
      .action(async (id: string, flags: Flags) => {
        const r = await load(flags);
        const b = r.backups.find((x) => x.backup_bk === id.toUpperCase() || x.backup_hk === id.toLowerCase());
        if (!b) throw new CliError(`repo show: no backup ${id} in ${resolveRepoLocation(flags.repo)}`, 1);
        if (flags.json) printJson(b);
        else {
          const { satellites: _s, files, verification, tool_versions, ...rest } = b;
          printRecord({ ...rest, verification: verification.status, verified_at: verification.time, files: (files ?? []).map((f) => `${f.name} (${f.bytes ?? '?'} B)`).join(', '), tools: Object.values(tool_versions).filter(Boolean).join('; ') });
        }
      }),
  );

  cmd.addCommand(
    sub('window', 'recoverable window per timeline and WAL gaps').action(async (flags: Flags) => {
      const r = await load(flags);
      const { recoverableWindow } = await import('../../dr/plan.js');
      const rows = await recoverableWindow({ systemIdentifier: r.sysid, segSize: r.segSize, backups: r.backups, wal: r.wal, timelines: r.wal.timelines() });
      if (flags.json) printJson({ system_identifier: r.sysid, timelines: rows });
      else printTable(rows.map((w) => ({ ...w, wal_gaps: w.wal_gaps.join(', ') })));
      const healthy = rows.some((w) => w.earliest_recoverable_time !== null) && rows.every((w) => w.wal_gaps.length === 0);
      if (!healthy) process.exitCode = 1;
    }),
  );

  cmd.addCommand(
    sub('verify', 'read every stored backup and WAL file and check their checksums').action(async (flags: Flags) => {
      const { verifyRepository } = await import('../../dr/repo-verify.js');
      await load(flags);
      const report = await verifyRepository(resolveRepoLocation(flags.repo), parseSystemIdentifier(flags.systemIdentifier)).catch((e: unknown) => {
        throw new CliError(`repo verify: ${describeError(e)}`, 1);
      });
      if (flags.json) printJson(report);
      else {
        process.stdout.write(`system ${report.system_identifier}: ${report.backups_checked} backup(s), ${report.wal_files_checked} WAL file(s) checked\n`);
        for (const p of report.problems) process.stdout.write(`DAMAGED ${p.file}: ${p.problem}\n`);
        if (report.problems.length === 0) process.stdout.write('OK\n');
      }
      if (report.problems.length > 0) {
        process.stderr.write(`backup-mgmt: repo verify: ${report.problems.length} damaged file(s): ${report.problems.map((p) => p.file).join(', ')}\n`);
        process.exitCode = 1;
      }
    }),
  );
  return cmd;
}
