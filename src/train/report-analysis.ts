// The analysis sections of the training report: confusion matrix, per-class metrics, weakest slices,
// worst examples and the search trials. Each returns an HTML fragment with all data-derived text escaped.
import type { ClassificationReport, ErrorAnalysis, SliceMetric, WorstExample } from './eval/index.js';
import { scatterChart } from './report-charts.js';
import { escapeHtml as esc, formatDelta, formatDuration, formatNumber, formatPercent, table } from './report-format.js';
import type { TrainOptions, TrialRecord } from './types.js';

/** Most slices and trials listed; the rest are counted. */
const MAX_SLICES = 25;
const MAX_TRIALS = 60;

export function confusionSection(report: ClassificationReport): string {
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

export function perClassSection(report: ClassificationReport): string {
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

export function slicesSection(analysis: ErrorAnalysis): string {
  const metric = analysis.sliceMetric === 'accuracy' ? 'accuracy' : 'MAE';
  const shown = analysis.slices.slice(0, MAX_SLICES);
  if (shown.length === 0) return `<p>No slice has ${analysis.minSliceSize} or more rows.</p>`;
  const worstDelta = Math.max(1e-12, ...shown.map((s) => Math.abs(s.delta)));
  const rows = shown.map((s: SliceMetric) => {
    const worse = analysis.sliceMetric === 'accuracy' ? s.delta < 0 : s.delta > 0;
    const tone = s.delta === 0 ? '' : worse ? 'bad' : 'good';
    const width = ((Math.abs(s.delta) / worstDelta) * 80).toFixed(1);
    const barHtml = s.delta === 0 ? '' : `<span class="bar inline ${worse ? 'badbar' : 'goodbar'}" style="width:${width}px"></span>`;
    return [esc(s.label), esc(s.kind), String(s.n), esc(formatNumber(s.metric)), `<span class="${tone}">${esc(formatDelta(s.delta))}</span>${barHtml}`];
  });
  const notes: string[] = [`${metric} over all ${analysis.n} rows: ${formatNumber(analysis.overall)}`];
  if (analysis.slices.length > shown.length) notes.push(`${analysis.slices.length - shown.length} more slices not shown`);
  if (analysis.skippedSlices > 0) notes.push(`${analysis.skippedSlices} slices with fewer than ${analysis.minSliceSize} rows left out`);
  return `<p>Slices of the evaluated rows (numeric features in quantile bins, categorical features by value), weakest first. ${esc(notes.join('; '))}.</p>${table(['slice', 'kind', 'rows', metric, 'difference to overall'], rows, ['left', 'left', 'num', 'num', 'left'], { raw: true })}`;
}

export function worstSection(analysis: ErrorAnalysis): string {
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

export function searchSection(trials: readonly TrialRecord[], recipe: TrainOptions | undefined): string {
  if (trials.length === 0) return '<p>No hyperparameter search was run: the hyperparameters below were used as given.</p>';
  const monitor = (recipe?.earlyStopping ? recipe.earlyStopping.monitor : undefined) ?? 'val_loss';
  const negated = /loss|mae|mse|error/.test(monitor);
  const scoreNote = `Score: ${monitor} at the trial's best epoch${negated ? ', negated so that higher is better' : ''}.`;
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
  return `<p>${trials.length} trials, random search with successive halving; best first (★). Rungs: epochs:score at each budget. ${esc(scoreNote)}</p><div class="charts">${chart}</div>${table(
    ['trial', 'learning rate', 'batch', 'optimizer', 'hidden', 'dropout', 'L2', 'rungs', 'score', 'rung', 'time'],
    rows,
    ['num', 'num', 'num', 'left', 'left', 'num', 'num', 'left', 'num', 'num', 'num'],
    { raw: true },
  )}${more}`;
}
