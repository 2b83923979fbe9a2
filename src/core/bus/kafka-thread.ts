// The Kafka adapter in a worker thread of its own (DRIFTGATE_KAFKA_THREAD, the default for
// `driftgate serve` on Kafka). kafkajs encodes every record batch, computes its CRC and decodes every
// fetched batch in JavaScript on the thread that calls it; on the gateway's thread that work took
// requests' time (docs/benchmarks.md, "Monitoring tax"). Here the gateway keeps a PortBus and the
// worker runs KafkaBus behind hostBusOnPort (port-bus.ts), so the gateway's thread only copies
// messages across.
//
// A worker that ends unexpectedly fails what was waiting on it (the publisher spools, a batch in
// hand comes again from the committed offsets) and is started afresh after a pause, 1 s doubling up
// to a minute; the subscriptions made through this bus are made again on the new one.
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort, Worker } from 'node:worker_threads';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import { DriftgateError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { logForwarded, startModuleWorker } from '../threads.js';
import type { ForwardedLog } from '../threads.js';
import type { BusConfig } from './index.js';
import { PortBus } from './port-bus.js';
import { redeliveryDelay } from './types.js';
import type { EventBus, OutgoingMessage, PartitionLag, SubscribeOptions, Subscription, TopicSpec } from './types.js';

/** What the worker is started with. */
export interface KafkaThreadInit {
  busConfig: BusConfig;
  busPort: MessagePort;
}

export type ToKafkaThread = { t: 'close' };
export type FromKafkaThread = ForwardedLog | { t: 'closed' };

/** How long close() waits for the worker to finish its sends and leave its groups. */
const CLOSE_TIMEOUT_MS = 15_000;
/** A worker that ran this long before it ended starts its successor's pause from 1 s again. */
const STABLE_MS = 60_000;

export interface KafkaThreadBusOptions {
  logger: Logger;
  /** Where `driftgate_kafka_thread_restarts_total` is counted. */
  registry?: Registry | undefined;
  /** Pause before restart number `failures` (1-based) of a worker that ended. @defaultValue 1 s doubling up to 60 s */
  restartDelayMs?: (failures: number) => number;
}

/** One subscription made through the bus, kept so it can be made again on a restarted worker. */
interface HeldSubscription {
  opts: SubscribeOptions;
  inner: Subscription | undefined;
}

class KafkaWorker {
  readonly worker: Worker;
  readonly bus: PortBus;
  readonly startedAt = Date.now();
  private settleClose: (() => void) | undefined;

  constructor(config: BusConfig, logger: Logger, onExit: (code: number) => void) {
    const channel = new MessageChannel();
    const init = { busConfig: config, busPort: channel.port2 };
    this.worker = startModuleWorker(import.meta.url, 'kafka-thread-main', { workerData: init, transferList: [channel.port2] });
    this.bus = new PortBus(channel.port1, 'kafka', logger);
    this.worker.on('message', (msg: FromKafkaThread) => {
      if (msg.t === 'log') logForwarded(logger, msg);
      else this.settleClose?.();
    });
    this.worker.on('error', (err) => logger.error('the Kafka client thread failed', { error: describeError(err) }));
    this.worker.on('exit', onExit);
  }

  /** Stops the subscriptions, lets the worker finish its sends and disconnect, then ends it. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.settleClose = resolve));
    await this.bus.close();
    this.worker.postMessage({ t: 'close' } satisfies ToKafkaThread);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)))]);
    clearTimeout(timer);
    await this.worker.terminate();
  }
}

export class KafkaThreadBus implements EventBus {
  readonly kind = 'kafka' as const;
  private current: KafkaWorker;
  private readonly held = new Set<HeldSubscription>();
  private readonly logger: Logger;
  private readonly restartDelayMs: (failures: number) => number;
  private readonly restarts: Counter | undefined;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly config: BusConfig,
    options: KafkaThreadBusOptions,
  ) {
    this.logger = options.logger;
    this.restartDelayMs = options.restartDelayMs ?? ((failures) => redeliveryDelay(failures, 1_000, 60_000));
    this.restarts = options.registry
      ? new Counter({ name: 'driftgate_kafka_thread_restarts_total', help: 'Times the Kafka client\'s worker thread ended unexpectedly and was started again.', registers: [options.registry] })
      : undefined;
    this.current = this.startWorker();
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    return this.open().ensureTopics(topics);
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    return this.open().publish(topic, messages);
  }

  async consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    return this.open().consumerLag(groupId, topics);
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    const held: HeldSubscription = { opts, inner: await this.open().subscribe(opts) };
    this.held.add(held);
    return {
      stop: async () => {
        if (!this.held.delete(held)) return;
        await held.inner?.stop();
      },
    };
  }

  /** Ends the worker at once, as a crash would (it is restarted like one): for fault drills and tests. */
  async abort(): Promise<void> {
    await this.current.worker.terminate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.held.clear();
    await this.current.close();
  }

  private open(): PortBus {
    if (this.closed) throw new DriftgateError('EVENT_BUS_UNAVAILABLE', 'the Kafka event bus is closed');
    return this.current.bus;
  }

  private startWorker(): KafkaWorker {
    const worker: KafkaWorker = new KafkaWorker(this.config, this.logger, (code) => this.ended(worker, code));
    return worker;
  }

  private ended(worker: KafkaWorker, code: number): void {
    if (this.closed || worker !== this.current) return;
    this.failures = Date.now() - worker.startedAt >= STABLE_MS ? 1 : this.failures + 1;
    const delayMs = this.restartDelayMs(this.failures);
    this.logger.error('the Kafka client thread ended; starting a new one', { exitCode: code, delayMs });
    this.restarts?.inc();
    for (const held of this.held) held.inner = undefined;
    this.restartTimer = setTimeout(() => {
      if (this.closed) return;
      this.current = this.startWorker();
      for (const held of this.held) void this.resubscribe(held, this.current);
    }, delayMs);
  }

  /** Makes a held subscription again on `worker`, retrying while the bus cannot subscribe (a broker that is down). */
  private async resubscribe(held: HeldSubscription, worker: KafkaWorker): Promise<void> {
    while (!this.closed && this.held.has(held) && worker === this.current) {
      try {
        const inner = await worker.bus.subscribe(held.opts);
        if (this.held.has(held)) held.inner = inner;
        else await inner.stop(); // stopped while it was being made
        return;
      } catch (err) {
        this.logger.warn('could not subscribe again after the Kafka client thread restarted; retrying', { groupId: held.opts.groupId, error: describeError(err) });
        await new Promise((resolve) => setTimeout(resolve, 5_000));
      }
    }
  }
}
