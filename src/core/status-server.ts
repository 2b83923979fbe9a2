// The small HTTP server of a process that is not the gateway (the standalone monitor and retrainer):
// Prometheus metrics, liveness, the process's own read-only routes, a JSON 404 for the rest, and the
// same `{"error", "code"}` answers as the gateway for whatever a route throws.
import type { Server } from 'node:http';
import express from 'express';
import type { Registry } from 'prom-client';
import { DriftgateError } from './errors.js';
import { jsonErrorHandler } from './http-errors.js';
import type { Logger } from './logger.js';

export interface StatusServer {
  /** The bound port. */
  port: number;
  close(): Promise<void>;
}

/**
 * An app with `/metrics` and `/healthz`, then `routes`, then a JSON 404. Routes report errors by
 * throwing DriftgateErrors; anything else is answered as INTERNAL and logged (when a logger is given).
 */
export function statusApp(registry: Registry, routes: (app: express.Express) => void, logger?: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    res.json({ live: true });
  });
  routes(app);
  app.use(() => {
    throw new DriftgateError('NOT_FOUND', 'not found');
  });
  app.use(jsonErrorHandler(logger));
  return app;
}

export function listenStatus(app: express.Express, port: number, host: string): Promise<StatusServer> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(port, host, (err?: Error) => {
      if (err) return reject(err);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
    server.once('error', reject);
  });
}
