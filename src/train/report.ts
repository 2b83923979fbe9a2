// The training report (`report.html` in a version directory): one self-contained HTML file with inline
// CSS and inline SVG charts. It references no external resource, so it renders offline, from a CI
// artifact or an air-gapped machine. Every piece of text that comes from data (feature names,
// categories, labels, file paths) is escaped.
import type { tf } from '../core/index.js';
import type { ClassificationReport, SliceMetric, WorstExample } from './eval/index.js';
import type { LineageEntry } from './lineage.js';
import { describeNetwork } from './network.js';
import type { LayerSummary } from './network.js';
import { lineChart, scatterChart } from './report-charts.js';
import type { LineSeries, PhaseBand } from './report-charts.js';
import { escapeHtml as esc, formatDelta, formatDuration, formatNumber, formatPercent } from './report-format.js';
import { REPORT_CSS } from './report-style.js';
import type { EpochRecord, MetricsReport, TrainResult, TrialRecord } from './types.js';

/** What the report reads: a training result, with or without its live model. */
export type ReportInput = Omit<TrainResult, 'model'> & {
  /** The trained model, for the network table; `network` serves when the model is not at hand. */
  model?: tf.LayersModel;
  network?: LayerSummary[];
};

/** Facts about the version that the training result itself does not know. */
export interface ReportContext {
  model?: string;
  version?: number;
  createdAt?: string;
  /** True when `model.onnx` was written beside the tfjs files. */
  onnx?: boolean;
  /** Why the ONNX export was skipped. */
  onnxError?: string;
}

const TRAIN_COLOR = '#2563eb';
const VALIDATION_COLOR = '#ea580c';
/** Most slices and trials listed; the rest are counted. */
const MAX_SLICES = 25;
const MAX_TRIALS = 60;

/**
 * Renders the report. `lineage` is the chain of ancestors, parent first (see `lineageChain`); pass an
 * empty array for a model trained from scratch.
 */
export function renderReport(result: ReportInput, lineage: readonly LineageEntry[], context: ReportContext = {}): string {
  const name = context.model ?? 'model';
  const title = context.version === undefined ? `${name}: training report` : `${name} version ${context.version}: training report`;
  const sections: [id: string, heading: string, body: string][] = [
    ['summary', 'Summary', summarySection(result, context)],
    ['data', 'Data and cleaning', dataSection(result)],
    ['training', 'Training curves', curvesSection(result)],
    ['metrics', 'Baseline and final metrics', metricsSection(result)],
  ];
  if (result.test.task === 'classification') {
    sections.push(['confusion', 'Confusion matrix (test split)', confusionSection(result.test)]);
    sections.push(['classes', 'Per-class metrics (test split)', perClassSection(result.test)]);
  }
  sections.push(
    ['slices', 'Weakest slices', slicesSection(result)],
    ['worst', 'Worst examples', worstSection(result)],
    ['search', 'Hyperparameter search', searchSection(result.trials)],
    ['hyperparameters', 'Hyperparameters and network', hyperparameterSection(result)],
    ['lineage', 'Lineage', lineageSection(result, lineage, context)],
  );

  const nav = sections.map(([id, heading]) => `<a href="#${id}">${esc(heading)}</a>`).join('');
  const body = sections.map(([id, heading, html]) => `<section id="${id}"><h2>${esc(heading)}</h2>${html}</section>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header><h1>${esc(title)}</h1><p class="sub">${esc(subtitle(result, context))}</p></header>
<nav>${nav}</nav>
${body}
<footer>Written by driftgate. This file is self-contained: it loads nothing from the network.</footer>
</main>
</body>
</html>
`;
}

function subtitle(result: ReportInput, context: ReportContext): string {
  const what = result.task === 'classification' ? `${result.labels?.length ?? 0}-class classification` : 'regression';
  const origin = result.parent ? `fine-tuned from ${result.parent.name} version ${result.parent.version}` : 'trained from scratch';
  const parts = [`${what} of "${result.cleaning.target.name}"`, origin, `trigger: ${result.trigger}`];
  if (context.createdAt) parts.push(context.createdAt);
  parts.push(`${formatDuration(result.durationMs)} on the ${result.backend} backend`);
  return parts.join(' · ');
}

// ---------------------------------------------------------------------------------------------------
// Summary

function summarySection(result: ReportInput, context: ReportContext): string {
  const [metric, pick] = headline(result.test);
  const cards: [string, string, string?][] = [
    [`test ${metric}`, formatNumber(pick(result.test)), `${result.test.n} rows`],
    [`validation ${metric}`, formatNumber(pick(result.validation)), `${result.validation.n} rows`],
  ];
  if (result.baseline) {
    const change = pick(result.validation) - pick(result.baseline);
    cards.push([`baseline ${metric}`, formatNumber(pick(result.baseline)), `change on validation ${formatDelta(change)}`]);
  }
  const epochs = result.history.length;
  cards.push(['best epoch', String(result.bestEpoch), `of ${epochs} epoch${epochs === 1 ? '' : 's'} run`]);
  cards.push(['training rows', String(result.rows.train), result.rows.augmented > 0 ? `+${result.rows.augmented} augmented` : 'no augmentation']);
  if (result.trials.length > 0) cards.push(['search trials', String(result.trials.length), 'see the trial table']);

  const html = cards
    .map(([label, value, note]) => `<div class="card"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div>${note ? `<div class="note">${esc(note)}</div>` : ''}</div>`)
    .join('');
  const files = ['model.json + weights.bin (served, tfjs layers)'];
  if (context.onnx) files.push('model.onnx (ONNX copy, checked against tfjs)');
  const notes: string[] = [`<p>Files: ${esc(files.join('; '))}.</p>`];
  if (context.onnxError) notes.push(`<p class="warn">ONNX export skipped: ${esc(context.onnxError)}</p>`);
  return `<div class="cards">${html}</div>${notes.join('')}`;
}

/** The metric a report leads with: accuracy for classifiers, RMSE for regressors. */
function headline(report: MetricsReport): [string, (r: MetricsReport) => number] {
  if (report.task === 'classification') return ['accuracy', (r) => (r.task === 'classification' ? r.accuracy : Number.NaN)];
  return ['RMSE', (r) => (r.task === 'regression' ? r.rmse : Number.NaN)];
}

// ---------------------------------------------------------------------------------------------------
// Data

function dataSection(result: ReportInput): string {
  const c = result.cleaning;
  const dropped = c.dropped;
  const flow = table(
    ['step', 'rows'],
    [
      ['rows read', String(c.rowsIn)],
      ['dropped: missing target', String(dropped.missingTarget)],
      ['dropped: invalid target', String(dropped.invalidTarget)],
      ['dropped: duplicate rows', String(dropped.duplicate)],
      ['dropped: missing value in a drop column', String(dropped.missingValue)],
      ['rows after cleaning', String(c.rowsOut)],
    ],
    ['left', 'num'],
  );
  const split = table(
    ['split', 'rows'],
    [
      ['train', String(result.rows.train)],
      ['validation', String(result.rows.validation)],
      ['test', String(result.rows.test)],
      ['augmented (added to train)', String(result.rows.augmented)],
    ],
    ['left', 'num'],
  );
  const columns = Object.entries(c.columns).map(([name, col]) => [
    esc(name),
    esc(col.type),
    String(col.coerced),
    String(col.invalid),
    String(col.missing),
    esc(col.strategy),
    String(col.filled),
    col.fillValue === undefined ? '–' : esc(typeof col.fillValue === 'number' ? formatNumber(col.fillValue) : col.fillValue),
    String(col.clipped),
    col.bounds ? `${esc(formatNumber(col.bounds.lower))} … ${esc(formatNumber(col.bounds.upper))}` : '–',
  ]);
  const columnTable = table(
    ['column', 'type', 'coerced', 'invalid', 'missing', 'strategy', 'filled', 'fill value', 'clipped', 'clip bounds'],
    columns,
    ['left', 'left', 'num', 'num', 'num', 'left', 'num', 'left', 'num', 'left'],
    { raw: true },
  );
  const parts = [
    `<div class="two">${flow}${split}</div>`,
    `<p>Target <code>${esc(c.target.name)}</code>${c.target.coerced ? ` (${c.target.coerced} values coerced)` : ''}. Data fingerprint <code>${esc(shortFingerprint(result.dataFingerprint))}</code>.</p>`,
  ];
  if (c.target.classes) parts.push(classBars(c.target.classes));
  parts.push(`<h3>Columns</h3>${columnTable}`);
  return parts.join('');
}

function classBars(classes: Record<string, number>): string {
  const max = Math.max(1, ...Object.values(classes));
  const rows = Object.entries(classes).map(
    ([label, n]) => `<tr><td>${esc(label)}</td><td class="num">${n}</td><td class="barcell"><span class="bar" style="width:${((n / max) * 100).toFixed(1)}%"></span></td></tr>`,
  );
  return `<h3>Class balance after cleaning</h3><table class="compact"><thead><tr><th>class</th><th class="num">rows</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

// ---------------------------------------------------------------------------------------------------
// Curves

function curvesSection(result: ReportInput): string {
  const history = result.history;
  if (history.length === 0) return '<p>No epochs were recorded.</p>';
  const xLabels = history.map((h) => String(h.epoch));
  const bands = phaseBands(history);
  const best = bestIndex(history, result.bestEpoch);
  const marker = best === undefined ? undefined : { at: best, label: `best (${result.bestEpoch})` };
  const common = { xLabels, xTitle: 'epoch', ...(bands.length > 0 ? { bands } : {}), ...(marker ? { marker } : {}) };
  const charts = [
    lineChart({
      ...common,
      title: 'loss',
      series: [
        { name: 'train', values: history.map((h) => h.loss), color: TRAIN_COLOR },
        { name: 'validation', values: history.map((h) => h.valLoss), color: VALIDATION_COLOR },
      ],
    }),
  ];
  for (const pair of metricPairs(history)) {
    const series: LineSeries[] = [];
    if (pair.train) series.push({ name: 'train', values: history.map((h) => h.metrics[pair.train!]), color: TRAIN_COLOR });
    if (pair.validation) series.push({ name: 'validation', values: history.map((h) => h.metrics[pair.validation!]), color: VALIDATION_COLOR });
    charts.push(lineChart({ ...common, title: pair.name, series }));
  }
  const phases = [...new Set(history.map((h) => h.phase))];
  const note =
    phases.length > 1 || phases[0] !== 'train'
      ? `<p>Shaded bands mark the training phases (${phases.map((p) => esc(p)).join(', ')}).</p>`
      : '';
  return `<div class="charts">${charts.join('')}</div>${note}`;
}

/** Consecutive epochs of the same phase; none when the whole run is one plain training phase. */
function phaseBands(history: readonly EpochRecord[]): PhaseBand[] {
  const bands: PhaseBand[] = [];
  history.forEach((h, i) => {
    const last = bands[bands.length - 1];
    if (last && last.label === h.phase) last.to = i;
    else bands.push({ from: i, to: i, label: h.phase });
  });
  return bands.length === 1 && bands[0]!.label === 'train' ? [] : bands;
}

/**
 * Position in the history of the best epoch: the last record whose `epoch` is `bestEpoch`, since the
 * weights kept are those of the final phase.
 */
function bestIndex(history: readonly EpochRecord[], bestEpoch: number): number | undefined {
  for (let i = history.length - 1; i >= 0; i--) if (history[i]!.epoch === bestEpoch) return i;
  return undefined;
}

/** Metric names paired train/validation: `accuracy` with `val_accuracy`. */
function metricPairs(history: readonly EpochRecord[]): { name: string; train?: string; validation?: string }[] {
  const names = new Set(history.flatMap((h) => Object.keys(h.metrics)));
  const pairs = new Map<string, { name: string; train?: string; validation?: string }>();
  for (const key of names) {
    const isValidation = key.startsWith('val_');
    const base = isValidation ? key.slice(4) : key;
    if (base === 'loss') continue;
    const pair = pairs.get(base) ?? { name: base };
    if (isValidation) pair.validation = key;
    else pair.train = key;
    pairs.set(base, pair);
  }
  return [...pairs.values()];
}

// ---------------------------------------------------------------------------------------------------
// Metrics

function metricsSection(result: ReportInput): string {
  const rows = metricRows(result.test.task);
  const get = (report: MetricsReport | undefined, key: string): number | null | undefined =>
    report === undefined ? undefined : (metricValue(report, key) ?? null);
  const body = rows.map(({ key, label, lowerIsBetter }) => {
    const base = get(result.baseline, key);
    const val = get(result.validation, key);
    const test = get(result.test, key);
    let change = '–';
    let cls = '';
    if (typeof base === 'number' && typeof val === 'number') {
      const d = val - base;
      change = formatDelta(d);
      const better = lowerIsBetter ? d < 0 : d > 0;
      cls = d === 0 ? '' : better ? 'good' : 'bad';
    }
    return [esc(label), esc(formatNumber(base)), esc(formatNumber(val)), esc(formatNumber(test)), `<span class="${cls}">${esc(change)}</span>`];
  });
  const baselineNote = result.baseline
    ? result.parent
      ? 'Baseline: the base model on the validation split, before any training.'
      : 'Baseline: the freshly initialised network on the validation split, before training.'
    : 'No baseline was evaluated for this run.';
  return `${table(['metric', 'baseline (validation)', 'final (validation)', 'final (test)', 'change on validation'], body, ['left', 'num', 'num', 'num', 'num'], { raw: true })}<p>${esc(baselineNote)}</p>`;
}

function metricRows(task: 'classification' | 'regression'): { key: string; label: string; lowerIsBetter: boolean }[] {
  if (task === 'regression') {
    return [
      { key: 'rmse', label: 'RMSE', lowerIsBetter: true },
      { key: 'mae', label: 'MAE', lowerIsBetter: true },
      { key: 'mse', label: 'MSE', lowerIsBetter: true },
      { key: 'r2', label: 'R²', lowerIsBetter: false },
    ];
  }
  return [
    { key: 'accuracy', label: 'accuracy', lowerIsBetter: false },
    { key: 'macroF1', label: 'macro F1', lowerIsBetter: false },
    { key: 'weightedF1', label: 'weighted F1', lowerIsBetter: false },
    { key: 'rocAuc', label: 'ROC-AUC', lowerIsBetter: false },
    { key: 'logLoss', label: 'log loss', lowerIsBetter: true },
  ];
}

function metricValue(report: MetricsReport, key: string): number | undefined {
  if (report.task === 'regression') {
    const value = (report as unknown as Record<string, unknown>)[key];
    return typeof value === 'number' ? value : undefined;
  }
  switch (key) {
    case 'accuracy':
      return report.accuracy;
    case 'macroF1':
      return report.macro.f1;
    case 'weightedF1':
      return report.weighted.f1;
    case 'rocAuc':
      return report.rocAuc ?? undefined;
    case 'logLoss':
      return report.logLoss;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Classification details

function confusionSection(report: ClassificationReport): string {
  const labels = report.labels;
  const head = `<tr><th class="corner">true \\ predicted</th>${labels.map((l) => `<th>${esc(l)}</th>`).join('')}</tr>`;
  const rows = report.confusionMatrix.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    const cells = row.map((count, p) => {
      const share = total === 0 ? 0 : count / total;
      const [bg, fg] = heatColor(share, t === p);
      return `<td class="heat" style="background:${bg};color:${fg}" title="${esc(`${formatPercent(share)} of true ${labels[t]}`)}">${count}<small>${esc(formatPercent(share))}</small></td>`;
    });
    return `<tr><th>${esc(labels[t])}</th>${cells.join('')}</tr>`;
  });
  return `<table class="confusion"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table><p>Each cell: rows of the true class (row) predicted as the column's class, and their share of the row. Blue: correct; red: errors.</p>`;
}

/** Background and text colour of a confusion cell: blue on the diagonal, red off it, by row share. */
function heatColor(share: number, diagonal: boolean): [string, string] {
  const alpha = share === 0 ? 0 : 0.08 + 0.85 * share;
  const rgb = diagonal ? '37,99,235' : '220,38,38';
  return [`rgba(${rgb},${alpha.toFixed(3)})`, alpha > 0.55 ? '#ffffff' : '#111827'];
}

function perClassSection(report: ClassificationReport): string {
  const scoreCells = (s: { precision: number; recall: number; f1: number }): string[] => [
    esc(formatNumber(s.precision)),
    esc(formatNumber(s.recall)),
    `${esc(formatNumber(s.f1))}<span class="bar inline" style="width:${(Math.max(0, s.f1) * 60).toFixed(1)}px"></span>`,
  ];
  const rows = [
    ...report.perClass.map((c) => [esc(c.label), ...scoreCells(c), String(c.support)]),
    ['<em>macro avg</em>', ...scoreCells(report.macro), String(report.n)],
    ['<em>weighted avg</em>', ...scoreCells(report.weighted), String(report.n)],
  ];
  const auc = report.rocAuc === null ? 'n/a (one class only)' : formatNumber(report.rocAuc);
  return `${table(['class', 'precision', 'recall', 'F1', 'support'], rows, ['left', 'num', 'num', 'left', 'num'], { raw: true })}<p>ROC-AUC ${esc(auc)} · log loss ${esc(formatNumber(report.logLoss))}</p>`;
}

// ---------------------------------------------------------------------------------------------------
// Error analysis

function slicesSection(result: ReportInput): string {
  const analysis = result.errorAnalysis;
  const metric = analysis.sliceMetric === 'accuracy' ? 'accuracy' : 'MAE';
  const shown = analysis.slices.slice(0, MAX_SLICES);
  if (shown.length === 0) return `<p>No slice has ${analysis.minSliceSize} or more rows.</p>`;
  const worstDelta = Math.max(1e-12, ...shown.map((s) => Math.abs(s.delta)));
  const rows = shown.map((s: SliceMetric) => {
    const worse = analysis.sliceMetric === 'accuracy' ? s.delta < 0 : s.delta > 0;
    const width = ((Math.abs(s.delta) / worstDelta) * 80).toFixed(1);
    return [
      esc(s.label),
      esc(s.kind),
      String(s.n),
      esc(formatNumber(s.metric)),
      `<span class="${worse ? 'bad' : 'good'}">${esc(formatDelta(s.delta))}</span><span class="bar inline ${worse ? 'badbar' : 'goodbar'}" style="width:${width}px"></span>`,
    ];
  });
  const notes: string[] = [`${metric} over all ${analysis.n} rows: ${formatNumber(analysis.overall)}`];
  if (analysis.slices.length > shown.length) notes.push(`${analysis.slices.length - shown.length} more slices not shown`);
  if (analysis.skippedSlices > 0) notes.push(`${analysis.skippedSlices} slices with fewer than ${analysis.minSliceSize} rows left out`);
  return `<p>Slices of the evaluated rows (numeric features in quantile bins, categorical features by value), weakest first. ${esc(notes.join('; '))}.</p>${table(['slice', 'kind', 'rows', metric, 'difference to overall'], rows, ['left', 'left', 'num', 'num', 'left'], { raw: true })}`;
}

function worstSection(result: ReportInput): string {
  const analysis = result.errorAnalysis;
  const parts: string[] = [];
  if (analysis.confusedPairs.length > 0) {
    parts.push(
      '<h3>Most confused pairs</h3>',
      table(
        ['true', 'predicted', 'count', 'share of errors'],
        analysis.confusedPairs.map((p) => [esc(p.trueLabel), esc(p.predictedLabel), String(p.count), esc(formatPercent(p.share))]),
        ['left', 'left', 'num', 'num'],
        { raw: true },
      ),
    );
  }
  if (analysis.worst.length === 0) {
    parts.push('<p>No examples were analysed.</p>');
    return parts.join('');
  }
  const lossName = analysis.task === 'classification' ? 'log loss' : 'absolute error';
  const rows = analysis.worst.map((w: WorstExample) => [
    String(w.index),
    esc(showValue(w.actual)),
    esc(showValue(w.predicted)),
    esc(formatNumber(w.loss)),
    Object.entries(w.features)
      .map(([k, v]) => `<span class="kv"><b>${esc(k)}</b>=${esc(v === null ? '?' : showValue(v))}</span>`)
      .join(' '),
  ]);
  parts.push(`<h3>Highest ${esc(lossName)}</h3>`, table(['row', 'actual', 'predicted', lossName, 'features'], rows, ['num', 'left', 'left', 'num', 'left'], { raw: true }));
  return parts.join('');
}

function showValue(v: string | number): string {
  return typeof v === 'number' ? formatNumber(v) : v;
}

// ---------------------------------------------------------------------------------------------------
// Search

function searchSection(trials: readonly TrialRecord[]): string {
  if (trials.length === 0) return '<p>No hyperparameter search was run: the hyperparameters below were used as given.</p>';
  const sorted = [...trials].sort((a, b) => b.finalScore - a.finalScore || a.id - b.id);
  const topRung = Math.max(...trials.map((t) => t.stoppedAtRung));
  const shown = sorted.slice(0, MAX_TRIALS);
  const rows = shown.map((t, i) => {
    const hp = t.hyperparameters;
    const hidden = hp.network?.hidden?.map((h) => h.units).join('-') ?? '–';
    const rungs = t.rungs.map((g) => `${g.epochs}:${formatNumber(g.score)}`).join(' → ');
    return [
      `${i === 0 ? '★ ' : ''}${t.id}`,
      esc(formatNumber(hp.learningRate)),
      String(hp.batchSize),
      esc(hp.optimizer),
      esc(hidden),
      esc(formatNumber(hp.dropout ?? 0)),
      esc(formatNumber(hp.l2 ?? 0)),
      esc(rungs),
      `<b>${esc(formatNumber(t.finalScore))}</b>`,
      String(t.stoppedAtRung),
      esc(formatDuration(t.durationMs)),
    ];
  });
  const points = trials.map((t) => ({
    x: t.hyperparameters.learningRate,
    y: t.finalScore,
    color: t.stoppedAtRung === topRung ? '#16a34a' : '#94a3b8',
    title: `trial ${t.id}: lr ${formatNumber(t.hyperparameters.learningRate)}, score ${formatNumber(t.finalScore)}`,
  }));
  const chart = scatterChart({
    title: 'validation score by learning rate',
    points,
    xTitle: 'learning rate (log scale)',
    yTitle: 'score',
    logX: true,
    legend: [
      { name: 'reached the last rung', color: '#16a34a' },
      { name: 'stopped early', color: '#94a3b8' },
    ],
  });
  const more = trials.length > shown.length ? `<p>${trials.length - shown.length} more trials not listed.</p>` : '';
  return `<p>${trials.length} trials, random search with successive halving; best first (★). Rungs: epochs:score at each budget.</p><div class="charts">${chart}</div>${table(
    ['trial', 'learning rate', 'batch', 'optimizer', 'hidden', 'dropout', 'L2', 'rungs', 'score', 'rung', 'time'],
    rows,
    ['num', 'num', 'num', 'left', 'left', 'num', 'num', 'left', 'num', 'num', 'num'],
    { raw: true },
  )}${more}`;
}

// ---------------------------------------------------------------------------------------------------
// Hyperparameters and lineage

function hyperparameterSection(result: ReportInput): string {
  const flat = flatten(result.hyperparameters as unknown as Record<string, unknown>);
  flat.push(['seed', String(result.seed)]);
  const hp = table(['hyperparameter', 'value'], flat.map(([k, v]) => [esc(k), esc(v)]), ['left', 'left'], { raw: true });
  const layers = result.network ?? (result.model ? describeNetwork(result.model) : []);
  if (layers.length === 0) return hp;
  const net = table(
    ['layer', 'kind', 'units', 'activation', 'trainable', 'parameters'],
    layers.map((l) => [esc(l.name), esc(l.className), l.units === undefined ? '–' : String(l.units), esc(l.activation ?? '–'), l.trainable ? 'yes' : 'frozen', String(l.params)]),
    ['left', 'left', 'num', 'left', 'left', 'num'],
    { raw: true },
  );
  return `<div class="two">${hp}<div><h3>Network</h3>${net}</div></div>`;
}

/** Nested settings as dotted keys: `network.hidden.0.units`. */
function flatten(value: Record<string, unknown>, prefix = ''): [string, string][] {
  const out: [string, string][] = [];
  for (const [key, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (v === undefined) continue;
    if (typeof v === 'object' && v !== null) out.push(...flatten(v as Record<string, unknown>, name));
    else out.push([name, typeof v === 'number' ? formatNumber(v) : String(v)]);
  }
  return out;
}

function lineageSection(result: ReportInput, chain: readonly LineageEntry[], context: ReportContext): string {
  const self = `<li class="self"><b>${esc(context.model ?? 'this model')}${context.version === undefined ? '' : ` version ${context.version}`}</b> (this report) · ${esc(
    result.trigger,
  )} · data <code>${esc(shortFingerprint(result.dataFingerprint))}</code></li>`;
  if (chain.length === 0) {
    return `<ol class="lineage">${self}</ol><p>${result.parent ? 'The parent version could not be read.' : 'Trained from scratch: no parent version.'}</p>`;
  }
  const items = chain.map((e) => {
    if (!e.found) return `<li class="missing"><b>${esc(e.model)} version ${e.version}</b> · ${esc(e.note ?? 'not found')}</li>`;
    const facts = [e.trigger, e.createdAt, e.headline, e.rows === undefined ? undefined : `${e.rows} training rows`].filter((x): x is string => Boolean(x));
    const data = e.dataFingerprint ? ` · data <code>${esc(shortFingerprint(e.dataFingerprint))}</code>` : '';
    return `<li><b>${esc(e.model)} version ${e.version}</b> · ${esc(facts.join(' · '))}${data}</li>`;
  });
  return `<ol class="lineage">${self}${items.join('')}</ol><p>Each version was trained starting from the weights of the one below it.</p>`;
}

function shortFingerprint(fingerprint: string): string {
  const hex = fingerprint.replace(/^sha256:/, '');
  return hex.length > 16 ? `${hex.slice(0, 16)}…` : hex;
}

// ---------------------------------------------------------------------------------------------------

type Align = 'left' | 'num';

/** A table; cells are escaped unless `raw` (then the caller escaped them). */
function table(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[], opts: { raw?: boolean } = {}): string {
  const cls = (i: number): string => (align[i] === 'num' ? ' class="num"' : '');
  const head = headers.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell, i) => `<td${cls(i)}>${opts.raw ? cell : esc(cell)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

