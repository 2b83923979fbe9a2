// The embedded drift monitor in a worker thread of its own (DRIFTGATE_MONITOR_THREAD, the default).
// On the gateway's thread the monitor's transactions took about a quarter of the time that serves
// requests (docs/benchmarks.md, "Monitoring tax"); here they take none of it, and can gather into
// larger transactions, since nothing else waits on the worker's event loop. The gateway keeps the
// embedded bus and hosts it to the worker over a port (core's port-bus.ts); on Kafka the worker connects
// itself. A worker that fails stops the monitor, never serving: its metrics and views go empty, the
// failure is logged and counted, and a fresh worker starts after a pause (1 s, doubling up to a
// minute); it resumes from the offsets the bus committed, so the batch in hand comes again.
import { MessageChannel } from 'node:worker_threads';
import type { TransferListItem, Worker } from 'node:worker_threads';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { describeError, hostBusOnPort, logForwarded, startModuleWorker } from '../core/index.js';
import type { BusConfig, BusHost, Config, EventBus, Logger } from '../core/index.js';
import type { ModelTimeline, VersionSummary } from './monitor-views.js';
import type { FromMonitorThread, MetricsJson, MonitorThreadInit, Question, ToMonitorThread } from './thread-protocol.js';

export type { MetricsJson } from './thread-protocol.js';

/** How long a question to the worker may take before it is answered as "nothing". */
const ANSWER_TIMEOUT_MS = 5000;
/** How long close() waits for the monitor to finish its batch and close its store. */
const CLOSE_TIMEOUT_MS = 15_000;
/** Pause before restarting a failed worker: 1 s, doubling per failure in a row, at most a minute. */
export function monitorRestartDelayMs(failuresInRow: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.max(0, failuresInRow - 1));
}

export interface MonitorThreadDeps {
  config: Config;
  /** The gateway's bus: hosted to the worker when embedded; on Kafka the worker opens its own from `busConfig`. */
  bus: EventBus;
  busConfig: BusConfig;
  logger: Logger;
  /** Port of the monitor's HTTP endpoints (served from the worker); null = none. */
  port: number | null;
  /** Where the thread's own health is counted (the worker's metrics come through `metrics()`). */
  registry: Registry;
}

export interface MonitorThread {
  /** Bound port of the monitor's HTTP endpoints, when they run. */
  readonly port: number | undefined;
  summaries(): Promise<VersionSummary[]>;
  timeline(model: string): Promise<ModelTimeline | undefined>;
  /** The worker's metrics (as prom-client's JSON), for the gateway's /metrics. */
  metrics(): Promise<MetricsJson>;
  /** Why the monitor is not running, while its thread is down. */
  problem(): string | undefined;
  /** Ends the worker at once, as a crash would (it is restarted like one): for fault drills and tests. */
  abort(): Promise<void>;
  close(): Promise<void>;
}

/** One worker and the bus host that feeds it. */
class MonitorWorker {
  readonly worker: Worker;
  httpPort: number | undefined;
  private readonly host: BusHost | undefined;
  private readonly answers = new Map<number, (value: unknown) => void>();
  private nextId = 1;
  private settleStart: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private settleClose: (() => void) | undefined;
  private ended = false;
  readonly started: Promise<void>;

  constructor(
    deps: MonitorThreadDeps,
    /** Called once when the worker ends or fails after it started. */
    private readonly onEnd: (why: string) => void,
  ) {
    const { config, bus, logger } = deps;
    const init: MonitorThreadInit = { config, busConfig: deps.busConfig, httpPort: deps.port };
    const transfer: TransferListItem[] = [];
    if (bus.kind === 'embedded') {
      const channel = new MessageChannel();
      this.host = hostBusOnPort(bus, channel.port1, logger.child({ component: 'monitor-bus' }));
      init.busPort = channel.port2;
      transfer.push(channel.port2);
    }
    this.started = new Promise<void>((resolve, reject) => (this.settleStart = { resolve, reject }));
    this.worker = startModuleWorker(import.meta.url, 'thread-main', { workerData: init, transferList: transfer });
    this.worker.on('message', (msg: FromMonitorThread) => {
      switch (msg.t) {
        case 'ready':
          this.httpPort = msg.httpPort;
          this.settleStart?.resolve();
          this.settleStart = undefined;
          return;
        case 'failed':
          return this.end(msg.error);
        case 'answer': {
          const answer = this.answers.get(msg.id);
          this.answers.delete(msg.id);
          return answer?.(msg.value);
        }
        case 'log':
          return logForwarded(logger, msg);
        case 'closed':
          return this.settleClose?.();
      }
    });
    this.worker.on('error', (err) => this.end(`the monitor thread crashed: ${describeError(err)}`));
    this.worker.on('exit', (code) => this.end(`the monitor thread exited (code ${code})`));
  }

  private end(why: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const answer of this.answers.values()) answer(undefined);
    this.answers.clear();
    void this.host?.close();
    this.settleClose?.();
    if (this.settleStart) {
      this.settleStart.reject(new Error(why));
      this.settleStart = undefined;
      void this.worker.terminate();
      return;
    }
    this.onEnd(why);
  }

  ask(question: Question): Promise<unknown> {
    if (this.ended || this.settleStart) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.answers.delete(id);
        resolve(undefined);
      }, ANSWER_TIMEOUT_MS);
      timer.unref();
      this.answers.set(id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      this.worker.postMessage({ t: 'ask', id, ...question } satisfies ToMonitorThread);
    });
  }

  /** Lets the monitor finish its batch and close its store, then ends the thread. */
  async close(): Promise<void> {
    if (!this.ended) {
      const closed = new Promise<void>((resolve) => (this.settleClose = resolve));
      this.worker.postMessage({ t: 'close' } satisfies ToMonitorThread);
      // A worker stuck in a transaction is ended after a while rather than holding up shutdown.
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
      this.ended = true;
    }
    await this.host?.close();
    await this.worker.terminate();
  }
}

function threadMetrics(registry: Registry) {
  return {
    up: new Gauge({ name: 'driftgate_monitor_thread_up', help: '1 while the embedded monitor\'s worker thread runs, 0 while it is down or restarting.', registers: [registry] }),
    restarts: new Counter({ name: 'driftgate_monitor_thread_restarts_total', help: 'Times the embedded monitor\'s worker thread failed and was started again.', registers: [registry] }),
  };
}

/** Starts the worker and resolves once the monitor in it is consuming (rejects if it could not start). */
export async function startMonitorThread(deps: MonitorThreadDeps): Promise<MonitorThread> {
  const { logger } = deps;
  const metrics = threadMetrics(deps.registry);
  let problem: string | undefined;
  let closing = false;
  let failuresInRow = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let current: MonitorWorker | undefined;

  const spawn = async (): Promise<void> => {
    const worker = new MonitorWorker(deps, (why) => {
      if (closing) return;
      current = undefined;
      metrics.up.set(0);
      failuresInRow++;
      const delay = monitorRestartDelayMs(failuresInRow);
      problem = `${why}; restarting it in ${Math.round(delay / 1000)} s`;
      logger.error('the drift monitor stopped; serving goes on, and the monitor restarts', { error: why, restartInMs: delay });
      restartTimer = setTimeout(() => void restart(), delay);
      restartTimer.unref();
    });
    await worker.started;
    current = worker;
    metrics.up.set(1);
  };

  const restart = async (): Promise<void> => {
    if (closing) return;
    try {
      await spawn();
      metrics.restarts.inc();
      problem = undefined;
      failuresInRow = 0;
      logger.info('the drift monitor restarted');
    } catch (err) {
      failuresInRow++;
      const delay = monitorRestartDelayMs(failuresInRow);
      problem = `the monitor thread could not restart: ${describeError(err)}; trying again in ${Math.round(delay / 1000)} s`;
      logger.error('the drift monitor could not restart', { error: describeError(err), restartInMs: delay });
      restartTimer = setTimeout(() => void restart(), delay);
      restartTimer.unref();
    }
  };

  await spawn();
  const ask = (question: Question): Promise<unknown> => current?.ask(question) ?? Promise.resolve(undefined);

  return {
    get port() {
      return current?.httpPort;
    },
    summaries: async () => ((await ask({ what: 'summaries' })) as VersionSummary[] | undefined) ?? [],
    timeline: async (model) => (await ask({ what: 'timeline', model })) as ModelTimeline | undefined,
    metrics: async () => ((await ask({ what: 'metrics' })) as MetricsJson | undefined) ?? [],
    problem: () => problem,
    abort: async () => {
      await current?.worker.terminate();
    },
    close: async () => {
      if (closing) return;
      closing = true;
      clearTimeout(restartTimer);
      await current?.close();
      metrics.up.set(0);
    },
  };
}
