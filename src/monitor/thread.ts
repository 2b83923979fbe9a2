// The embedded drift monitor in a worker thread of its own (DRIFTGATE_MONITOR_THREAD, the default).
// On the gateway's thread the monitor's transactions took about a quarter of the time that serves
// requests (docs/benchmarks.md, "Monitoring tax"); here they take none of it, and can gather into
// larger transactions, since nothing else waits on the worker's event loop. The gateway keeps the
// embedded bus and hosts it to the worker over a port (core's port-bus.ts); on Kafka the worker connects
// itself. A worker that fails stops the monitor, never serving: its metrics and views go empty and
// the failure is logged.
import { MessageChannel, Worker } from 'node:worker_threads';
import type { TransferListItem } from 'node:worker_threads';
import { describeError, hostBusOnPort } from '../core/index.js';
import type { BusConfig, BusHost, Config, EventBus, Logger } from '../core/index.js';
import type { ModelTimeline, VersionSummary } from './monitor-views.js';
import type { FromMonitorThread, MetricsJson, MonitorThreadInit, Question, ToMonitorThread } from './thread-protocol.js';

export type { MetricsJson } from './thread-protocol.js';

// The built package starts the compiled thread-main.js; under tsx (tests, development) a bootstrap
// registers tsx's loader in the worker first, since Node 20 does not carry it into worker threads.
const fromSource = import.meta.url.endsWith('.ts');
const ENTRY = new URL(`./thread-main${fromSource ? '.ts' : '.js'}`, import.meta.url);

/** How long a question to the worker may take before it is answered as "nothing". */
const ANSWER_TIMEOUT_MS = 5000;
/** How long close() waits for the monitor to finish its batch and close its store. */
const CLOSE_TIMEOUT_MS = 15_000;

export interface MonitorThreadDeps {
  config: Config;
  /** The gateway's bus: hosted to the worker when embedded; on Kafka the worker opens its own from `busConfig`. */
  bus: EventBus;
  busConfig: BusConfig;
  logger: Logger;
  /** Port of the monitor's HTTP endpoints (served from the worker); null = none. */
  port: number | null;
}

export interface MonitorThread {
  /** Bound port of the monitor's HTTP endpoints, when they run. */
  readonly port: number | undefined;
  summaries(): Promise<VersionSummary[]>;
  timeline(model: string): Promise<ModelTimeline | undefined>;
  /** The worker's metrics (as prom-client's JSON), for the gateway's /metrics. */
  metrics(): Promise<MetricsJson>;
  /** Why the monitor is not running, once its thread has failed. */
  problem(): string | undefined;
  close(): Promise<void>;
}

function startWorker(init: MonitorThreadInit, transfer: readonly TransferListItem[]): Worker {
  const options = { workerData: init, transferList: [...transfer] };
  if (!fromSource) return new Worker(ENTRY, options);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ENTRY.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** Starts the worker and resolves once the monitor in it is consuming (rejects if it could not start). */
export async function startMonitorThread(deps: MonitorThreadDeps): Promise<MonitorThread> {
  const { config, bus, logger } = deps;
  let host: BusHost | undefined;
  const init: MonitorThreadInit = { config, busConfig: deps.busConfig, httpPort: deps.port };
  const transfer: TransferListItem[] = [];
  if (bus.kind === 'embedded') {
    const channel = new MessageChannel();
    host = hostBusOnPort(bus, channel.port1, logger.child({ component: 'monitor-bus' }));
    init.busPort = channel.port2;
    transfer.push(channel.port2);
  }
  const worker = startWorker(init, transfer);
  const answers = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  let problem: string | undefined;
  let closing = false;
  let httpPort: number | undefined;
  let settleStart: { resolve: () => void; reject: (err: Error) => void } | undefined;
  let settleClose: (() => void) | undefined;
  const started = new Promise<void>((resolve, reject) => (settleStart = { resolve, reject }));

  const stopped = (why: string): void => {
    for (const answer of answers.values()) answer(undefined);
    answers.clear();
    void host?.close();
    settleClose?.();
    if (settleStart) return settleStart.reject(new Error(why));
    if (closing || problem) return;
    problem = why;
    logger.error('the drift monitor stopped; serving goes on without it', { error: why });
  };

  worker.on('message', (msg: FromMonitorThread) => {
    switch (msg.t) {
      case 'ready':
        httpPort = msg.httpPort;
        settleStart?.resolve();
        settleStart = undefined;
        return;
      case 'failed':
        return stopped(msg.error);
      case 'answer': {
        const answer = answers.get(msg.id);
        answers.delete(msg.id);
        return answer?.(msg.value);
      }
      case 'log':
        return logger[msg.level](msg.msg, msg.fields);
      case 'closed':
        return settleClose?.();
    }
  });
  worker.on('error', (err) => stopped(`the monitor thread crashed: ${describeError(err)}`));
  worker.on('exit', (code) => stopped(`the monitor thread exited (code ${code})`));

  const ask = (question: Question): Promise<unknown> => {
    if (problem || closing) return Promise.resolve(undefined);
    const id = nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        answers.delete(id);
        resolve(undefined);
      }, ANSWER_TIMEOUT_MS);
      timer.unref();
      answers.set(id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      worker.postMessage({ t: 'ask', id, ...question } satisfies ToMonitorThread);
    });
  };

  try {
    await started;
  } catch (err) {
    await worker.terminate();
    throw err;
  }

  return {
    get port() {
      return httpPort;
    },
    summaries: async () => ((await ask({ what: 'summaries' })) as VersionSummary[] | undefined) ?? [],
    timeline: async (model) => (await ask({ what: 'timeline', model })) as ModelTimeline | undefined,
    metrics: async () => ((await ask({ what: 'metrics' })) as MetricsJson | undefined) ?? [],
    problem: () => problem,
    close: async () => {
      if (closing) return;
      closing = true;
      if (!problem) {
        const closed = new Promise<void>((resolve) => (settleClose = resolve));
        worker.postMessage({ t: 'close' } satisfies ToMonitorThread);
        // A worker stuck in a transaction is ended after a while rather than holding up shutdown.
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref())]);
      }
      await host?.close();
      await worker.terminate();
    },
  };
}
