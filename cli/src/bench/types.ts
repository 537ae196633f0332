// The shape every benchmark returns. House rule (CONTRIBUTING: "speed lives in `npm run bench`"): a figure
// is never a bare number of this machine — it carries a reference measured in the same run, and the ratio
// value / reference is the figure that travels between machines.

export interface Measure {
  metric: string;
  value: number;
  unit: string;
}

export interface Figure extends Measure {
  /** What `value` is compared with, measured in the same run on the same machine. */
  reference?: Measure;
  /** value / reference.value. */
  ratio?: number;
  /** The goal for `ratio` (or `value`), as written in the issue, e.g. "ratio ≥ 0.75". */
  target?: string;
}

export interface Result {
  name: string;
  figures: Figure[];
  /** Run parameters and side facts (sizes, counts), for the record. */
  params?: Record<string, number | string>;
  /** Caveats worth printing under the table. */
  notes?: string[];
}

export interface BenchOptions {
  /** The benchmark's size (anchors, readings …); each benchmark has its own default. */
  n?: number;
  /** Progress lines for long runs (stderr in the CLI). */
  progress: (line: string) => void;
  /** Short timing rounds (tests: the shape of the figures, not their worth). */
  quick?: boolean;
}

/** Timing parameters of measureRates and the verify ceiling, normal or quick. */
export function timingFor(o: Pick<BenchOptions, 'quick'>): { rounds: number; roundMs: number; ceilingMs: number; fsyncMs: number } {
  return o.quick ? { rounds: 3, roundMs: 20, ceilingMs: 100, fsyncMs: 50 } : { rounds: 7, roundMs: 250, ceilingMs: 1000, fsyncMs: 1000 };
}

export interface Benchmark {
  name: string;
  description: string;
  run(opts: BenchOptions): Promise<Result>;
}

/** Four significant digits: enough for a ratio to reproduce value / reference "within rounding". */
export function round(x: number, digits = 4): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}

/** A figure with its reference and the ratio between them. */
export function compare(value: Measure, reference: Measure, target?: string): Figure {
  const f: Figure = {
    metric: value.metric,
    value: round(value.value),
    unit: value.unit,
    reference: { metric: reference.metric, value: round(reference.value), unit: reference.unit },
    ratio: round(value.value / reference.value),
  };
  if (target !== undefined) f.target = target;
  return f;
}
