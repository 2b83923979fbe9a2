// gRPC health checking (`grpc.health.v1.Health`), for Kubernetes gRPC probes and load balancers.
// Service "" is the process: SERVING while it answers at all (liveness; it stays SERVING while the
// gateway drains). Service "inference.GRPCInferenceService" is readiness: SERVING once the models
// answer (as /v2/health/ready), NOT_SERVING before and from the start of shutdown.
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { DriftgateError, describeValue } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import type { GatewayContext } from '../routes/context.js';
import { decodeRequest, unary } from './calls.js';
import type { RawRequest } from './calls.js';
import { INFERENCE_SERVICE } from './proto.js';
import { toCallFailure } from './status.js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** The health service names driftgate answers: "" (liveness) and the inference service (readiness). */
export const HEALTH_SERVICES = ['', INFERENCE_SERVICE] as const;

/** How often open Watch streams look for a change of readiness. */
const WATCH_INTERVAL_MS = 1000;

interface Watcher {
  service: string;
  last: ServingStatus | undefined;
  stream: ServerWritableStream<RawRequest, { status: ServingStatus }>;
}

export class HealthService {
  private readonly watchers = new Set<Watcher>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly decoders: Record<string, (bytes: Buffer) => unknown>,
    private readonly logger: Logger,
  ) {}

  status(service: string): ServingStatus {
    if (service === '') return 'SERVING';
    if (service === INFERENCE_SERVICE) return !this.ctx.lifecycle.shuttingDown && this.ctx.registry.ready() ? 'SERVING' : 'NOT_SERVING';
    return 'SERVICE_UNKNOWN';
  }

  implementation(): UntypedServiceImplementation {
    return {
      Check: unary('Check', this.decoders.Check!, this.logger, (request: { service: string }) => {
        const status = this.status(request.service);
        if (status === 'SERVICE_UNKNOWN') {
          throw new DriftgateError('NOT_FOUND', `unknown health service ${describeValue(request.service)}; driftgate answers "" and "${INFERENCE_SERVICE}"`);
        }
        return { status };
      }),
      List: unary('List', this.decoders.List!, this.logger, () => ({
        statuses: Object.fromEntries(HEALTH_SERVICES.map((s) => [s, { status: this.status(s) }])),
      })),
      Watch: (stream: ServerWritableStream<RawRequest, { status: ServingStatus }>) => this.watch(stream),
    };
  }

  /** Sends each watcher its service's status if it changed (readiness changes, shutdown starts). */
  notify(): void {
    for (const w of this.watchers) {
      const status = this.status(w.service);
      if (status === w.last) continue;
      w.last = status;
      w.stream.write({ status });
    }
  }

  /** Ends every Watch stream (after telling it the current status), so the server can close. */
  end(): void {
    this.notify();
    for (const w of this.watchers) w.stream.end();
    this.watchers.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private watch(stream: ServerWritableStream<RawRequest, { status: ServingStatus }>): void {
    let service: string;
    try {
      service = decodeRequest<{ service: string }>(this.decoders.Watch!, stream.request.bytes, 'Watch').service;
    } catch (err) {
      const failure = toCallFailure(err, this.logger, 'Watch');
      stream.request.record.httpStatus = failure.httpStatus;
      stream.emit('error', failure.error);
      return;
    }
    const watcher: Watcher = { service, last: undefined, stream };
    this.watchers.add(watcher);
    const forget = () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
    stream.on('cancelled', forget);
    stream.on('error', forget);
    this.timer ??= setInterval(() => this.notify(), WATCH_INTERVAL_MS).unref();
    this.notify();
  }
}
