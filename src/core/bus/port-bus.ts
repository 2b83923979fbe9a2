// One event bus across a thread boundary. The embedded bus lives in the thread that publishes (the
// gateway's); a consumer in a worker thread of its own (the drift monitor) reaches it through a
// MessagePort: `hostBusOnPort` serves the bus on one end, `PortBus` implements the EventBus port on the
// other. Offsets keep their meaning: the host's handler for a batch resolves only when the worker's
// handler has, so the bus commits after the worker's transaction, and a worker that fails or goes away
// gets the batch again as any failing handler would.
//
// A batch crosses as one transferred buffer holding every value back to back plus a small table of
// the rest, rather than as Buffers: structured cloning copies the whole 8 KiB pool slab behind each
// small Buffer.
import type { MessagePort } from 'node:worker_threads';
import { DriftgateError, describeError, errorCatalogue } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BusMessage, DeliveryFailure, EventBus, OutgoingMessage, PartitionLag, SubscribeOptions, Subscription, TopicSpec } from './types.js';

type Call =
  | { op: 'ensureTopics'; topics: TopicSpec[] }
  | { op: 'publish'; topic: string; messages: OutgoingMessage[] }
  | { op: 'subscribe'; sub: number; groupId: string; topics: string[]; fromBeginning: boolean }
  | { op: 'unsubscribe'; sub: number }
  | { op: 'consumerLag'; groupId: string; topics: string[] };

interface WireError {
  message: string;
  code?: string | undefined;
}

type ToHost = ({ t: 'call'; id: number } & Call) | { t: 'ack'; delivery: number; error?: WireError };

interface PackedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  length: number;
}

type ToGuest =
  | { t: 'result'; id: number; value?: unknown; error?: WireError }
  | { t: 'deliver'; sub: number; delivery: number; messages: PackedMessage[]; data: ArrayBuffer }
  | { t: 'failed'; sub: number; failure: Omit<DeliveryFailure, 'error'> & { error: string } };

function toWire(err: unknown): WireError {
  const code = (err as { code?: unknown } | null)?.code;
  return { message: describeError(err), code: typeof code === 'string' ? code : undefined };
}

/** The error on this side of the port: a catalogue error keeps its code (the outbox and logs read it). */
function fromWire(e: WireError): Error {
  if (e.code !== undefined && e.code in errorCatalogue) return new DriftgateError(e.code as ErrorCode, e.message);
  return new Error(e.message);
}

function pack(messages: readonly BusMessage[]): { messages: PackedMessage[]; data: ArrayBuffer } {
  let total = 0;
  for (const m of messages) total += m.value.length;
  const data = new Uint8Array(total);
  let at = 0;
  const packed = messages.map((m) => {
    data.set(m.value, at);
    at += m.value.length;
    return { topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, headers: m.headers, length: m.value.length };
  });
  return { messages: packed, data: data.buffer };
}

function unpack(messages: readonly PackedMessage[], data: ArrayBuffer): BusMessage[] {
  let at = 0;
  return messages.map((m) => {
    const value = Buffer.from(data, at, m.length);
    at += m.length;
    return { topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, headers: m.headers, value };
  });
}

export interface BusHost {
  /** Stops the worker's subscriptions and fails the batches it still holds (they come again). */
  close(): Promise<void>;
}

/**
 * Serves `bus` to the PortBus at the other end of `port`. Closing the host (or the port closing,
 * when the worker ends) stops the subscriptions made through it; the bus itself stays open.
 */
export function hostBusOnPort(bus: EventBus, port: MessagePort, logger: Logger): BusHost {
  const subscriptions = new Map<number, Promise<Subscription>>();
  const deliveries = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let nextDelivery = 1;
  let closed = false;

  const post = (msg: ToGuest, transfer?: ArrayBuffer[]): void => {
    if (!closed) port.postMessage(msg, transfer);
  };

  const deliver = (sub: number, messages: BusMessage[]): Promise<void> => {
    if (closed) return Promise.reject(new DriftgateError('EVENT_BUS_UNAVAILABLE', 'the consumer thread has gone'));
    const delivery = nextDelivery++;
    const { messages: packed, data } = pack(messages);
    return new Promise<void>((resolve, reject) => {
      deliveries.set(delivery, { resolve, reject });
      post({ t: 'deliver', sub, delivery, messages: packed, data }, [data]);
    });
  };

  const run = async (call: Call): Promise<unknown> => {
    switch (call.op) {
      case 'ensureTopics':
        return bus.ensureTopics(call.topics);
      case 'publish':
        return bus.publish(call.topic, call.messages);
      case 'consumerLag':
        return bus.consumerLag(call.groupId, call.topics);
      case 'subscribe': {
        const { sub, groupId, topics, fromBeginning } = call;
        const subscription = bus.subscribe({
          groupId,
          topics,
          fromBeginning,
          offThread: true,
          handle: (messages) => deliver(sub, messages),
          onError: (failure) => post({ t: 'failed', sub, failure: { ...failure, error: describeError(failure.error) } }),
        });
        subscriptions.set(sub, subscription);
        await subscription;
        return undefined;
      }
      case 'unsubscribe': {
        const subscription = subscriptions.get(call.sub);
        subscriptions.delete(call.sub);
        await (await subscription)?.stop();
        return undefined;
      }
    }
  };

  const onMessage = (msg: ToHost): void => {
    if (msg.t === 'ack') {
      const pending = deliveries.get(msg.delivery);
      deliveries.delete(msg.delivery);
      if (msg.error) pending?.reject(fromWire(msg.error));
      else pending?.resolve();
      return;
    }
    const { id } = msg;
    run(msg).then(
      (value) => post({ t: 'result', id, value }),
      (err: unknown) => post({ t: 'result', id, error: toWire(err) }),
    );
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    port.off('message', onMessage);
    for (const pending of deliveries.values()) pending.reject(new DriftgateError('EVENT_BUS_UNAVAILABLE', 'the consumer thread has gone'));
    deliveries.clear();
    const subs = [...subscriptions.values()];
    subscriptions.clear();
    for (const s of subs) {
      try {
        await (await s).stop();
      } catch (err) {
        logger.warn('could not stop a consumer thread\'s subscription', { error: describeError(err) });
      }
    }
    port.close();
  };

  port.on('message', onMessage);
  port.once('close', () => void close());
  return { close };
}

/**
 * The EventBus a worker thread uses: every call goes to the bus hosted at the other end of `port`.
 * `kind` is the hosted bus's kind.
 */
export class PortBus implements EventBus {
  private readonly calls = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private readonly handlers = new Map<number, SubscribeOptions>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly port: MessagePort,
    readonly kind: EventBus['kind'],
    private readonly logger: Logger,
  ) {
    port.on('message', (msg: ToGuest) => this.onMessage(msg));
    // The host's end closes when its thread ends: calls waiting for an answer would wait forever.
    port.once('close', () => this.hostGone());
  }

  ensureTopics(topics: TopicSpec[]): Promise<void> {
    return this.call({ op: 'ensureTopics', topics }) as Promise<void>;
  }

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    return this.call({ op: 'publish', topic, messages }) as Promise<void>;
  }

  consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    return this.call({ op: 'consumerLag', groupId, topics }) as Promise<PartitionLag[]>;
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    const sub = this.nextId++;
    this.handlers.set(sub, opts);
    try {
      await this.call({ op: 'subscribe', sub, groupId: opts.groupId, topics: opts.topics, fromBeginning: opts.fromBeginning ?? false });
    } catch (err) {
      this.handlers.delete(sub);
      throw err;
    }
    return {
      stop: async () => {
        if (!this.handlers.has(sub)) return;
        await this.call({ op: 'unsubscribe', sub });
        this.handlers.delete(sub);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const sub of [...this.handlers.keys()]) {
      try {
        await this.call({ op: 'unsubscribe', sub });
      } catch {
        // The host is gone: nothing is delivered any more either way.
      }
    }
    this.handlers.clear();
    this.closed = true;
    for (const pending of this.calls.values()) pending.reject(new DriftgateError('EVENT_BUS_UNAVAILABLE', 'the event bus is closed'));
    this.calls.clear();
    this.port.close();
  }

  private hostGone(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    for (const pending of this.calls.values()) pending.reject(new DriftgateError('EVENT_BUS_UNAVAILABLE', 'the event bus\'s thread has gone'));
    this.calls.clear();
  }

  private call(call: Call): Promise<unknown> {
    if (this.closed) return Promise.reject(new DriftgateError('EVENT_BUS_UNAVAILABLE', 'the event bus is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.port.postMessage({ t: 'call', id, ...call } satisfies ToHost);
    });
  }

  private onMessage(msg: ToGuest): void {
    switch (msg.t) {
      case 'result': {
        const pending = this.calls.get(msg.id);
        this.calls.delete(msg.id);
        if (msg.error) pending?.reject(fromWire(msg.error));
        else pending?.resolve(msg.value);
        return;
      }
      case 'deliver': {
        const handler = this.handlers.get(msg.sub);
        const ack = (error?: WireError): void => {
          if (!this.closed) this.port.postMessage((error ? { t: 'ack', delivery: msg.delivery, error } : { t: 'ack', delivery: msg.delivery }) satisfies ToHost);
        };
        if (!handler) return ack({ message: 'no such subscription' });
        handler.handle(unpack(msg.messages, msg.data)).then(
          () => ack(),
          (err: unknown) => ack(toWire(err)),
        );
        return;
      }
      case 'failed': {
        const handler = this.handlers.get(msg.sub);
        const failure: DeliveryFailure = { ...msg.failure, error: new Error(msg.failure.error) };
        if (handler?.onError) handler.onError(failure);
        else this.logger.error('a batch was skipped after repeated failures', { ...msg.failure });
        return;
      }
    }
  }
}
