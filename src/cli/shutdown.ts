// Graceful stop on SIGTERM / SIGINT, shared by the long-running commands: close once, then exit 0, or
// exit 1 when closing fails.
import { describeError } from '../core/index.js';
import type { Logger } from '../core/index.js';

export function exitOnSignals(logger: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    close()
      .then(() => process.exit(0))
      .catch((err) => {
        logger.error('shutdown failed', { error: describeError(err) });
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
