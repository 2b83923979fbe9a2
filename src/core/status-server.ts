// The small HTTP server of a process that is not the gateway (the standalone monitor and retrainer):
// Prometheus metrics, liveness, the process's own read-only routes, and a JSON 404 for the rest.
import type { Server } from 'node:http';
import express from 'express';
import type { Registry } from 'prom-client';

export interface StatusServer {
  /** The bound port. */
  port: number;
  close(): Promise<void>;
}

/** An app with `/metrics` and `/healthz`, then `routes`, then a JSON 404. */
export function statusApp(registry: Registry, routes: (app: express.Express) => void): express.Express {
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
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
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
