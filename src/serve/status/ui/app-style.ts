// The status page's stylesheet, served as /ui/app.css (no inline styles: the CSP allows the gateway's
// own stylesheet only).
export const APP_CSS = String.raw`:root {
  --bg: #f5f6f8;
  --card: #ffffff;
  --ink: #1f2933;
  --muted: #66717d;
  --line: #e1e5ea;
  --ok: #15803d;
  --bad: #b91c1c;
  --warn: #b45309;
  --s0: #2563eb;
  --s1: #0d9488;
  --s2: #c026d3;
  --s3: #ea580c;
  --s4: #4f46e5;
  --s5: #65a30d;
  --drift: #d97706;
  --asked: #6b7280;
  --started: #2563eb;
  --promoted: #16a34a;
  --rejected: #dc2626;
  --rolled: #9333ea;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
a { color: var(--s0); }
.top { display: flex; align-items: baseline; gap: 14px; flex-wrap: wrap; padding: 14px 24px; background: #111827; color: #f9fafb; }
.top h1 { margin: 0; font-size: 20px; letter-spacing: 0.02em; }
.top .sub { color: #9ca3af; }
.top nav { margin-left: auto; display: flex; gap: 14px; }
.top nav a { color: #93c5fd; }
.status-line { color: #d1d5db; font-size: 13px; }
.status-line.warn { color: #fbbf24; }
main { padding: 18px 24px 40px; max-width: 1500px; margin: 0 auto; }
.model { background: var(--card); border: 1px solid var(--line); border-radius: 10px; margin-bottom: 22px; padding: 16px 18px 18px; box-shadow: 0 1px 2px rgba(0, 0, 0, 0.04); }
.model-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; border-bottom: 1px solid var(--line); padding-bottom: 10px; margin-bottom: 12px; }
.model-head h2 { margin: 0 6px 0 0; font-size: 18px; }
.live { margin-left: auto; color: var(--muted); }
.live .big { font-size: 24px; font-weight: 650; color: var(--ink); font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.grid { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); gap: 14px; }
.panel { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; min-width: 0; }
.panel.wide { grid-column: 1 / -1; }
.panel h3 { margin: 0 0 8px; font-size: 13px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); }
.empty { color: var(--muted); margin: 6px 0; }
.facts { color: var(--muted); font-size: 12.5px; }
.scroll { overflow-x: auto; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; background: #eef1f4; color: var(--ink); white-space: nowrap; }
.badge.task { background: #eef2ff; color: #3730a3; }
.badge.serving, .badge.state-serving, .badge.ok, .badge.job-promoted { background: #dcfce7; color: var(--ok); }
.badge.bad, .badge.state-failed, .badge.job-failed, .badge.job-rejected { background: #fee2e2; color: var(--bad); }
.badge.stage, .badge.job-queued, .badge.job-training, .badge.job-gating, .badge.job-promoting { background: #fef3c7; color: var(--warn); }
/* chart */
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .tick, svg.chart .axis-label, svg.chart .band-label { fill: var(--muted); font-size: 11px; }
svg.chart .band-label { font-weight: 600; }
svg.chart .band { opacity: 0.06; }
svg.chart .version-boundary { stroke: var(--ink); stroke-width: 1.2; stroke-dasharray: 2 3; }
svg.chart .line { fill: none; stroke-width: 2.2; }
svg.chart .dot { stroke: #fff; stroke-width: 0.8; }
svg.chart .marker line { stroke-width: 1.4; stroke-dasharray: 5 3; }
svg.chart .marker text { font-size: 11px; font-weight: 600; }
.series-0 { stroke: var(--s0); fill: var(--s0); }
.series-1 { stroke: var(--s1); fill: var(--s1); }
.series-2 { stroke: var(--s2); fill: var(--s2); }
.series-3 { stroke: var(--s3); fill: var(--s3); }
.series-4 { stroke: var(--s4); fill: var(--s4); }
.series-5 { stroke: var(--s5); fill: var(--s5); }
svg.chart .line.series-0, svg.chart .line.series-1, svg.chart .line.series-2, svg.chart .line.series-3, svg.chart .line.series-4, svg.chart .line.series-5 { fill: none; }
.marker-drift-detected { stroke: var(--drift); fill: var(--drift); --c: var(--drift); }
.marker-retrain-requested { stroke: var(--asked); fill: var(--asked); --c: var(--asked); }
.marker-retrain-started { stroke: var(--started); fill: var(--started); --c: var(--started); }
.marker-model-promoted { stroke: var(--promoted); fill: var(--promoted); --c: var(--promoted); }
.marker-model-rejected { stroke: var(--rejected); fill: var(--rejected); --c: var(--rejected); }
.marker-model-rolled-back { stroke: var(--rolled); fill: var(--rolled); --c: var(--rolled); }
.marker-retrain-failed { --c: var(--bad); }
.marker-retrain-completed { --c: var(--muted); }
svg.chart .marker text { stroke: none; }
.legend { display: flex; gap: 16px; flex-wrap: wrap; margin-top: 6px; color: var(--muted); font-size: 12.5px; }
.legend-item { display: inline-flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 3px; height: 14px; background: var(--c, var(--muted)); }
.swatch.line-swatch { width: 16px; height: 3px; border-radius: 2px; }
.swatch.series-0 { background: var(--s0); }
.swatch.series-1 { background: var(--s1); }
.swatch.series-2 { background: var(--s2); }
.swatch.series-3 { background: var(--s3); }
.swatch.series-4 { background: var(--s4); }
.swatch.series-5 { background: var(--s5); }
/* versions */
.lineage { margin: 0 0 8px; font-weight: 600; }
ul.versions { list-style: none; margin: 0; padding: 0; }
li.version { padding: 6px 0; border-top: 1px solid var(--line); }
li.version:first-child { border-top: 0; }
.version-head { display: flex; gap: 8px; align-items: center; }
/* drift */
table { border-collapse: collapse; font-size: 12.5px; }
th, td { padding: 3px 8px; text-align: left; vertical-align: top; }
thead th { color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--line); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.feature-name { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-weight: 500; word-break: break-all; }
table.heatmap td.cell { text-align: center; min-width: 44px; }
table.heatmap th.feature-name { white-space: nowrap; word-break: normal; }
table.heatmap .window-head { text-align: center; font-weight: 500; font-size: 11.5px; }
td.cell.drifted { background: #fde2c7; color: #9a3412; }
td.cell.clean { background: #ecfdf5; color: #6b7280; }
td.cell.detected { color: var(--bad); font-weight: 700; }
.share-row th, .share-row td { border-top: 1px solid var(--line); }
table.last-window { margin-top: 8px; width: 100%; }
table.last-window tr.drifted td { color: #9a3412; font-weight: 600; }
/* jobs and events */
table.jobs { width: 100%; }
table.jobs td.gate { max-width: 560px; }
table.jobs .reason { color: var(--muted); }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
ol.events { list-style: none; margin: 0; padding: 0; font-size: 12.5px; }
ol.events li { display: flex; gap: 8px; align-items: baseline; padding: 3px 0; border-top: 1px solid var(--line); }
ol.events li:first-child { border-top: 0; }
ol.events .count { color: var(--muted); font-weight: 600; }
ol.events .when { color: var(--muted); font-variant-numeric: tabular-nums; }
.badge.event { background: transparent; border: 1px solid var(--c, var(--line)); color: var(--c, var(--ink)); }
@media (max-width: 900px) { .grid { grid-template-columns: minmax(0, 1fr); } }
`;
