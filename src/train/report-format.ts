// Text helpers for the HTML report: escaping (feature names, categories and labels come from user data
// and must never become markup) and compact number formatting.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Four significant digits, plain notation for everyday magnitudes; a dash for missing values. */
export function formatNumber(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1e6 || abs < 1e-4) return x.toExponential(2);
  if (Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(4)));
}

export function formatPercent(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–';
}

/** A signed difference, `+0.0123` or `-0.5`. */
export function formatDelta(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return x > 0 ? `+${formatNumber(x)}` : formatNumber(x);
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export type Align = 'left' | 'num';

/** A table; cells are escaped unless `raw` (then the caller escaped them). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[], opts: { raw?: boolean } = {}): string {
  const cls = (i: number): string => (align[i] === 'num' ? ' class="num"' : '');
  const head = headers.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell, i) => `<td${cls(i)}>${opts.raw ? cell : escapeHtml(cell)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
