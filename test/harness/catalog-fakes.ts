// What the SQL suites fake in place of a cluster's WAL and the agent: WAL
// file names and the job rows claim_job returns.

/** WAL file name of segment `seg` on timeline `tl`. */
export function segName(seg: number, tl = 1): string {
  const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex8(tl)}${hex8(Math.floor(seg / 256))}${hex8(seg % 256)}`;
}

/** A row of claim_job(), the columns the suites read. */
export interface JobRow {
  job_id: string;
  job_type: string;
  subject_hk: Buffer;
  plan: Record<string, any>;
  status: string;
  priority: number;
  attempts: number;
}
