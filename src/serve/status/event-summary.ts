// One line of plain text per model event, for the status page's event list and chart markers. Pure:
// it reads the event's details as the monitor, the retrainer and the admin API publish them
// (docs/retraining.md, "Events") and tolerates anything missing.
import type { SeenModelEvent } from '../model-events.js';

type Details = Record<string, unknown>;

function num(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

function str(x: unknown): string | undefined {
  return typeof x === 'string' && x.length > 0 ? x : undefined;
}

function obj(x: unknown): Details | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Details) : undefined;
}

/** 0.93 for an accuracy, 2.07 for an error, 12% for a share. */
export function formatMetric(value: number | undefined, metric?: string): string {
  if (value === undefined) return '?';
  if (metric === 'share' || metric === 'drop') return `${Math.round(value * 100)}%`;
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(metric === 'accuracy' || metric === 'f1' ? 3 : 2);
}

function gateLine(record: Details | undefined): string | undefined {
  const gate = obj(record?.['gate']);
  const holdout = obj(gate?.['holdout']);
  const champion = num(obj(holdout?.['champion'])?.['value']);
  const challenger = num(obj(holdout?.['challenger'])?.['value']);
  const metric = str(gate?.['metric']) ?? 'score';
  if (champion === undefined || challenger === undefined) return undefined;
  return `holdout ${metric} ${formatMetric(challenger, metric)} vs ${formatMetric(champion, metric)}`;
}

/** Job ids are `<model>-<time>-<random>`; the random part tells them apart. */
function jobRef(d: Details): string {
  const job = str(d['job']);
  return job ? ` (job ${job.slice(job.lastIndexOf('-') + 1) || job})` : '';
}

export function summarizeEvent(e: Pick<SeenModelEvent, 'type' | 'version' | 'details'>): string {
  const d = e.details;
  const record = obj(d['record']);
  switch (e.type) {
    case 'drift.detected': {
      if (d['kind'] === 'performance') {
        const metric = str(d['metric']) ?? 'metric';
        return `v${e.version}: ${metric} ${formatMetric(num(d['live']), metric)} against ${formatMetric(num(d['expected']), metric)} expected (drop ${formatMetric(num(d['drop']), 'drop')}) over ${num(d['labels']) ?? '?'} labels`;
      }
      const features = Array.isArray(d['features']) ? (d['features'] as unknown[]).map((f) => str(obj(f)?.['feature'])).filter((f): f is string => f !== undefined) : [];
      const named = features.length > 3 ? `${features.slice(0, 3).join(', ')} and ${features.length - 3} more` : features.join(', ');
      return `v${e.version}: input drift in ${formatMetric(num(d['share']), 'share')} of the features${named ? ` (${named})` : ''}`;
    }
    case 'retrain.requested': {
      const reason = str(d['reason']) ?? 'requested';
      const by = str(d['by']);
      return `retrain of v${e.version} asked${by ? ` by ${by}` : ''}: ${reason.replace('_', ' ')}`;
    }
    case 'retrain.started': {
      const data = obj(d['data']);
      const rows = data ? `: ${num(data['train']) ?? '?'} rows to train on, ${num(data['holdout']) ?? '?'} held out` : '';
      return `fine-tuning v${e.version}${rows}${jobRef(d)}`;
    }
    case 'model.promoted': {
      const from = num(d['from']);
      const gate = gateLine(record);
      const by = str(d['by']);
      return `v${e.version} serves${from !== undefined ? ` instead of v${from}` : ''}${gate ? `: ${gate}` : ''}${by === 'admin' ? ' (by admin)' : ''}`;
    }
    case 'model.rejected': {
      const gate = gateLine(record);
      return `v${e.version} rejected${gate ? `: ${gate}` : ''}${str(d['reason']) ? ` (${str(d['reason'])})` : ''}`;
    }
    case 'model.rolled_back': {
      const from = num(d['from']);
      const live = num(d['live']);
      const baseline = num(d['baseline']);
      const evidence = live !== undefined && baseline !== undefined ? `: live ${formatMetric(live)} vs baseline ${formatMetric(baseline)}` : '';
      return `back to v${e.version}${from !== undefined ? ` from v${from}` : ''}${evidence}${str(d['by']) === 'admin' ? ' (by admin)' : ''}`;
    }
    case 'retrain.failed':
      return `retrain of v${e.version} failed${str(d['reason']) ? `: ${str(d['reason'])}` : ''}${jobRef(d)}`;
    default:
      return `${e.type} v${e.version}`;
  }
}
