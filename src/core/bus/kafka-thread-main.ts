// The Kafka client's worker thread (started by kafka-thread.ts): one KafkaBus, served to the
// gateway's thread over the port it was given. Its log lines go to the gateway's logger.
import { parentPort, workerData } from 'node:worker_threads';
import { describeError } from '../errors.js';
import { forwardingLogger } from '../threads.js';
import { hostBusOnPort } from './port-bus.js';
import { createEventBus } from './index.js';
import type { FromKafkaThread, KafkaThreadInit, ToKafkaThread } from './kafka-thread.js';

const init = workerData as KafkaThreadInit;
const parent = parentPort!;
const send = (msg: FromKafkaThread): void => parent.postMessage(msg);
const logger = forwardingLogger(send);

const bus = createEventBus(init.busConfig, logger);
const host = hostBusOnPort(bus, init.busPort, logger);

parent.on('message', (msg: ToKafkaThread) => {
  if (msg.t !== 'close') return;
  void (async () => {
    try {
      await host.close();
      await bus.close();
    } catch (err) {
      logger.warn('the Kafka client did not close cleanly', { error: describeError(err) });
    }
    send({ t: 'closed' });
    parent.close();
  })();
});
