// Command line of `npm run bench -- …`.
import { parseArgs } from 'node:util';

export const SECTION_NAMES = ['backup', 'restore', 'wal', 'impact', 'catalog', 'pickup', 'stream', 's3'] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

export interface BenchOptions {
  /** pgbench scale of the data sets (the mix is loaded to the same size). */
  scale: number;
  /** Repetitions of each timed run (≥ 1; the report asks for ≥ 3). */
  runs: number;
  only: SectionName[];
  json?: string;
  /** Backups seeded into the catalog; default 1,000,000 × min(1, scale / 50). */
  catalogBackups: number;
  /** create_full_backup requests timed for the pickup latency. */
  pickupRequests: number;
  /**
   * Below scale 20 the run is a smoke run (CI): the same sections and runs,
   * shorter workloads, fewer samples, the restore on the pgbench data set only.
   */
  smoke: boolean;
  /** Keep clusters and repositories on disk for inspection. */
  keep: boolean;
  quiet: boolean;
}

export const USAGE = `usage: npm run bench -- [--scale N] [--runs N] [--only NAME[,NAME]] [--json FILE]
                      [--catalog-backups N] [--pickup-requests N] [--keep] [--quiet]
  --scale N             pgbench scale of the data sets (default 50, about 750 MB; 5 is a smoke run)
  --runs N              repetitions of every timed run (default 3)
  --only NAMES          sections to run: ${SECTION_NAMES.join(', ')} (default all)
  --json FILE           also write the report as JSON to FILE
  --catalog-backups N   backup executions seeded for the catalog section (default 1000000 × min(1, scale/50)²)
  --pickup-requests N   requests timed for the job pickup latency (default 100; 30 below scale 20)
  --keep                leave clusters and repositories on disk (they are stopped)
  --quiet               no progress lines on stderr`;

export class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value) || Number(value) < min) throw new UsageError(`${name} must be a whole number ≥ ${min}, not ${JSON.stringify(value)}`);
  return Number(value);
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        scale: { type: 'string' },
        runs: { type: 'string' },
        only: { type: 'string' },
        json: { type: 'string' },
        'catalog-backups': { type: 'string' },
        'pickup-requests': { type: 'string' },
        keep: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) throw new UsageError('');
  const scale = positiveInt('--scale', v.scale, 50);
  const runs = positiveInt('--runs', v.runs, 3);
  const only = (v.only ?? SECTION_NAMES.join(','))
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const name of only) {
    if (!(SECTION_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`--only: unknown section ${JSON.stringify(name)} (sections: ${SECTION_NAMES.join(', ')})`);
    }
  }
  if (only.length === 0) throw new UsageError('--only: name at least one section');
  const catalogDefault = Math.max(10_000, Math.round(1_000_000 * Math.min(1, scale / 50) ** 2));
  const smoke = scale < 20;
  return {
    scale,
    runs,
    only: only as SectionName[],
    json: v.json,
    catalogBackups: positiveInt('--catalog-backups', v['catalog-backups'], catalogDefault, 1000),
    pickupRequests: positiveInt('--pickup-requests', v['pickup-requests'], smoke ? 30 : 100, 5),
    smoke,
    keep: v.keep ?? false,
    quiet: v.quiet ?? false,
  };
}
