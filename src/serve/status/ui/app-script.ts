// The status page's script, served as /ui/app.js (the page's CSP allows scripts from the gateway
// only, so nothing is inline). Plain browser JavaScript kept in a string so the build ships it with
// the rest of dist/ and no front-end tooling is needed; it must not use template literals. It reads
// /status/models and each model's /timeline every 5 s and builds the page with DOM APIs: every string
// from the data is set through textContent or setAttribute, never parsed as HTML. The chart is an SVG
// drawn here: the live metric per version, version boundaries, and a marker per loop event.
export const APP_JS = String.raw`(function () {
  'use strict';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var REFRESH_MS = 5000;
  var MARKERS = {
    'drift.detected': { label: 'drift', name: 'drift detected' },
    'retrain.requested': { label: 'retrain asked', name: 'retrain requested' },
    'retrain.started': { label: 'training', name: 'retrain started' },
    'model.promoted': { label: 'promoted', name: 'promotion' },
    'model.rejected': { label: 'rejected', name: 'rejected at the gate' },
    'model.rolled_back': { label: 'rolled back', name: 'rollback' },
  };
  var SERIES = 6;

  // Every string from the data goes through textContent or setAttribute: nothing is parsed as HTML.
  function el(tag, className, children) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    append(node, children);
    return node;
  }

  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      node.setAttribute(k, String(attrs[k]));
    });
    append(node, children);
    return node;
  }

  function append(node, children) {
    if (children === undefined || children === null) return;
    (Array.isArray(children) ? children : [children]).forEach(function (c) {
      if (c === undefined || c === null || c === false) return;
      node.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
    });
  }

  function svgTitle(text) {
    var t = document.createElementNS(SVG_NS, 'title');
    t.textContent = text;
    return t;
  }

  function link(url, text) {
    var a = el('a', null, text);
    // only the gateway's own status URLs become links
    if (typeof url === 'string' && /^\/status\/models\/[^?#]+\/report$/.test(url)) {
      a.href = url;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
    }
    return a;
  }

  function num(x) {
    return typeof x === 'number' && isFinite(x) ? x : undefined;
  }

  function fmt(value, metric) {
    if (num(value) === undefined) return '–';
    if (metric === 'accuracy' || metric === 'f1') return value.toFixed(3);
    if (metric === 'share') return Math.round(value * 100) + '%';
    if (metric === 'p') return value < 0.0001 ? value.toExponential(1) : value.toFixed(4);
    return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2);
  }

  function time(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }

  function dateTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    return d.toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
  }

  function typeClass(type) {
    return String(type).replace(/[^a-z]+/g, '-');
  }

  function badge(text, kind) {
    return el('span', 'badge ' + (kind || ''), text);
  }

  function panel(title, body, extraClass) {
    return el('div', 'panel ' + (extraClass || ''), [el('h3', null, title), body]);
  }

  function empty(text) {
    return el('p', 'empty', text);
  }

  /** The smallest of 1, 2, 2.5, 5 times a power of ten at or above x (an axis maximum). */
  function niceCeil(x) {
    if (!(x > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(x)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= x) return steps[i] * p;
    return 10 * p;
  }

  // ---- the chart -------------------------------------------------------------------------------

  function chart(model, timeline) {
    var W = 960;
    var H = 300;
    var M = { l: 56, r: 20, t: 22, b: 32 };
    var points = (timeline.points || []).map(function (p) {
      return { t: Date.parse(p.ts), v: p.value, version: p.version, labels: p.labels, ts: p.ts };
    }).filter(function (p) { return !isNaN(p.t) && num(p.v) !== undefined; });
    var events = (timeline.events || []).map(function (e) {
      return { t: Date.parse(e.ts), type: e.type, version: e.version, summary: e.summary, ts: e.ts };
    }).filter(function (e) { return !isNaN(e.t) && MARKERS[e.type]; });
    if (points.length === 0 && events.length === 0) return null;
    if (events.length > 0) M.t = 62; // room for three rows of event labels

    var t0, t1;
    if (points.length > 0) {
      t0 = points[0].t;
      t1 = points[points.length - 1].t;
      var span = Math.max(t1 - t0, 60000);
      // events from long before the first verdict would squash the chart
      events = events.filter(function (e) { return e.t >= t0 - 0.15 * span; });
    } else {
      t0 = events[0].t;
      t1 = events[events.length - 1].t;
    }
    events.forEach(function (e) {
      t0 = Math.min(t0, e.t);
      t1 = Math.max(t1, e.t);
    });
    if (t1 - t0 < 1000) {
      t0 -= 30000;
      t1 += 30000;
    }
    var pad = (t1 - t0) * 0.02;
    t0 -= pad;
    t1 += pad;

    var metric = timeline.metric;
    var yMax = 1;
    if (metric !== 'accuracy') {
      yMax = 4 * niceCeil((points.reduce(function (m, p) { return Math.max(m, p.v); }, 0) * 1.1) / 4);
    }
    var x = function (t) { return M.l + ((t - t0) / (t1 - t0)) * (W - M.l - M.r); };
    var y = function (v) { return H - M.b - (v / yMax) * (H - M.t - M.b); };

    var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img', 'aria-label': 'Live ' + metricName(metric) + ' of ' + model + ' over time, with the retrain loop\'s events' });

    // versions: a shaded band per stretch of one version, a dashed line where the next begins
    var bands = svg('g', { class: 'bands' });
    var segments = [];
    points.forEach(function (p) {
      var last = segments[segments.length - 1];
      if (last && last.version === p.version) last.points.push(p);
      else segments.push({ version: p.version, points: [p] });
    });
    segments.forEach(function (s, i) {
      var start = i === 0 ? M.l : x(s.points[0].t);
      var next = segments[i + 1];
      var end = next ? x(next.points[0].t) : W - M.r;
      bands.append(svg('rect', { class: 'band series-' + (s.version % SERIES), x: start, y: M.t, width: Math.max(0, end - start), height: H - M.t - M.b }));
      if (i > 0) bands.append(svg('line', { class: 'version-boundary', 'data-version': s.version, x1: start, x2: start, y1: M.t, y2: H - M.b }));
      bands.append(svg('text', { class: 'band-label', x: start + 4, y: H - M.b - 6 }, 'v' + s.version));
    });
    root.append(bands);

    // axes
    var axes = svg('g', { class: 'axes' });
    var ticks = metric === 'accuracy' ? [0, 0.25, 0.5, 0.75, 1] : [0, 0.25, 0.5, 0.75, 1].map(function (f) { return f * yMax; });
    ticks.forEach(function (v) {
      axes.append(svg('line', { class: 'grid', x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }));
      axes.append(svg('text', { class: 'tick', x: M.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v, metric === 'accuracy' ? undefined : metric)));
    });
    for (var i = 0; i <= 4; i++) {
      var t = t0 + ((t1 - t0) * i) / 4;
      axes.append(svg('text', { class: 'tick', x: x(t), y: H - 10, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, time(new Date(t).toISOString())));
    }
    axes.append(svg('text', { class: 'axis-label', x: 12, y: M.t - 8 }, metric === 'accuracy' ? 'accuracy' : 'MAE'));
    root.append(axes);

    // the loop's events: a vertical line each (a run of the same event, like the monitor asking again
    // while a job is open, is one marker with a count); labels stacked in rows so they do not overlap,
    // the promotions, rejections, rollbacks and drift first
    var groups = [];
    events.forEach(function (e) {
      var last = groups[groups.length - 1];
      if (last && last.type === e.type && last.version === e.version) {
        last.count += 1;
        last.lastTs = e.ts;
      } else {
        groups.push({ t: e.t, ts: e.ts, lastTs: e.ts, type: e.type, version: e.version, summary: e.summary, count: 1 });
      }
    });
    var PRIORITY = { 'model.promoted': 0, 'model.rolled_back': 0, 'model.rejected': 0, 'drift.detected': 1, 'retrain.started': 2, 'retrain.requested': 3 };
    var rows = [[], [], []];
    var free = function (row, from, to) {
      return row.every(function (span) { return to < span[0] || from > span[1]; });
    };
    groups.slice().sort(function (a, b) { return PRIORITY[a.type] - PRIORITY[b.type] || a.t - b.t; }).forEach(function (g) {
      var mx = x(g.t);
      var text = MARKERS[g.type].label + (PRIORITY[g.type] === 0 ? ' v' + g.version : '') + (g.count > 1 ? ' ×' + g.count : '');
      var width = text.length * 6.4 + 6;
      var anchorEnd = mx + width > W - M.r;
      var from = anchorEnd ? mx - width : mx;
      var to = anchorEnd ? mx : mx + width;
      g.row = rows.findIndex(function (row) { return free(row, from, to); });
      if (g.row < 0 && PRIORITY[g.type] === 0) g.row = 0; // never drop the label of a promotion or rollback
      if (g.row >= 0) rows[g.row].push([from, to]);
      g.text = text;
      g.anchorEnd = anchorEnd;
    });
    var markers = svg('g', { class: 'markers' });
    groups.forEach(function (g) {
      var mx = x(g.t);
      var top = g.row >= 0 ? M.t - 44 + g.row * 14 + 4 : M.t;
      var title = time(g.ts) + (g.count > 1 ? '–' + time(g.lastTs) + ', ' + g.count + '× ' : ' ') + MARKERS[g.type].name + ': ' + (g.summary || '');
      markers.append(svg('g', { class: 'marker marker-' + typeClass(g.type), 'data-type': g.type, 'data-version': g.version, 'data-count': g.count }, [
        svgTitle(title),
        svg('line', { x1: mx, x2: mx, y1: top, y2: H - M.b }),
        g.row >= 0 ? svg('text', { x: g.anchorEnd ? mx - 3 : mx + 3, y: M.t - 44 + g.row * 14 + 12, 'text-anchor': g.anchorEnd ? 'end' : 'start' }, g.text) : null,
      ]));
    });
    root.append(markers);

    // the live metric, one line per version
    var series = svg('g', { class: 'series' });
    segments.forEach(function (s) {
      var d = s.points.map(function (p, i) { return (i === 0 ? 'M' : 'L') + x(p.t).toFixed(1) + ' ' + y(p.v).toFixed(1); }).join(' ');
      series.append(svg('path', { class: 'line series-' + (s.version % SERIES), d: d }));
      s.points.forEach(function (p) {
        series.append(svg('circle', { class: 'dot series-' + (s.version % SERIES), cx: x(p.t), cy: y(p.v), r: 2.6 }, svgTitle(time(p.ts) + ' v' + p.version + ': ' + fmt(p.v, metric) + ' over ' + p.labels + ' labels')));
      });
    });
    root.append(series);
    return root;
  }

  function chartLegend(timeline) {
    var seen = {};
    (timeline.events || []).forEach(function (e) { seen[e.type] = true; });
    var items = Object.keys(MARKERS).filter(function (type) { return seen[type]; }).map(function (type) {
      return el('span', 'legend-item', [el('span', 'swatch marker-' + typeClass(type)), MARKERS[type].name]);
    });
    var versions = {};
    (timeline.points || []).forEach(function (p) { versions[p.version] = true; });
    var lines = Object.keys(versions).map(Number).sort(function (a, b) { return a - b; }).map(function (v) {
      return el('span', 'legend-item', [el('span', 'swatch line-swatch series-' + (v % SERIES)), 'v' + v]);
    });
    return el('div', 'legend', lines.concat(items));
  }

  // ---- panels ----------------------------------------------------------------------------------

  /** Job ids are <model>-<time>-<random>: the random part tells them apart. */
  function shortJob(id) {
    var dash = id.lastIndexOf('-');
    return dash >= 0 && dash < id.length - 1 ? id.slice(dash + 1) : id;
  }

  function metricName(metric) {
    return metric === 'mae' ? 'MAE' : metric;
  }

  function promotedVersions(model) {
    var promoted = {};
    (model.events || []).forEach(function (e) {
      if (e.type === 'model.promoted') promoted[e.version] = true;
    });
    return promoted;
  }

  function versionsPanel(model) {
    var promoted = promotedVersions(model);
    var byVersion = {};
    model.versions.forEach(function (v) { byVersion[v.version] = v; });
    var chain = [];
    var at = byVersion[model.servingVersion];
    var guard = 0;
    while (at && guard++ < 50) {
      chain.unshift(at.version);
      at = at.parent !== undefined ? byVersion[at.parent] : undefined;
    }
    var lineage = chain.length > 1
      ? el('p', 'lineage', ['lineage: ', chain.map(function (v) { return 'v' + v; }).join(' → '), ' (serving)'])
      : null;
    var list = el('ul', 'versions', model.versions.map(function (v) {
      var badges = [badge(v.state, 'state-' + v.state)];
      if (v.stage === 'candidate' && !promoted[v.version] && v.state !== 'serving') badges.push(badge('candidate', 'stage'));
      var facts = [];
      if (v.parent !== undefined) facts.push('from v' + v.parent);
      if (v.trigger) facts.push(v.trigger);
      if (v.job) facts.push('job ' + shortJob(v.job));
      if (v.createdAt) facts.push(dateTime(v.createdAt));
      var line2 = [];
      if (v.headline) line2.push('trained ' + v.headline.name + ' ' + fmt(v.headline.value, v.headline.name));
      return el('li', 'version', [
        el('div', 'version-head', [el('strong', null, 'v' + v.version)].concat(badges)),
        facts.length ? el('div', 'facts', facts.join(' · ')) : null,
        el('div', 'facts', [line2.join(' · '), line2.length && v.report ? ' · ' : '', v.report ? link(v.report, 'training report') : (line2.length ? '' : 'no training report')]),
      ]);
    }));
    return panel('Versions', el('div', null, [lineage, list]));
  }

  function driftPanel(model) {
    var drift = model.drift;
    if (!drift) return panel('Input drift', empty('No drift window has closed yet.'));
    var windows = drift.windows && drift.windows.length ? drift.windows.slice(-8) : [{ ts: drift.ts, version: drift.version, share: drift.share, detected: drift.detected, features: drift.features }];
    var features = [];
    windows.forEach(function (w) {
      w.features.forEach(function (f) { if (features.indexOf(f.feature) < 0) features.push(f.feature); });
    });
    var head = el('tr', null, [el('th', null, 'feature')].concat(windows.map(function (w) {
      var th = el('th', 'window-head', ['v' + w.version, el('br'), time(w.ts)]);
      th.title = 'window ending ' + dateTime(w.ts);
      return th;
    })));
    var body = features.map(function (name) {
      return el('tr', null, [el('th', 'feature-name', name)].concat(windows.map(function (w) {
        var f = w.features.find(function (x) { return x.feature === name; });
        if (!f) return el('td', 'cell none', '');
        var td = el('td', 'cell ' + (f.drifted ? 'drifted' : 'clean'), f.drifted ? '●' : '·');
        td.title = name + ': ' + f.test + ' score ' + fmt(f.score) + (f.pValue !== null && f.pValue !== undefined ? ', p ' + fmt(f.pValue, 'p') : '') + (f.drifted ? ' (drifted)' : '');
        return td;
      })));
    });
    var share = el('tr', 'share-row', [el('th', null, 'share')].concat(windows.map(function (w) {
      return el('td', 'cell ' + (w.detected ? 'detected' : ''), fmt(w.share, 'share'));
    })));
    var table = el('table', 'heatmap', [el('thead', null, head), el('tbody', null, body.concat([share]))]);
    var last = el('table', 'last-window', [
      el('thead', null, el('tr', null, ['feature', 'test', 'score', 'p-value', ''].map(function (h) { return el('th', null, h); }))),
      el('tbody', null, drift.features.map(function (f) {
        return el('tr', f.drifted ? 'drifted' : '', [el('td', 'feature-name', f.feature), el('td', null, f.test), el('td', 'num', fmt(f.score)), el('td', 'num', f.pValue === null ? '' : fmt(f.pValue, 'p')), el('td', null, f.drifted ? 'drifted' : '')]);
      })),
    ]);
    var caption = el('p', 'facts', [
      'last window of v' + drift.version + (drift.ts ? ' at ' + time(drift.ts) : '') + ': ',
      drift.detected ? badge('dataset drift', 'bad') : badge('no dataset drift', 'ok'),
      ' share ' + fmt(drift.share, 'share'),
    ]);
    return panel('Input drift, last windows', el('div', null, [el('div', 'scroll', table), caption, last]));
  }

  function gateText(gate) {
    if (!gate || !gate.holdout) return '';
    var m = gate.metric;
    var text = 'holdout ' + m + ' ' + fmt(gate.holdout.challenger.value, m) + ' vs ' + fmt(gate.holdout.champion.value, m) + ' (' + gate.holdout.challenger.rows + ' rows)';
    if (gate.reference) text += '; reference ' + fmt(gate.reference.challenger.value, m) + ' vs ' + fmt(gate.reference.champion.value, m);
    return text;
  }

  function jobsPanel(model) {
    if (!model.jobs.length) return panel('Retrain jobs', empty('No retrain job yet.'), 'wide');
    var rows = model.jobs.map(function (j) {
      var phases = j.phases || {};
      var took = Object.keys(phases).reduce(function (s, k) { return s + (num(phases[k]) || 0); }, 0);
      var gate = j.gate;
      var outcome = [];
      if (gate) outcome.push(el('div', null, gateText(gate)));
      if (gate && gate.reason) outcome.push(el('div', 'reason', gate.reason));
      else if (j.error) outcome.push(el('div', 'reason', j.error));
      if (j.waiting) outcome.push(el('div', 'reason', j.waiting));
      if (j.watch) outcome.push(el('div', null, 'watch: ' + j.watch.outcome.replace('_', ' ') + ' (live ' + fmt(j.watch.live) + ' vs baseline ' + fmt(j.watch.baseline) + ')'));
      var id = el('td', 'mono', shortJob(String(j.id)));
      id.title = String(j.id);
      return el('tr', null, [
        id,
        el('td', null, [String((j.trigger && j.trigger.reason) || '').replace('_', ' '), el('br'), el('span', 'facts', j.trigger ? time(j.trigger.requestedAt) : '')]),
        el('td', null, badge(j.state, 'job-' + j.state)),
        el('td', null, (j.champion !== undefined ? 'v' + j.champion : '?') + (j.challenger !== undefined ? ' → v' + j.challenger : '')),
        el('td', 'gate', outcome),
        el('td', 'num', took ? (took / 1000).toFixed(1) + ' s' : ''),
      ]);
    });
    var head = el('tr', null, ['job', 'trigger', 'state', 'versions', 'gate evidence', 'took'].map(function (h) { return el('th', null, h); }));
    return panel('Retrain jobs', el('div', 'scroll', el('table', 'jobs', [el('thead', null, head), el('tbody', null, rows)])), 'wide');
  }

  function eventsPanel(model) {
    if (!model.events.length) return panel('Events', empty('No model event yet.'), 'wide');
    // newest first; a run of the same event about the same version is one line with a count
    var runs = [];
    model.events.forEach(function (e) {
      var last = runs[runs.length - 1];
      if (last && last.type === e.type && last.version === e.version) last.count += 1;
      else runs.push({ type: e.type, version: e.version, ts: e.ts, summary: e.summary, count: 1 });
    });
    return panel('Events', el('ol', 'events', runs.slice(0, 12).map(function (e) {
      return el('li', null, [
        el('span', 'when', time(e.ts)),
        el('span', 'badge event marker-' + typeClass(e.type), e.type),
        el('span', 'summary', e.summary),
        e.count > 1 ? el('span', 'count', '×' + e.count) : null,
      ]);
    })), 'wide');
  }

  function chartPanel(model, timeline, monitor) {
    var title = model.metric === 'accuracy' ? 'Live accuracy' : 'Live MAE';
    var drawn = timeline ? chart(model.name, timeline) : null;
    if (!drawn) {
      var why = monitor.source === 'none'
        ? 'No drift monitor in this process; set DRIFTGATE_MONITOR_URL to show a separate one.'
        : 'No live ' + metricName(model.metric) + ' yet: the monitor judges it every 50 joined labels.';
      return panel(title, empty(why), 'wide chart-panel');
    }
    return panel(title, el('div', null, [drawn, chartLegend(timeline)]), 'wide chart-panel');
  }

  function modelSection(model, timeline, monitor) {
    var live = model.live
      ? el('div', 'live', [el('span', 'big', fmt(model.live.value, model.live.metric)), ' ' + metricName(model.live.metric) + ' over the last ' + model.live.labels + ' labels of v' + model.live.version])
      : el('div', 'live muted', 'no live ' + metricName(model.metric) + ' yet');
    var head = el('header', 'model-head', [
      el('h2', null, model.name),
      badge(model.task, 'task'),
      model.servingVersion !== null ? badge('serving v' + model.servingVersion, 'serving') : badge('not serving', 'bad'),
      live,
    ]);
    var section = el('section', 'model', [
      head,
      el('div', 'grid', [chartPanel(model, timeline, monitor), versionsPanel(model), driftPanel(model), jobsPanel(model), eventsPanel(model)]),
    ]);
    section.setAttribute('data-model', model.name);
    return section;
  }

  // ---- refresh ---------------------------------------------------------------------------------

  async function getJson(url) {
    var res = await fetch(url, { cache: 'no-store', headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(url + ': HTTP ' + res.status);
    return res.json();
  }

  var statusLine = document.getElementById('status-line');
  var root = document.getElementById('models');

  async function refresh() {
    try {
      var status = await getJson('/status/models');
      var timelines = await Promise.all(status.models.map(function (m) {
        return getJson('/status/models/' + encodeURIComponent(m.name) + '/timeline').catch(function () { return null; });
      }));
      var sections = status.models.map(function (m, i) { return modelSection(m, timelines[i], status.monitor); });
      root.replaceChildren.apply(root, sections.length ? sections : [empty('The gateway serves no model.')]);
      var monitorText = status.monitor.source === 'none' ? 'no monitor' : status.monitor.source + ' monitor';
      statusLine.className = 'status-line' + (status.monitor.problem ? ' warn' : '');
      statusLine.textContent = 'updated ' + time(status.generatedAt) + ' · ' + monitorText + (status.monitor.problem ? ': ' + status.monitor.problem : '');
      document.body.setAttribute('data-loaded', 'true');
    } catch (err) {
      statusLine.className = 'status-line warn';
      statusLine.textContent = 'could not refresh: ' + (err && err.message ? err.message : String(err));
    }
  }

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
`;
