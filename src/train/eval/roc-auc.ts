// Area under the ROC curve. The binary AUC is computed from ranks (the Mann-Whitney statistic): the
// probability that a random positive scores above a random negative, a tie counting one half. That is
// exactly the area under the ROC curve drawn with the trapezoid rule through tied scores, which is how
// scikit-learn's roc_auc_score handles ties, in O(n log n) and without building the curve.

/**
 * Binary ROC-AUC of `scores` for the examples where `isPositive` is true. Returns null when either
 * class is absent, since the area is then undefined. Throws a RangeError for a score that is not finite.
 */
export function binaryRocAuc(isPositive: ArrayLike<boolean>, scores: ArrayLike<number>): number | null {
  const n = scores.length;
  if (isPositive.length !== n) {
    throw new RangeError(`binaryRocAuc: ${isPositive.length} flags but ${n} scores`);
  }
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`binaryRocAuc: score ${i} is ${scores[i]}`);
    if (isPositive[i]) positives++;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;

  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  // Walk runs of equal scores; every member of a run gets the run's average 1-based rank.
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const averageRank = (start + 1 + end) / 2;
    for (let j = start; j < end; j++) if (isPositive[order[j]!]) positiveRankSum += averageRank;
    start = end;
  }
  const positivePairsWon = positiveRankSum - (positives * (positives + 1)) / 2;
  return positivePairsWon / (positives * negatives);
}

/**
 * ROC-AUC of a classifier's probabilities (row-major, `classes` columns).
 *
 * Two classes: the binary AUC of column 1, the positive class. More classes: one-vs-rest, each class
 * present in `yTrue` scored by its own column against all other examples, then the unweighted mean.
 * Classes absent from `yTrue` are left out of the mean because their AUC is undefined (scikit-learn
 * raises an error instead). Null when `yTrue` holds fewer than two distinct classes.
 */
export function rocAuc(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>, classes: number): number | null {
  const n = yTrue.length;
  if (probabilities.length !== n * classes) {
    throw new RangeError(`rocAuc: ${probabilities.length} probabilities for ${n} rows x ${classes} classes`);
  }
  const column = (c: number): Float64Array => {
    const out = new Float64Array(n);
    for (let r = 0; r < n; r++) out[r] = probabilities[r * classes + c]!;
    return out;
  };
  const isClass = (c: number): boolean[] => Array.from({ length: n }, (_, r) => yTrue[r] === c);

  if (classes === 2) return binaryRocAuc(isClass(1), column(1));

  const areas: number[] = [];
  for (let c = 0; c < classes; c++) {
    const area = binaryRocAuc(isClass(c), column(c));
    // null here means the class is absent (or is the only class present): skip it.
    if (area !== null) areas.push(area);
  }
  if (areas.length === 0) return null;
  return areas.reduce((a, b) => a + b, 0) / areas.length;
}
