// The benchmark's findings: sections of rows, each row a measurement repeated
// over runs (min/median/max) or sampled (p50/p95), optionally against a
// reference and a target. Rendered as markdown, or written as JSON.
import { summarize, type Summary } from './stats.js';

export type Verdict = 'pass' | 'fail' | 'n/a';

export interface Target {
  /** The target as the issue states it, e.g. "≤ 1.10 × pg_basebackup". */
  text: string;
  /** null: could not be judged (missing part, or indicative only). */
  pass: boolean | null;
  /** Why it failed or could not be judged; shown beside the verdict. */
  why?: string;
}

export interface Row {
  name: string;
  unit: string;
  /** 'runs': min/median/max of repeated runs; 'samples': p50/p95 of many samples. */
  kind: 'runs' | 'samples';
  values: number[];
  /** A derived figure shown beside the values, e.g. "480 MB/s". */
  extra?: string;
  reference?: { name: string; value: number; unit?: string };
  /** measured / reference (or as the target defines it; the row says). */
  ratio?: number;
  ratioLabel?: string;
  target?: Target;
  /** Which statistic the target is judged on (default: p95 for samples, median for runs). */
  targetStat?: 'median' | 'p95';
  note?: string;
  /** Set instead of values when the measurement could not run. */
  unavailable?: string;
}

export interface Section {
  id: string;
  title: string;
  rows: Row[];
  notes: string[];
  /** Extra markdown (tables of plans, samples) printed after the rows. */
  details: string[];
  error?: string;
  seconds?: number;
}

export interface DatasetInfo {
  name: string;
  description: string;
  databaseBytes: number;
  dataDirBytes: number;
  zstdRatio?: number;
  loadSeconds: number;
}

export interface Report {
  title: string;
  startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  machine: Record<string, string | number>;
  options: Record<string, unknown>;
  datasets: DatasetInfo[];
  sections: Section[];
}

export function newSection(id: string, title: string): Section {
  return { id, title, rows: [], notes: [], details: [] };
}

export function rowSummary(row: Row): Summary {
  return summarize(row.values);
}

export function fmt(n: number | undefined, digits = 2): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (abs >= 1000) return n.toFixed(0);
  if (abs >= 100) return n.toFixed(Math.min(digits, 1));
  if (abs >= 1) return n.toFixed(digits);
  if (abs < 1e-3) return '0';
  return n.toPrecision(Math.max(2, digits));
}

export function mbps(bytes: number, seconds: number): number {
  return bytes / 1024 / 1024 / seconds;
}

function verdictText(t: Target | undefined): string {
  if (!t) return '';
  const v = t.pass === null ? 'n/a' : t.pass ? '**pass**' : '**FAIL**';
  return t.why ? `${v} (${t.why})` : v;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function rowCells(r: Row): string[] {
  if (r.unavailable !== undefined) {
    return [r.name, '0', '–', r.unavailable, '–', '–', r.unit, '', r.reference ? `${r.reference.name}` : '', '', r.target?.text ?? '', verdictText(r.target)];
  }
  const s = summarize(r.values);
  const ref = r.reference ? `${r.reference.name}: ${fmt(r.reference.value)} ${r.reference.unit ?? r.unit}` : '';
  const ratio = r.ratio === undefined ? '' : `${fmt(r.ratio)}${r.ratioLabel ? ` ${r.ratioLabel}` : ''}`;
  const isSamples = r.kind === 'samples';
  return [
    r.name,
    String(s.n),
    fmt(s.min),
    fmt(s.median),
    isSamples ? fmt(s.p95) : '–',
    fmt(s.max),
    r.unit,
    r.extra ?? '',
    ref,
    ratio,
    r.target?.text ?? '',
    verdictText(r.target),
  ];
}

const HEADER = ['measure', 'n', 'min', 'median (p50)', 'p95', 'max', 'unit', 'derived', 'reference (median)', 'ratio', 'target', 'result'];

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

export function targetRows(report: Report): Array<{ section: string; row: Row }> {
  const out: Array<{ section: string; row: Row }> = [];
  for (const s of report.sections) for (const r of s.rows) if (r.target) out.push({ section: s.title, row: r });
  return out;
}

function measuredText(r: Row): string {
  if (r.unavailable !== undefined) return r.unavailable;
  const s = summarize(r.values);
  const stat = r.targetStat ?? (r.kind === 'samples' ? 'p95' : 'median');
  const v = stat === 'p95' ? `p95 ${fmt(s.p95)} ${r.unit}` : `median ${fmt(s.median)} ${r.unit}`;
  return r.ratio === undefined ? v : `${v}; ratio ${fmt(r.ratio)}${r.ratioLabel ? ` ${r.ratioLabel}` : ''}`;
}

export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  out.push(`# ${report.title}`, '');
  out.push(`Started ${report.startedAt}${report.durationSeconds !== undefined ? `, took ${fmt(report.durationSeconds / 60, 1)} min` : ''}.`);
  out.push(`Machine: ${Object.entries(report.machine).map(([k, v]) => `${k} ${v}`).join('; ')}.`);
  out.push(`Options: ${Object.entries(report.options).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}.`, '');
  out.push(
    'Times are wall-clock seconds; runs of different tools are interleaved; compare only within this report (the machine is shared and noisy). ' +
      "Servers, the agent and the CLI run as services would (systemd): without the caller's NODE_OPTIONS or NODE_EXTRA_CA_CERTS.",
    '',
  );

  if (report.datasets.length) {
    out.push('## Data sets', '');
    out.push(
      table(
        ['data set', 'database', 'data directory', 'zstd-3 ratio', 'load time', 'contents'],
        report.datasets.map((d) => [
          d.name,
          `${fmt(d.databaseBytes / 1024 / 1024, 0)} MB`,
          `${fmt(d.dataDirBytes / 1024 / 1024, 0)} MB`,
          d.zstdRatio === undefined ? '–' : `${fmt(d.zstdRatio, 1)}:1`,
          `${fmt(d.loadSeconds, 1)} s`,
          d.description,
        ]),
      ),
      '',
    );
  }

  const targets = targetRows(report);
  if (targets.length) {
    out.push('## Targets', '');
    out.push(
      table(
        ['section', 'measure', 'target', 'measured', 'result'],
        targets.map(({ section, row }) => [section, row.name, row.target!.text, measuredText(row), verdictText(row.target)]),
      ),
      '',
    );
  }

  for (const s of report.sections) {
    out.push(`## ${s.title}${s.seconds !== undefined ? ` (${fmt(s.seconds, 0)} s)` : ''}`, '');
    if (s.error) out.push(`**Section failed:** ${s.error}`, '');
    if (s.rows.length) out.push(table(HEADER, s.rows.map(rowCells)), '');
    for (const n of s.notes) out.push(`- ${n}`);
    if (s.notes.length) out.push('');
    for (const d of s.details) out.push(d, '');
  }
  return out.join('\n');
}

export function renderJson(report: Report): string {
  const sections = report.sections.map((s) => ({
    ...s,
    rows: s.rows.map((r) => ({ ...r, summary: r.unavailable === undefined ? summarize(r.values) : null })),
  }));
  return JSON.stringify({ ...report, sections }, null, 2);
}
