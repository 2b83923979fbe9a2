// How a demo run is stopped from outside: SIGINT (Ctrl-C) or SIGTERM.
import { EXIT_INTERRUPTED } from '../args.js';

/** Exit code after SIGTERM (128 + 15). */
export const EXIT_TERMINATED = 143;

/**
 * SIGINT (Ctrl-C) and SIGTERM stop a run cleanly: traffic stops, the summary so far is printed, a
 * stack the demo started is closed. A second signal exits at once.
 */
export class StopSignal {
  private readonly controller = new AbortController();
  exitCode = EXIT_INTERRUPTED;
  private readonly handler = (signal: NodeJS.Signals) => {
    if (this.stopped) process.exit(this.exitCode);
    this.exitCode = signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
    this.controller.abort();
  };

  constructor() {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}
