// The vendored protocol files (proto/, see proto/README.md), loaded at run time. They are found from
// the package root, which is three levels above this file both as source (src/serve/grpc) and as
// build output (dist/serve/grpc).
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import type { Options, PackageDefinition } from '@grpc/proto-loader';

export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));
export const INFERENCE_PROTO = 'kserve/grpc_predict_v2.proto';
export const HEALTH_PROTO = 'grpc/health/v1/health.proto';

export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/**
 * How messages become objects: field names as in the proto, 64-bit integers as numbers (larger ones
 * lose precision and are refused as out of range), enums as names, unset fields with their defaults
 * and the name of the set field of each oneof.
 */
export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let loaded: PackageDefinition | undefined;

/** Both services' package definition (loaded once). */
export function loadProtocol(): PackageDefinition {
  loaded ??= loadSync([INFERENCE_PROTO, HEALTH_PROTO], LOADER_OPTIONS);
  return loaded;
}
