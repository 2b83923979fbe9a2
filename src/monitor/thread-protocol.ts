// What the gateway's thread and the monitor's worker thread (thread.ts, thread-main.ts) say to each other.
import type { MessagePort } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { BusConfig, Config, ForwardedLog } from '../core/index.js';

export interface MonitorThreadInit {
  config: Config;
  busConfig: BusConfig;
  /** The gateway's embedded bus, hosted over this port; unset on Kafka (the worker connects itself). */
  busPort?: MessagePort | undefined;
  /** Port of the monitor's HTTP endpoints; null = none. */
  httpPort: number | null;
}

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export type Question = { what: 'metrics' } | { what: 'summaries' } | { what: 'timeline'; model: string };

export type ToMonitorThread = ({ t: 'ask'; id: number } & Question) | { t: 'close' };

export type FromMonitorThread =
  | { t: 'ready'; httpPort: number | undefined }
  | { t: 'failed'; error: string; code?: string | undefined }
  | { t: 'answer'; id: number; value: unknown }
  | ForwardedLog
  | { t: 'closed' };
