// driftgate's own version, read once from package.json so the V2 server metadata, the gRPC
// ServerMetadata and the OpenAPI document never fall behind a release. The path is resolved from this
// module: src/core/version.ts (run through tsx) and dist/core/version.js (after `npm run build`) are
// both two levels below the package root.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const packageJson = z.object({ version: z.string().min(1) });

/** The `version` of driftgate's package.json, e.g. `0.1.0`. */
export const DRIFTGATE_VERSION: string = packageJson.parse(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))).version;
