// A Kafka broker of a test's own (own run dir and ports, started by the project's script), for
// tests that stop and restart the broker without disturbing the shared one.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KAFKA_SCRIPT = fileURLToPath(new URL('../../deploy/kafka/kafka.sh', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export class PrivateBroker {
  readonly brokers: string[];
  private constructor(
    private readonly dir: string,
    private readonly port: number,
    private readonly controllerPort: number,
  ) {
    this.brokers = [`127.0.0.1:${port}`];
  }

  static async create(): Promise<PrivateBroker> {
    return new PrivateBroker(mkdtempSync(join(tmpdir(), 'dg-kafka-')), await freePort(), await freePort());
  }

  run(command: 'start' | 'stop'): Promise<void> {
    const env = {
      ...process.env,
      DRIFTGATE_KAFKA_DIR: this.dir,
      DRIFTGATE_KAFKA_PORT: String(this.port),
      DRIFTGATE_KAFKA_CONTROLLER_PORT: String(this.controllerPort),
    };
    return new Promise((resolve, reject) => {
      // Asynchronous on purpose: the clients in this process keep running meanwhile.
      execFile('bash', [KAFKA_SCRIPT, command], { env, timeout: 300_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`kafka.sh ${command} failed: ${error.message}\n${`${stdout}${stderr}`.trim().split('\n').slice(-20).join('\n')}`));
        else resolve();
      });
    });
  }

  async destroy(): Promise<void> {
    await this.run('stop').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export { waitFor } from './wait.js';
