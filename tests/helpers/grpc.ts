// gRPC clients for the gateway's services, built by @grpc/grpc-js from the same vendored proto files
// the server loads, with promise-returning unary calls.
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { Client, ClientReadableStream, GrpcObject, Metadata, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { HEALTH_PROTO, INFERENCE_PROTO, LOADER_OPTIONS } from '../../src/serve/grpc/proto.js';

const protocol = loadPackageDefinition(loadSync([INFERENCE_PROTO, HEALTH_PROTO], LOADER_OPTIONS));
const inference = (protocol.inference as GrpcObject).GRPCInferenceService as ServiceClientConstructor;
const health = (((protocol.grpc as GrpcObject).health as GrpcObject).v1 as GrpcObject).Health as ServiceClientConstructor;

export type Message = Record<string, unknown>;

export interface GrpcClient {
  inference: Client;
  health: Client;
  /** One unary call; rejects with the ServiceError (code, details, metadata) the server ended it with. */
  call(service: 'inference' | 'health', method: string, request: Message, deadlineMs?: number): Promise<Message>;
  /** A health Watch stream of `{status}` messages. */
  watch(service: string): ClientReadableStream<{ status: string }>;
  close(): void;
}

export function grpcClient(port: number): GrpcClient {
  const target = `127.0.0.1:${port}`;
  const clients = { inference: new inference(target, credentials.createInsecure()), health: new health(target, credentials.createInsecure()) };
  return {
    ...clients,
    call: (service, method, request, deadlineMs) =>
      new Promise((resolve, reject) => {
        const client = clients[service] as unknown as Record<string, (r: Message, o: object, cb: (err: ServiceError | null, res: Message) => void) => void>;
        const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
        client[method]!.call(client, request, options, (err, res) => (err ? reject(err) : resolve(res)));
      }),
    watch: (service) => (clients.health as unknown as { Watch(r: Message): ClientReadableStream<{ status: string }> }).Watch({ service }),
    close: () => {
      clients.inference.close();
      clients.health.close();
    },
  };
}

/** The error a promise rejects with (a gRPC ServiceError); fails when it resolves. */
export async function grpcError(promise: Promise<unknown>): Promise<ServiceError & { metadata: Metadata }> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError & { metadata: Metadata };
  }
  throw new Error('the call succeeded');
}

/** FP32 values as raw little-endian bytes. */
export function rawFp32(values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeFloatLE(v, i * 4));
  return out;
}

/** BYTES elements as raw contents: each with a 4-byte little-endian length prefix. */
export function rawBytes(items: string[]): Buffer {
  return Buffer.concat(
    items.flatMap((s) => {
      const b = Buffer.from(s, 'utf8');
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32LE(b.length);
      return [prefix, b];
    }),
  );
}

/** Decodes raw output contents: FP32 to numbers, BYTES to strings. */
export function decodeRawOutput(datatype: string, raw: Buffer): (number | string)[] {
  if (datatype === 'FP32') return Array.from({ length: raw.length / 4 }, (_, i) => raw.readFloatLE(i * 4));
  const out: string[] = [];
  for (let at = 0; at < raw.length; ) {
    const n = raw.readUInt32LE(at);
    out.push(raw.subarray(at + 4, at + 4 + n).toString('utf8'));
    at += 4 + n;
  }
  return out;
}
