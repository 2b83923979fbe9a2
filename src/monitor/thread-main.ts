// The drift monitor's worker thread (started by thread.ts): the same startMonitor as `driftgate
// monitor`, fed by the gateway's embedded bus over a port, or by Kafka directly. Its metrics live in a
// registry of its own that the gateway merges into its /metrics; its log lines go to the gateway's logger.
import { parentPort, workerData } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { ModelRepository, PortBus, createEventBus, describeError, forwardingLogger } from '../core/index.js';
import type { EventBus } from '../core/index.js';
import { startMonitor } from './service.js';
import type { RunningMonitor } from './service.js';
import type { FromMonitorThread, MonitorThreadInit, ToMonitorThread } from './thread-protocol.js';

const init = workerData as MonitorThreadInit;
const port = parentPort!;
const send = (msg: FromMonitorThread): void => port.postMessage(msg);

const logger = forwardingLogger(send);
const registry = new Registry();
let bus: EventBus | undefined;
let running: RunningMonitor | undefined;

async function start(): Promise<void> {
  const { config } = init;
  bus = init.busPort ? new PortBus(init.busPort, 'embedded', logger) : createEventBus(init.busConfig, logger.child({ component: 'bus' }), registry);
  const manifests = new ModelRepository(config.modelRepo, { logger: logger.child({ component: 'repository' }) });
  running = await startMonitor({ config, bus, manifests, logger, registry, port: init.httpPort });
  send({ t: 'ready', httpPort: running.port });
}

async function answer(msg: Extract<ToMonitorThread, { t: 'ask' }>): Promise<unknown> {
  switch (msg.what) {
    case 'metrics':
      return registry.getMetricsAsJSON();
    case 'summaries':
      return running?.monitor.summaries() ?? [];
    case 'timeline':
      return running?.monitor.timeline(msg.model);
  }
}

async function close(): Promise<void> {
  try {
    await running?.close();
    await bus?.close();
  } catch (err) {
    logger.warn('the monitor did not close cleanly', { error: describeError(err) });
  }
  send({ t: 'closed' });
  port.close();
}

port.on('message', (msg: ToMonitorThread) => {
  if (msg.t === 'close') return void close();
  answer(msg).then(
    (value) => send({ t: 'answer', id: msg.id, value }),
    (err: unknown) => {
      logger.warn('the monitor could not answer', { what: msg.what, error: describeError(err) });
      send({ t: 'answer', id: msg.id, value: undefined });
    },
  );
});

start().catch(async (err: unknown) => {
  const code = (err as { code?: unknown } | null)?.code;
  await bus?.close().catch(() => undefined);
  send({ t: 'failed', error: describeError(err), code: typeof code === 'string' ? code : undefined });
  port.close();
});
