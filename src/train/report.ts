// The training report (`report.html` in a version directory): one self-contained HTML file with inline
// CSS and inline SVG charts. It references no external resource, so it renders offline, from a CI
// artifact or an air-gapped machine. Every piece of text that comes from data (feature names,
// categories, labels, file paths) is escaped.
import type { tf } from '../core/tfjs.js';
import type { LineageEntry } from './lineage.js';
import { describeNetwork } from './network.js';
import type { LayerSummary } from './network.js';
import { confusionSection, perClassSection, searchSection, slicesSection, worstSection } from './report-analysis.js';
import { lineChart } from './report-charts.js';
import type { LineSeries, PhaseBand } from './report-charts.js';
import { escapeHtml as esc, formatDelta, formatDuration, formatNumber, table } from './report-format.js';
import { REPORT_CSS } from './report-style.js';
import type { EpochRecord, MetricsReport, TrainOptions, TrainResult } from './types.js';
import { describeRecipe } from './version-manifest.js';
import type { Task } from '../core/index.js';

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
  /** The options the run was started with: shown as the run's settings (fine-tuning recipe included). */
  recipe?: TrainOptions;
}

const TRAIN_COLOR = '#2563eb';
const VALIDATION_COLOR = '#ea580c';

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
    ['slices', 'Weakest slices', slicesSection(result.errorAnalysis)],
    ['worst', 'Worst examples', worstSection(result.errorAnalysis)],
    ['search', 'Hyperparameter search', searchSection(result.trials, context.recipe)],
    ['hyperparameters', 'Hyperparameters and network', hyperparameterSection(result, context.recipe)],
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

function metricRows(task: Task): { key: string; label: string; lowerIsBetter: boolean }[] {
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
    const value: unknown = Reflect.get(report, key);
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
// Hyperparameters and lineage

function hyperparameterSection(result: ReportInput, recipe: TrainOptions | undefined): string {
  const flat = flatten(result.hyperparameters);
  flat.push(['seed', String(result.seed)]);
  const hp = table(['hyperparameter', 'value'], flat.map(([k, v]) => [esc(k), esc(v)]), ['left', 'left'], { raw: true });
  const layers = result.network ?? (result.model ? describeNetwork(result.model) : []);
  // The saved model has every layer trainable again: freezing belongs to a run (see the settings).
  const net =
    layers.length === 0
      ? ''
      : `<div><h3>Network</h3>${table(
          ['layer', 'kind', 'units', 'activation', 'parameters'],
          layers.map((l) => [esc(l.name), esc(l.className), l.units === undefined ? '–' : String(l.units), esc(l.activation ?? '–'), String(l.params)]),
          ['left', 'left', 'num', 'left', 'num'],
          { raw: true },
        )}</div>`;
  const settings = recipe
    ? `<h3>Run settings</h3>${table(
        ['setting', 'value'],
        flatten(describeRecipe(recipe)).map(([k, v]) => [esc(k), esc(v)]),
        ['left', 'left'],
        { raw: true },
      )}<p>Freezing and the two-phase recipe (<code>base.*</code>) applied while this run trained; every layer of the saved model is trainable again.</p>`
    : '';
  return `<div class="two">${hp}${net}</div>${settings}`;
}

/** Nested settings as dotted keys: `network.hidden.0.units`. */
function flatten(value: object, prefix = ''): [string, string][] {
  const out: [string, string][] = [];
  for (const [key, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (v === undefined) continue;
    if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) out.push([name, v.join(', ')]);
    else if (typeof v === 'object' && v !== null) out.push(...flatten(v, name));
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

