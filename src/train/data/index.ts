// Data preparation for training: load, select and type columns, clean, split, fit preprocessing on the
// training split, encode with the serving encoder, augment, fingerprint.
//
// The order that keeps validation and test statistics out of training:
//   const table = await readCsv(path);                        // or readJsonl, fromExamples
//   const selection = selectColumns(table, { target, exclude, types });
//   const cleaned = cleanTable(selection, { task, fit: false }); // rows-only steps, no fitted statistics
//   const fingerprint = dataFingerprint(cleaned.rows, selection.columns);
//   const parts = splitRows(cleaned.rows, fractions, { stratifyBy: target, seed });
//   const clipper = fitClipper(parts.train, cleaned.features, outliers);   // then applyClipper on each part
//   const imputer = fitImputer(clipped.train, cleaned.features, missing);  // then applyImputer on each part
//   const { features, preprocessing } = fitPreprocessing(filled.train, cleaned.features, { scaling });
//   const x = encode(filled.train, features, preprocessing);
//   const y = encodeTarget(filled.train, target, task);      // val/test: pass y.labels
//   const augmented = augment({ x, y: y.y, width, task, classes, features }, augmentation, seed);
export { DataError } from './errors.js';
export type { DataErrorLocation } from './errors.js';
export type { RawTable, ColumnType, TypedColumn, CleanRow } from './values.js';
export { isMissing, parseNumber } from './values.js';
export { readCsv, parseCsv, DEFAULT_NA_VALUES } from './csv.js';
export type { CsvOptions } from './csv.js';
export { readJsonl, parseJsonl } from './jsonl.js';
export { fromExamples } from './examples.js';
export type { LabeledExample } from './examples.js';
export { selectColumns, inferColumnType } from './columns.js';
export type { SelectOptions, ColumnSelection } from './columns.js';
export type { Task } from './coerce.js';
export { cleanTable } from './clean.js';
export type { CleanOptions, CleanResult, CleaningReport, ColumnCleaning } from './clean.js';
export { fitImputer, applyImputer, MISSING_STRATEGIES } from './impute.js';
export type { MissingStrategy, MissingOptions, Imputer, ImputerColumn, ImputeResult } from './impute.js';
export { fitClipper, applyClipper } from './clip.js';
export type { OutlierRule, OutlierOptions, Clipper, ClipBounds } from './clip.js';
export { fitPreprocessing, encode, countUnseenCategories } from './preprocess.js';
export type { Scaling, PreprocessingOptions, FittedPreprocessing } from './preprocess.js';
export { encodeTarget } from './target.js';
export type { EncodedTarget } from './target.js';
export { augment, numericColumns } from './augment.js';
export type { AugmentInput, AugmentOptions, Augmented } from './augment.js';
export { splitRows, splitIndices } from './split.js';
export type { SplitFractions, SplitOptions, Splits } from './split.js';
export { dataFingerprint } from './fingerprint.js';
