// Training progress on stderr. On a terminal: one line redrawn in place (a bar for the epochs of the
// current phase, or for the search trials). Elsewhere (CI logs, files): plain lines, a few per run, so
// a log stays readable.
import type { TrainEvent } from '../train/index.js';

export interface ProgressOutput {
  write(text: string): unknown;
}

const BAR_WIDTH = 24;
/** Plain-line mode prints an epoch line about this many times per run. */
const PLAIN_EPOCH_LINES = 10;

export class TrainingProgress {
  private lineOpen = false;
  private trialsDone = 0;
  private bestTrial = Number.NEGATIVE_INFINITY;
  private stage = '';
  /** Plain-line mode: the last epoch line, when it was skipped, to print before the next stage. */
  private unprinted: string | undefined;

  constructor(
    private readonly out: ProgressOutput,
    private readonly tty: boolean,
  ) {}

  handle(event: TrainEvent): void {
    switch (event.type) {
      case 'stage':
        return this.onStage(event.stage, event.message);
      case 'epoch': {
        const { record, totalEpochs } = event;
        // Training metrics first, then their validation counterparts.
        const metrics = Object.entries(record.metrics)
          .sort(([a], [b]) => Number(a.startsWith('val_')) - Number(b.startsWith('val_')) || (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join('  ');
        const text = `epoch ${record.epoch}/${totalEpochs}${record.phase === 'train' ? '' : ` (${record.phase})`}  loss ${fmt(record.loss)}  val_loss ${fmt(record.valLoss)}  ${metrics}`;
        if (this.tty) return this.redraw(`${bar(record.epoch, totalEpochs)} ${text}`);
        const every = Math.max(1, Math.ceil(totalEpochs / PLAIN_EPOCH_LINES));
        if (record.epoch % every === 0 || record.epoch === totalEpochs || record.epoch === 1) {
          this.line(text);
          this.unprinted = undefined;
        } else {
          this.unprinted = text;
        }
        return;
      }
      case 'trial': {
        this.trialsDone++;
        this.bestTrial = Math.max(this.bestTrial, event.trial.finalScore);
        const t = event.trial;
        const text = `trial ${this.trialsDone}/${event.total}  lr ${fmt(t.hyperparameters.learningRate)}  score ${fmt(t.finalScore)} after ${t.rungs.at(-1)?.epochs ?? 0} epochs  best ${fmt(this.bestTrial)}`;
        if (this.tty) return this.redraw(`${bar(this.trialsDone, event.total)} ${text}`);
        return this.line(text);
      }
    }
  }

  /** Ends the redrawn line, so whatever is printed next starts on a fresh one. */
  finish(): void {
    if (this.lineOpen) this.out.write('\n');
    this.lineOpen = false;
  }

  private onStage(stage: string, message: string | undefined): void {
    if (stage === this.stage) return;
    this.stage = stage;
    this.finish();
    // The epoch training ended on (early stopping) belongs in a log even when it was not due a line.
    if (this.unprinted) this.out.write(`${this.unprinted}\n`);
    this.unprinted = undefined;
    this.line(`» ${stage}${message ? `: ${message}` : ''}`);
  }

  private redraw(text: string): void {
    this.out.write(`\r\x1b[2K${text}`);
    this.lineOpen = true;
  }

  private line(text: string): void {
    this.finish();
    this.out.write(`${text}\n`);
  }
}

function bar(done: number, total: number): string {
  const share = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(share * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1000 ? x.toFixed(0) : Number(x.toPrecision(4)).toString();
}
