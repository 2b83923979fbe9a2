// Translation between kafkajs and the bus: kafkajs messages into BusMessage, kafkajs' log lines into
// our structured logger.
import { logLevel } from 'kafkajs';
import type { IHeaders, KafkaMessage, LogEntry, logCreator } from 'kafkajs';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { lazyBusMessage } from './kafka-bus-parts.js';
import type { BusMessage } from './types.js';

function headerValues(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) out[name] = value.toString();
  }
  return out;
}

export function toBusMessage(topic: string, partition: number, m: KafkaMessage): BusMessage {
  return lazyBusMessage(topic, partition, m.offset, m.key, m.value, m.headers, headerValues);
}

/** kafkajs' own log lines, at warn and error only, into our structured logger. */
export function bridgeLogs(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _time, logger: _name, ...extra } = log;
      const fields = { kafkajs: namespace, ...extra };
      // Said once per producer; bounded retries are on purpose here (see KafkaBusOptions.retry).
      if (message.startsWith('Limiting retries for the idempotent producer')) logger.debug(`kafkajs: ${message}`, fields);
      else if (level === logLevel.ERROR) logger.error(`kafkajs: ${message}`, fields);
      else if (level === logLevel.WARN) logger.warn(`kafkajs: ${message}`, fields);
    };
}

export function logDisconnect(logger: Logger, client: string, err: unknown): void {
  logger.warn(`Kafka ${client} did not disconnect cleanly`, { error: describeError(err) });
}
