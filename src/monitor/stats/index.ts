// The drift statistics: pure functions on sorted samples, bin shares and category counts, checked
// against scipy/numpy in tests/unit/monitor-stats.test.ts. The rest of the monitor imports from here.
export { ksTwoSample, KS_EXACT_MAX_N } from './ks.js';
export type { KsResult } from './ks.js';
export { wassersteinDistance, normedWasserstein, MIN_WASSERSTEIN_NORM } from './wasserstein.js';
export { quantileEdges, binIndex, psi, PSI_EMPTY_FRACTION } from './psi.js';
export {
  chiSquareGoodnessOfFit,
  jensenShannonDistance,
  categoryFractions,
  EMPTY_CATEGORY_FRACTION,
} from './categorical.js';
export type { ChiSquareResult } from './categorical.js';
export {
  logGamma,
  regularizedGammaQ,
  chiSquareSurvival,
  kolmogorovSurvival,
  smirnovSurvival,
  kolmogorovSmirnovSurvival,
} from './special.js';
