// The training report's stylesheet, inlined into every report so the file stands alone. System fonts
// only: a web font would be an external resource.
export const REPORT_CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f8fafc; color: #111827; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1160px; margin: 0 auto; padding: 24px 28px 40px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
.sub { margin: 0; color: #475569; }
nav { display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 16px 0 8px; padding: 10px 0; border-top: 1px solid #e2e8f0; border-bottom: 1px solid #e2e8f0; }
nav a { color: #1d4ed8; text-decoration: none; font-size: 13px; }
nav a:hover { text-decoration: underline; }
section { background: #ffffff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
h2 { margin: 0 0 12px; font-size: 18px; }
h3 { margin: 14px 0 8px; font-size: 15px; }
p { margin: 8px 0; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f1f5f9; padding: 1px 4px; border-radius: 3px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; }
.card { border: 1px solid #e2e8f0; border-radius: 8px; padding: 10px 14px; background: #f8fafc; }
.card .label { color: #475569; font-size: 12px; text-transform: uppercase; letter-spacing: 0.03em; }
.card .value { font-size: 26px; font-weight: 600; }
.card .note { color: #64748b; font-size: 12px; }
.two { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px 28px; align-items: start; }
table { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; vertical-align: top; }
thead th { background: #f1f5f9; font-weight: 600; }
tbody tr:nth-child(even) td { background: #fafafa; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; height: 10px; background: #60a5fa; border-radius: 2px; vertical-align: middle; }
.bar.inline { margin-left: 8px; }
.barcell { width: 220px; }
.badbar { background: #f87171; }
.goodbar { background: #4ade80; }
.good { color: #15803d; font-weight: 600; }
.bad { color: #b91c1c; font-weight: 600; }
.warn { color: #92400e; background: #fef3c7; padding: 6px 10px; border-radius: 6px; }
table.confusion td.heat { text-align: center; min-width: 72px; font-weight: 600; font-variant-numeric: tabular-nums; }
table.confusion td.heat small { display: block; font-weight: 400; font-size: 11px; opacity: 0.85; }
table.confusion th.corner { font-weight: 400; color: #475569; font-size: 12px; }
tbody tr:nth-child(even) td.heat { background-clip: padding-box; }
.kv { display: inline-block; margin-right: 8px; white-space: nowrap; }
.kv b { font-weight: 600; color: #334155; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { background: #ffffff; border: 1px solid #e5e7eb; border-radius: 6px; max-width: 100%; height: auto; }
svg .grid { stroke: #e5e7eb; stroke-width: 1; }
svg .frame { fill: none; stroke: #cbd5e1; }
svg .tick { font-size: 11px; fill: #475569; }
svg .axis { font-size: 12px; fill: #334155; }
svg .legend { font-size: 11px; fill: #334155; }
svg .band { font-size: 11px; fill: #64748b; font-style: italic; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }
svg .chart-title { font-size: 13px; font-weight: 600; fill: #111827; }
svg .marker { stroke: #16a34a; stroke-width: 1.5; stroke-dasharray: 4 3; }
svg .marker-label { font-size: 11px; fill: #15803d; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }
ol.lineage { margin: 6px 0; padding-left: 22px; }
ol.lineage li { margin: 4px 0; }
ol.lineage li.self { color: #1d4ed8; }
ol.lineage li.missing { color: #92400e; }
footer { color: #64748b; font-size: 12px; margin-top: 20px; }
`;
