// Builds the status page's JSON from what the gateway already has: the registry (which versions, which
// one serves), the repository's manifests (lineage, reports), the model-event follower (events and
// retrain jobs of the whole deployment) and the drift monitor's view (live metric, drift, timeline).
import type { z } from 'zod';
import type { ModelEventFollower, SeenModelEvent } from '../model-events.js';
import type { ModelRegistry } from '../registry.js';
import type { statusDrift, statusEvent, statusFeatureDrift, statusModel, statusModelsResponse, statusTimelineResponse, statusVersion } from '../schemas.js';
import { summarizeEvent } from './event-summary.js';
import type { MonitorView, MonitoredTimeline, MonitoredVersion } from './monitor-view.js';
import { headlineMetric } from './versions.js';
import type { VersionCatalog } from './versions.js';

export type StatusModels = z.infer<typeof statusModelsResponse>;
export type StatusModel = z.infer<typeof statusModel>;
export type StatusTimeline = z.infer<typeof statusTimelineResponse>;
type StatusVersion = z.infer<typeof statusVersion>;
type StatusDrift = z.infer<typeof statusDrift>;
type FeatureDrift = z.infer<typeof statusFeatureDrift>;

/** Event types drawn on the chart. */
export const TIMELINE_EVENT_TYPES = ['drift.detected', 'retrain.requested', 'retrain.started', 'model.promoted', 'model.rejected', 'model.rolled_back'] as const;

export const STATUS_LIMITS = Object.freeze({ events: 50, jobs: 10, points: 500, timelineEvents: 100, windows: 12 });

export interface StatusSources {
  registry: Pick<ModelRegistry, 'status' | 'has'>;
  versions: VersionCatalog;
  follower: Pick<ModelEventFollower, 'recent' | 'jobs'> | undefined;
  monitor: MonitorView | undefined;
}

export function reportUrl(model: string, version: number): string {
  return `/status/models/${encodeURIComponent(model)}/versions/${version}/report`;
}

function finite(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

function eventOf(e: SeenModelEvent): z.infer<typeof statusEvent> {
  return { type: e.type, version: e.version, ts: new Date(e.ts).toISOString(), summary: summarizeEvent(e) };
}

function liveOf(summary: MonitoredVersion | undefined, metric: 'accuracy' | 'mae'): StatusModel['live'] {
  if (!summary || summary.performance.count === 0) return null;
  const value = finite(summary.performance[metric]);
  return value === null ? null : { version: summary.version, metric, value, labels: summary.performance.count };
}

function featureDrift(f: { feature: string; test: string; score: number | null; pValue?: number | null | undefined; drifted: boolean }): FeatureDrift {
  return { feature: f.feature, test: f.test, score: finite(f.score), pValue: finite(f.pValue), drifted: f.drifted };
}

function driftOf(summaries: MonitoredVersion[], serving: number | null, timeline: MonitoredTimeline | undefined): StatusDrift | null {
  // The serving version's last window; before it has one, the last window of any version.
  const judged = summaries.filter((s) => s.lastWindow !== undefined && s.lastWindow !== null);
  const chosen = judged.find((s) => s.version === serving) ?? judged.sort((a, b) => b.lastWindow!.endTime - a.lastWindow!.endTime)[0];
  const windows = (timeline?.windows ?? []).slice(-STATUS_LIMITS.windows).map((w) => ({
    ts: new Date(w.ts).toISOString(),
    version: w.version,
    share: w.share,
    detected: w.detected,
    features: w.features.map(featureDrift),
  }));
  if (!chosen?.lastWindow) return null;
  const w = chosen.lastWindow;
  return {
    version: chosen.version,
    ts: new Date(w.endTime).toISOString(),
    detected: w.datasetDrift,
    share: finite(w.share),
    features: w.features.map((f) => featureDrift({ ...f, feature: f.column })),
    windows,
  };
}

async function versionsOf(sources: StatusSources, name: string, listed: { version: number; state: StatusVersion['state'] }[]): Promise<{ versions: StatusVersion[]; task: StatusModel['task'] | undefined }> {
  let task: StatusModel['task'] | undefined;
  const versions: StatusVersion[] = [];
  for (const v of listed) {
    const info = await sources.versions.info(name, v.version);
    task ??= info?.task;
    const { report, task: _task, ...rest } = info ?? { report: null, task: undefined };
    versions.push({ version: v.version, state: v.state, ...rest, report: report ? reportUrl(name, v.version) : null });
  }
  return { versions, task };
}

/** GET /status/models */
export async function statusModels(sources: StatusSources): Promise<StatusModels> {
  const { monitor, follower } = sources;
  const summaries = (await monitor?.summaries()) ?? [];
  const models: StatusModel[] = [];
  for (const m of sources.registry.status()) {
    const { versions, task: found } = await versionsOf(sources, m.name, m.versions);
    const task = found ?? 'classification';
    const metric = headlineMetric(task);
    const own = summaries.filter((s) => s.model === m.name);
    const timeline = monitor && own.length > 0 ? await monitor.timeline(m.name) : undefined;
    models.push({
      name: m.name,
      task,
      metric,
      servingVersion: m.servingVersion,
      versions,
      live: liveOf(own.find((s) => s.version === m.servingVersion), metric),
      drift: driftOf(own, m.servingVersion, timeline),
      events: (follower?.recent(m.name, undefined, STATUS_LIMITS.events) ?? []).map(eventOf),
      jobs: (follower?.jobs(m.name, STATUS_LIMITS.jobs) ?? []) as StatusModel['jobs'],
    });
  }
  const problem = monitor?.problem();
  return {
    generatedAt: new Date().toISOString(),
    monitor: { source: monitor?.source ?? 'none', ...(problem ? { problem } : {}) },
    models,
  };
}

/** GET /status/models/{m}/timeline, for a model the registry knows. */
export async function statusTimeline(sources: StatusSources, model: string): Promise<StatusTimeline> {
  const listed = sources.registry.status().find((m) => m.name === model);
  const newest = listed?.versions[0];
  const info = newest ? await sources.versions.info(model, newest.version) : undefined;
  const timeline = await sources.monitor?.timeline(model);
  const metric = headlineMetric(timeline?.task ?? info?.task ?? 'classification');
  const points: StatusTimeline['points'] = [];
  for (const p of timeline?.points.slice(-STATUS_LIMITS.points) ?? []) {
    const value = finite(p[metric]);
    if (value !== null) points.push({ ts: new Date(p.ts).toISOString(), version: p.version, value, labels: p.labels });
  }
  const events = (sources.follower?.recent(model, TIMELINE_EVENT_TYPES, STATUS_LIMITS.timelineEvents) ?? [])
    .reverse()
    .map((e) => ({ ts: new Date(e.ts).toISOString(), type: e.type, version: e.version, summary: summarizeEvent(e) }));
  return { model, metric, points, events };
}
