// Checks the inputs of a classification evaluation once and turns them into flat typed arrays, so the
// individual metrics can index without re-validating: true class ids, the probability matrix in
// float64, and the predicted class of each row.

/**
 * Class probabilities, one row per example and one column per class in label order: either a flat
 * row-major typed array (what a tfjs `dataSync()` returns) or an array of rows.
 */
export type ProbabilityMatrix = Float32Array | Float64Array | readonly (readonly number[])[];

/** A classification evaluation's inputs after validation. */
export interface ClassificationInputs {
  /** Number of examples (at least 1). */
  readonly n: number;
  /** Number of classes (at least 2). */
  readonly classes: number;
  readonly yTrue: Int32Array;
  /** Row-major n x classes probabilities, widened to float64. */
  readonly probabilities: Float64Array;
  /** Index of each row's largest probability; the first such column when several tie. */
  readonly yPred: Int32Array;
}

/**
 * Validates and flattens classification inputs. `caller` names the public function in error messages.
 * Throws a RangeError for an empty set, fewer than two labels, a class id that is not an integer in
 * [0, labels.length), a matrix of the wrong shape, or a probability that is negative or not finite.
 */
export function prepareClassification(
  yTrue: readonly number[],
  probabilities: ProbabilityMatrix,
  labels: readonly string[],
  caller: string,
): ClassificationInputs {
  const n = yTrue.length;
  const classes = labels.length;
  if (n === 0) throw new RangeError(`${caller}: no examples to evaluate`);
  if (classes < 2) throw new RangeError(`${caller}: a classifier needs at least two labels, got ${classes}`);

  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const id = yTrue[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= classes) {
      throw new RangeError(`${caller}: yTrue[${i}] = ${id} is not a class index in [0, ${classes})`);
    }
    ids[i] = id;
  }

  const flat = flatten(probabilities, n, classes, caller);
  for (let i = 0; i < flat.length; i++) {
    const p = flat[i]!;
    if (!Number.isFinite(p) || p < 0) {
      const row = Math.floor(i / classes);
      throw new RangeError(`${caller}: probability at row ${row}, class ${i - row * classes} is ${p}; expected a finite value >= 0`);
    }
  }

  return { n, classes, yTrue: ids, probabilities: flat, yPred: argmaxRows(flat, n, classes) };
}

function flatten(probabilities: ProbabilityMatrix, n: number, classes: number, caller: string): Float64Array {
  if (probabilities instanceof Float32Array || probabilities instanceof Float64Array) {
    if (probabilities.length !== n * classes) {
      throw new RangeError(
        `${caller}: probabilities hold ${probabilities.length} values, expected ${n} rows x ${classes} classes = ${n * classes}`,
      );
    }
    return Float64Array.from(probabilities);
  }
  if (probabilities.length !== n) {
    throw new RangeError(`${caller}: ${probabilities.length} probability rows for ${n} labels`);
  }
  const flat = new Float64Array(n * classes);
  probabilities.forEach((row, r) => {
    if (row.length !== classes) {
      throw new RangeError(`${caller}: probability row ${r} has ${row.length} columns, expected ${classes}`);
    }
    flat.set(row, r * classes);
  });
  return flat;
}

function argmaxRows(flat: Float64Array, n: number, classes: number): Int32Array {
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const base = r * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) {
      // Strictly greater keeps the first column on ties, as numpy.argmax does.
      if (flat[base + c]! > flat[base + best]!) best = c;
    }
    out[r] = best;
  }
  return out;
}
