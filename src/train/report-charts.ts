// Inline SVG charts for the training report: a line chart (per-epoch curves, with training phases
// shaded and the best epoch marked) and a scatter plot (search trials). Plain strings, no library and
// no external resources, so a report renders in any browser with the network off.
import { escapeHtml, formatNumber } from './report-format.js';

export interface LineSeries {
  name: string;
  /** One value per x position; undefined or non-finite values leave a gap. */
  values: readonly (number | undefined)[];
  color: string;
  dashed?: boolean;
}

/** A run of x positions [from, to] (inclusive, 0-based) that belong to one training phase. */
export interface PhaseBand {
  from: number;
  to: number;
  label: string;
}

export interface LineChartOptions {
  title: string;
  series: readonly LineSeries[];
  /** Labels of the x positions (epoch numbers); also the number of positions. */
  xLabels: readonly string[];
  xTitle?: string;
  bands?: readonly PhaseBand[];
  /** A vertical marker, e.g. the best epoch. */
  marker?: { at: number; label: string };
  width?: number;
  height?: number;
}

const MARGIN = { top: 42, right: 16, bottom: 44, left: 58 };
/** Baseline of the legend row, between the title and the plot. */
const LEGEND_Y = 30;
const BAND_FILLS = ['#f1f5f9', '#fef9c3', '#dcfce7', '#fae8ff'];

export function lineChart(opts: LineChartOptions): string {
  const width = opts.width ?? 520;
  const height = opts.height ?? 260;
  const n = opts.xLabels.length;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const finite = opts.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  if (n === 0 || finite.length === 0) return emptyChart(opts.title, width, height);

  const ticks = niceTicks(Math.min(...finite), Math.max(...finite), 5);
  const yMin = ticks[0]!;
  const yMax = ticks[ticks.length - 1]!;
  const x = (i: number): number => MARGIN.left + (n === 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const y = (v: number): number => MARGIN.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const half = n === 1 ? plotW / 2 : plotW / (n - 1) / 2;

  const parts: string[] = [];
  (opts.bands ?? []).forEach((band, k) => {
    const left = Math.max(MARGIN.left, x(band.from) - half);
    const right = Math.min(MARGIN.left + plotW, x(band.to) + half);
    parts.push(
      `<rect x="${r(left)}" y="${MARGIN.top}" width="${r(right - left)}" height="${plotH}" fill="${BAND_FILLS[k % BAND_FILLS.length]}"/>`,
      `<text x="${r(left + 4)}" y="${MARGIN.top + 12}" class="band">${escapeHtml(band.label)}</text>`,
    );
  });
  for (const t of ticks) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${r(y(t))}" y2="${r(y(t))}" class="grid"/>`,
      `<text x="${MARGIN.left - 6}" y="${r(y(t) + 4)}" text-anchor="end" class="tick">${escapeHtml(formatNumber(t))}</text>`,
    );
  }
  for (const i of xTickPositions(n, 8)) {
    parts.push(`<text x="${r(x(i))}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" class="tick">${escapeHtml(opts.xLabels[i]!)}</text>`);
  }
  if (opts.xTitle) {
    parts.push(`<text x="${r(MARGIN.left + plotW / 2)}" y="${height - 6}" text-anchor="middle" class="axis">${escapeHtml(opts.xTitle)}</text>`);
  }
  if (opts.marker && opts.marker.at >= 0 && opts.marker.at < n) {
    const px = x(opts.marker.at);
    const mx = r(px);
    // Near an edge the label runs inward, so it is never cut off by the chart's border.
    const anchor = px > MARGIN.left + plotW * 0.85 ? 'end' : px < MARGIN.left + plotW * 0.15 ? 'start' : 'middle';
    parts.push(
      `<line x1="${mx}" x2="${mx}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" class="marker"/>`,
      `<text x="${r(anchor === 'end' ? px - 4 : anchor === 'start' ? px + 4 : px)}" y="${MARGIN.top + 26}" text-anchor="${anchor}" class="marker-label">${escapeHtml(opts.marker.label)}</text>`,
    );
  }
  for (const s of opts.series) {
    for (const run of finiteRuns(s.values)) {
      const points = run.map((i) => `${r(x(i))},${r(y(s.values[i]!))}`).join(' ');
      if (run.length === 1) {
        parts.push(`<circle cx="${r(x(run[0]!))}" cy="${r(y(s.values[run[0]!]!))}" r="3" fill="${s.color}"/>`);
      } else {
        parts.push(`<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
      }
    }
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" class="frame"/>`);
  parts.push(legend(opts.series, MARGIN.left + plotW, LEGEND_Y));
  return svg(width, height, opts.title, parts);
}

export interface ScatterPoint {
  x: number;
  y: number;
  color: string;
  title: string;
}

export interface ScatterOptions {
  title: string;
  points: readonly ScatterPoint[];
  xTitle: string;
  yTitle: string;
  /** Plot x on a log10 scale (learning rates). */
  logX?: boolean;
  legend?: readonly { name: string; color: string }[];
  width?: number;
  height?: number;
}

export function scatterChart(opts: ScatterOptions): string {
  const width = opts.width ?? 520;
  const height = opts.height ?? 260;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const tx = (v: number): number => (opts.logX ? Math.log10(v) : v);
  const points = opts.points.filter((p) => Number.isFinite(tx(p.x)) && Number.isFinite(p.y));
  if (points.length === 0) return emptyChart(opts.title, width, height);

  const xs = points.map((p) => tx(p.x));
  const xTicks = opts.logX ? logTicks(Math.min(...xs), Math.max(...xs)) : niceTicks(Math.min(...xs), Math.max(...xs), 5);
  const yTicks = niceTicks(Math.min(...points.map((p) => p.y)), Math.max(...points.map((p) => p.y)), 5);
  const [x0, x1] = [xTicks[0]!, xTicks[xTicks.length - 1]!];
  const [y0, y1] = [yTicks[0]!, yTicks[yTicks.length - 1]!];
  const x = (v: number): number => MARGIN.left + ((tx(v) - x0) / (x1 - x0)) * plotW;
  const y = (v: number): number => MARGIN.top + plotH - ((v - y0) / (y1 - y0)) * plotH;

  const parts: string[] = [];
  for (const t of yTicks) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${r(y(t))}" y2="${r(y(t))}" class="grid"/>`,
      `<text x="${MARGIN.left - 6}" y="${r(y(t) + 4)}" text-anchor="end" class="tick">${escapeHtml(formatNumber(t))}</text>`,
    );
  }
  for (const t of xTicks) {
    const px = MARGIN.left + ((t - x0) / (x1 - x0)) * plotW;
    const label = opts.logX ? powerOfTen(t) : formatNumber(t);
    parts.push(`<text x="${r(px)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" class="tick">${escapeHtml(label)}</text>`);
  }
  parts.push(
    `<text x="${r(MARGIN.left + plotW / 2)}" y="${height - 6}" text-anchor="middle" class="axis">${escapeHtml(opts.xTitle)}</text>`,
    `<text x="14" y="${r(MARGIN.top + plotH / 2)}" text-anchor="middle" class="axis" transform="rotate(-90 14 ${r(MARGIN.top + plotH / 2)})">${escapeHtml(opts.yTitle)}</text>`,
  );
  for (const p of points) {
    parts.push(`<circle cx="${r(x(p.x))}" cy="${r(y(p.y))}" r="4.5" fill="${p.color}" fill-opacity="0.8"><title>${escapeHtml(p.title)}</title></circle>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" class="frame"/>`);
  if (opts.legend) parts.push(legend(opts.legend, MARGIN.left + plotW, LEGEND_Y));
  return svg(width, height, opts.title, parts);
}

/** Round tick values covering [min, max]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min)) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return niceTicks(min - pad, max + pad, count);
  }
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const start = Math.floor(min / step) * step;
  const ticks: number[] = [];
  // Until a tick reaches max, so every value lies inside the axis.
  for (let i = 0; ; i++) {
    const t = Number((start + i * step).toPrecision(12));
    ticks.push(t);
    if (t >= max || i > 100) break;
  }
  if (ticks.length < 2) ticks.push(Number((start + step).toPrecision(12)));
  return ticks;
}

/** Label of a log-axis tick at 10^k: plain for 0.001 to 1000, else `1e-5`. */
function powerOfTen(k: number): string {
  return k >= -3 && k <= 3 ? String(Number((10 ** k).toPrecision(1))) : `1e${k}`;
}

function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(min);
  const hi = Math.max(lo + 1, Math.ceil(max));
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** At most `most` evenly spread x positions to label, always including the first and last. */
function xTickPositions(n: number, most: number): number[] {
  if (n <= most) return Array.from({ length: n }, (_, i) => i);
  const step = Math.ceil((n - 1) / (most - 1));
  const out: number[] = [];
  for (let i = 0; i < n - 1; i += step) out.push(i);
  if (n - 1 - out[out.length - 1]! < step / 2) out.pop();
  out.push(n - 1);
  return out;
}

function finiteRuns(values: readonly (number | undefined)[]): number[][] {
  const runs: number[][] = [];
  let current: number[] = [];
  values.forEach((v, i) => {
    if (v !== undefined && Number.isFinite(v)) current.push(i);
    else if (current.length > 0) {
      runs.push(current);
      current = [];
    }
  });
  if (current.length > 0) runs.push(current);
  return runs;
}

function legend(items: readonly { name: string; color: string; dashed?: boolean }[], right: number, top: number): string {
  // Laid out right to left so the legend hugs the plot's right edge whatever the names' lengths.
  const parts: string[] = [];
  let cursor = right;
  for (const item of [...items].reverse()) {
    const textWidth = item.name.length * 6.2;
    cursor -= textWidth;
    parts.push(`<text x="${r(cursor)}" y="${top + 4}" class="legend">${escapeHtml(item.name)}</text>`);
    cursor -= 22;
    parts.push(
      `<line x1="${r(cursor)}" x2="${r(cursor + 16)}" y1="${top}" y2="${top}" stroke="${item.color}" stroke-width="3"${item.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    cursor -= 12;
  }
  return parts.join('');
}

function svg(width: number, height: number, title: string, parts: string[]): string {
  return (
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">` +
    `<text x="${MARGIN.left}" y="16" class="chart-title">${escapeHtml(title)}</text>${parts.join('')}</svg>`
  );
}

function emptyChart(title: string, width: number, height: number): string {
  return svg(width, height, title, [
    `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="tick">no finite values to plot</text>`,
  ]);
}

/** Coordinates rounded to 0.1 px keep the SVG short. */
function r(v: number): string {
  return String(Math.round(v * 10) / 10);
}
