// The status page's HTML shell, served at / and /ui. It holds no data: /ui/app.js fetches the JSON
// endpoints and fills <main>. The Content-Security-Policy the routes send allows scripts, styles and
// requests to the gateway itself only, so data can never run as script.
export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>driftgate status</title>
<link rel="icon" href="/ui/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/app.css">
<script src="/ui/app.js" defer></script>
</head>
<body>
<header class="top">
<h1>driftgate</h1>
<span class="sub">models, drift and the retrain loop</span>
<span id="status-line" class="status-line">loading…</span>
<nav><a href="/status/models">JSON</a><a href="/openapi.json">API</a><a href="/metrics">metrics</a></nav>
</header>
<main id="models"><p class="empty">Loading…</p></main>
<noscript><p>This page needs JavaScript; the same data is at <a href="/status/models">/status/models</a>.</p></noscript>
</body>
</html>
`;

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#111827"/><path d="M2 11 L6 7 L9 9 L14 3" stroke="#22c55e" stroke-width="2" fill="none"/></svg>
`;

/** The page's policy: everything from the gateway itself, nothing inline, no framing. */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A training report is the trainer's own HTML: shown sandboxed, with no script and nothing fetched. */
export const REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";
