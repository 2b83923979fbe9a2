// Text renderings of metric reports and error analyses for the CLI (`driftgate evaluate`): compact,
// aligned, plain ASCII so they survive logs and CI output.
import type { ClassificationReport } from './classification.js';
import type { ErrorAnalysis, WorstExample } from './error-analysis.js';
import type { RegressionReport } from './regression.js';
import { formatNumber, formatPercent, renderKeyValues, renderTable } from './text-table.js';

export type MetricsReport = ClassificationReport | RegressionReport;

/** Headline metrics, then (classification) the per-class table and the confusion matrix. */
export function formatMetrics(report: MetricsReport): string {
  if (report.task === 'regression') {
    return [
      `regression, n = ${report.n}`,
      renderKeyValues([
        ['mse', formatNumber(report.mse)],
        ['rmse', formatNumber(report.rmse)],
        ['mae', formatNumber(report.mae)],
        ['r2', formatNumber(report.r2)],
      ]),
    ].join('\n');
  }

  const headline = renderKeyValues([
    ['accuracy', formatNumber(report.accuracy)],
    ['log loss', formatNumber(report.logLoss)],
    ['ROC-AUC', describeAuc(report)],
  ]);

  const scoreRow = (name: string, s: { precision: number; recall: number; f1: number }, support: number): string[] => [
    name,
    formatNumber(s.precision),
    formatNumber(s.recall),
    formatNumber(s.f1),
    String(support),
  ];
  const perClass = renderTable(
    ['class', 'precision', 'recall', 'f1', 'support'],
    [
      ...report.perClass.map((c) => scoreRow(c.label, c, c.support)),
      scoreRow('macro avg', report.macro, report.n),
      scoreRow('weighted avg', report.weighted, report.n),
    ],
    ['left', 'right', 'right', 'right', 'right'],
  );

  const confusion = renderTable(
    ['true \\ predicted', ...report.labels],
    report.confusionMatrix.map((row, t) => [report.labels[t]!, ...row.map(String)]),
    ['left', ...report.labels.map(() => 'right' as const)],
  );

  return [
    `classification, n = ${report.n}`,
    headline,
    '',
    perClass,
    '',
    'confusion matrix (rows: true class, columns: predicted class)',
    confusion,
  ].join('\n');
}

function describeAuc(report: ClassificationReport): string {
  if (report.rocAuc === null) return 'n/a (only one class occurs in the data)';
  if (report.labels.length === 2) return `${formatNumber(report.rocAuc)}  (positive class: ${report.labels[1]})`;
  const present = report.perClass.filter((c) => c.support > 0).length;
  return `${formatNumber(report.rocAuc)}  (one-vs-rest, macro over the ${present} classes present)`;
}

export interface FormatErrorAnalysisOptions {
  /** Most slices listed; the rest are counted. @defaultValue 15 */
  readonly maxSlices?: number;
  /** Longest `features` cell in the worst-examples table, in characters. @defaultValue 60 */
  readonly featureWidth?: number;
}

/** Confused pairs (classification), worst examples and the weakest slices, as three tables. */
export function formatErrorAnalysis(analysis: ErrorAnalysis, opts: FormatErrorAnalysisOptions = {}): string {
  const maxSlices = opts.maxSlices ?? 15;
  const featureWidth = opts.featureWidth ?? 60;
  const sections: string[] = [];
  const classification = analysis.task === 'classification';

  if (classification) {
    const errors = Math.round(analysis.n * (1 - analysis.overall));
    sections.push(
      analysis.confusedPairs.length === 0
        ? `no misclassified rows among ${analysis.n}`
        : [
            `most confused pairs (true -> predicted), ${errors} errors in ${analysis.n} rows`,
            renderTable(
              ['true', 'predicted', 'count', 'share'],
              analysis.confusedPairs.map((p) => [p.trueLabel, p.predictedLabel, String(p.count), formatPercent(p.share)]),
              ['left', 'left', 'right', 'right'],
            ),
          ].join('\n'),
    );
  }

  if (analysis.worst.length > 0) {
    sections.push(
      [
        `worst ${analysis.worst.length} examples by ${classification ? 'log loss' : 'absolute error'}`,
        renderTable(
          ['row', 'actual', 'predicted', 'loss', 'features'],
          analysis.worst.map((w) => [
            String(w.index),
            formatValue(w.actual),
            formatValue(w.predicted),
            formatNumber(w.loss),
            truncate(describeFeatures(w), featureWidth),
          ]),
          ['right', 'left', 'left', 'right', 'left'],
        ),
      ].join('\n'),
    );
  }

  const metricName = analysis.sliceMetric === 'accuracy' ? 'accuracy' : 'MAE';
  const shown = analysis.slices.slice(0, maxSlices);
  const notes = [
    analysis.slices.length > shown.length ? `${analysis.slices.length - shown.length} more not shown` : '',
    analysis.skippedSlices > 0 ? `${analysis.skippedSlices} with fewer than ${analysis.minSliceSize} rows skipped` : '',
  ].filter(Boolean);
  const title = `weakest slices by ${metricName} (overall ${formatNumber(analysis.overall)})` + (notes.length ? `; ${notes.join(', ')}` : '');
  sections.push(
    shown.length === 0
      ? `${title}\nno slice has ${analysis.minSliceSize} or more rows`
      : [
          title,
          renderTable(
            ['slice', 'n', metricName, 'delta'],
            shown.map((s) => [s.label, String(s.n), formatNumber(s.metric), signed(s.delta)]),
            ['left', 'right', 'right', 'right'],
          ),
        ].join('\n'),
  );

  return sections.join('\n\n');
}

function describeFeatures(w: WorstExample): string {
  return Object.entries(w.features)
    .map(([name, value]) => `${name}=${value === null ? '?' : String(value)}`)
    .join(', ');
}

function formatValue(value: string | number): string {
  return typeof value === 'number' ? String(Number(value.toPrecision(6))) : value;
}

function signed(x: number): string {
  return x > 0 ? `+${formatNumber(x)}` : formatNumber(x);
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 3))}...`;
}
