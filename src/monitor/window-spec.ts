// What a drift window is asked to be (WindowSpec) and what a closed one holds (WindowContents), with
// the check that a spec makes sense.

export interface WindowSpec {
  /**
   * Rows per window: a window closes as soon as it holds this many. `Infinity` (tumbling, with
   * durationMs > 0) makes a purely time-based window.
   */
  size: number;
  /**
   * Rows between two evaluations. `step === size`: tumbling windows; `step < size`: sliding windows,
   * evaluated every `step` new rows over the last `size` rows.
   */
  step: number;
  /**
   * 0 turns time closing off. Otherwise the window also closes when the event time elapsed since the
   * first row added after the previous close reaches durationMs and the window holds at least
   * minSamples rows (for sliding windows this caps how long an evaluation waits for `step` rows).
   */
  durationMs: number;
  /** Fewest rows a window must hold to close on time; below it the window keeps filling. */
  minSamples: number;
  /**
   * Most rows a tumbling window keeps: beyond it the window keeps a uniform reservoir sample (seeded and
   * deterministic) while still counting every row. A sliding window must fit in it entirely, since a
   * reservoir cannot forget the rows that slide out. @defaultValue 10_000
   */
  maxSamples?: number;
  /** Seed of the reservoir sample. @defaultValue 0 */
  seed?: number;
}

export interface WindowColumn {
  name: string;
  kind: 'numeric' | 'categorical';
}

/** One column of a closed window: only its present values; `missing` counts the rows without one. */
export type WindowColumnValues =
  | { kind: 'numeric'; sorted: Float64Array; missing: number }
  | { kind: 'categorical'; counts: Map<string, number>; total: number; missing: number };

export interface WindowContents {
  /** 0, 1, 2, ... per version. */
  index: number;
  /** Earliest and latest event time among the window's rows. */
  startTime: number;
  endTime: number;
  /** Rows in the window, including any the reservoir did not keep. */
  rows: number;
  columns: Record<string, WindowColumnValues>;
}

/**
 * A live row. Missing, null, non-finite or unparsable values are missing for that column. Numeric
 * columns also accept numeric strings and booleans (1/0); categorical values are keyed by their string form.
 */
export type WindowRow = Readonly<Record<string, number | string | boolean | null | undefined>>;

export const DEFAULT_MAX_SAMPLES = 10_000;

export function validateSpec(spec: WindowSpec, maxSamples: number): void {
  const fail = (message: string): never => {
    throw new RangeError(`DriftWindow: ${message} (spec ${JSON.stringify(spec)})`);
  };
  if (!(Number.isFinite(spec.durationMs) && spec.durationMs >= 0)) fail('durationMs must be a number >= 0');
  const timeOnly = spec.size === Number.POSITIVE_INFINITY;
  if (timeOnly && spec.durationMs === 0) fail('size may be Infinity only for a time window (durationMs > 0)');
  if (!timeOnly && !(Number.isInteger(spec.size) && spec.size >= 1)) fail('size must be an integer >= 1');
  if (!(spec.step === spec.size || (Number.isInteger(spec.step) && spec.step >= 1 && spec.step < spec.size))) {
    fail('step must be an integer between 1 and size');
  }
  if (!(Number.isInteger(spec.minSamples) && spec.minSamples >= 0)) fail('minSamples must be an integer >= 0');
  if (!(Number.isInteger(maxSamples) && maxSamples >= 1)) fail('maxSamples must be an integer >= 1');
  if (spec.step < spec.size && spec.size > maxSamples) {
    fail(`a sliding window must fit in maxSamples (${maxSamples}): lower size or raise maxSamples`);
  }
  if (spec.seed !== undefined && !Number.isFinite(spec.seed)) fail('seed must be a finite number');
}
