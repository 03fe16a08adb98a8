// Summaries of repeated measurements: min/median/max for a handful of runs,
// percentiles for latency samples.

export interface Summary {
  n: number;
  min: number;
  median: number;
  max: number;
  mean: number;
  p95: number;
}

/** Linear-interpolated percentile (0..100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { n: 0, min: Number.NaN, median: Number.NaN, max: Number.NaN, mean: Number.NaN, p95: Number.NaN };
  return {
    n: values.length,
    min: Math.min(...values),
    median: percentile(values, 50),
    max: Math.max(...values),
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    p95: percentile(values, 95),
  };
}

/** Least-squares slope of y over x (per unit of x); 0 with fewer than two points. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
