// Reading pg_basebackup's stderr: `--progress` lines and the `--verbose`
// lines that name the WAL start and end points. Lines end in \n on a pipe
// and in \r on a terminal; both are handled.

export interface Progress {
  doneBytes: number;
  totalBytes: number;
}

export interface WalPoint {
  lsn: string;
  timeline?: number;
}

const PROGRESS_RE = /^\s*(\d+)\/(\d+) kB\b/;
const START_RE = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/i;
const END_RE = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/i;

export function parseProgressLine(line: string): Progress | undefined {
  const m = PROGRESS_RE.exec(line);
  if (!m) return undefined;
  return { doneBytes: Number(m[1]) * 1024, totalBytes: Number(m[2]) * 1024 };
}

export function parseStartPoint(line: string): WalPoint | undefined {
  const m = START_RE.exec(line);
  return m ? { lsn: m[1]!.toUpperCase(), timeline: Number(m[2]) } : undefined;
}

export function parseEndPoint(line: string): WalPoint | undefined {
  const m = END_RE.exec(line);
  return m ? { lsn: m[1]!.toUpperCase() } : undefined;
}

/** Splits a byte stream into lines on \n or \r, keeping a partial line for the next chunk. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split(/\r\n|\r|\n/);
    this.rest = parts.pop() ?? '';
    return parts.filter((l) => l.length > 0);
  }

  flush(): string[] {
    const last = this.rest;
    this.rest = '';
    return last ? [last] : [];
  }
}
