// The gateway's gRPC server: `inference.GRPCInferenceService` and `grpc.health.v1.Health` on one port,
// sharing the HTTP gateway's context (registry, batcher, breaker, metrics, prediction events).
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { GrpcObject, ServiceClientConstructor } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import type { Logger } from '../../core/index.js';
import type { GatewayContext } from '../routes/context.js';
import { passThroughRequests, requestMetricsInterceptor } from './calls.js';
import { HealthService } from './health.js';
import { inferenceService } from './inference.js';
import { HEALTH_SERVICE, INFERENCE_SERVICE, loadProtocol } from './proto.js';

export interface GrpcServer {
  /** The bound port. */
  port: number;
  /** Tells health watchers about a change (shutdown started) at once. */
  notifyHealth(): void;
  /** Stops accepting calls and lets in-flight ones finish for up to `graceMs`, then cuts the rest off. */
  close(graceMs: number): Promise<void>;
}

/** A service's definition in the loaded package, by its full name. */
function serviceDefinition(name: string) {
  let node: GrpcObject | ServiceClientConstructor = loadPackageDefinition(loadProtocol());
  for (const part of name.split('.')) node = (node as GrpcObject)[part] as GrpcObject | ServiceClientConstructor;
  return (node as ServiceClientConstructor).service;
}

/** `host:port` as gRPC addresses write it (IPv6 literals in brackets). */
function address(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export async function listenGrpc(ctx: GatewayContext, port: number, host: string, logger: Logger): Promise<GrpcServer> {
  const server = new Server({
    // Larger messages are refused by grpc-js with RESOURCE_EXHAUSTED before they are buffered whole;
    // compressed messages are bounded once inflated, as HTTP bodies are.
    'grpc.max_receive_message_length': ctx.config.maxBodyBytes,
    interceptors: [requestMetricsInterceptor(ctx.metrics)],
  });
  const inference = passThroughRequests(serviceDefinition(INFERENCE_SERVICE));
  server.addService(inference.definition, inferenceService(ctx, inference.decoders, logger));
  const healthDefinition = passThroughRequests(serviceDefinition(HEALTH_SERVICE));
  const health = new HealthService(ctx, healthDefinition.decoders, logger);
  server.addService(healthDefinition.definition, health.implementation());

  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address(host, port), ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port: bound,
    notifyHealth: () => health.notify(),
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        // Open Watch streams would hold the shutdown until the grace period ends: end them first.
        health.end();
        const cutOff = setTimeout(() => {
          logger.warn('shutdown grace period over; cancelling remaining gRPC calls');
          server.forceShutdown();
          resolve();
        }, graceMs);
        cutOff.unref();
        server.tryShutdown(() => {
          clearTimeout(cutOff);
          resolve();
        });
      }),
  };
}
