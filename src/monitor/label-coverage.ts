// The share of predictions that got their label: joined and expired predictions per model since the
// store began, kept in the store beside the events.
import { z } from 'zod';
import type { MonitorMetrics } from './metrics.js';
import type { MonitorStore } from './store.js';

/** A model's counts as stored; a bad one is logged and the model's counts start again from 0. */
const coverageSchema = z.object({ joined: z.number().int().nonnegative(), expired: z.number().int().nonnegative() });
type Coverage = z.infer<typeof coverageSchema>;

export class LabelCoverage {
  private readonly coverage = new Map<string, Coverage>();
  /** Models counted since the last save. */
  private readonly touched = new Set<string>();

  constructor(
    private readonly store: MonitorStore,
    private readonly gauge: MonitorMetrics['labelCoverage'],
  ) {}

  count(model: string, joined: number, expired: number): void {
    let c = this.coverage.get(model);
    if (!c) this.coverage.set(model, (c = this.store.getState(`coverage:${model}`, coverageSchema) ?? { joined: 0, expired: 0 }));
    this.touched.add(model);
    c.joined += joined;
    c.expired += expired;
    this.gauge.set({ model }, c.joined / Math.max(1, c.joined + c.expired));
  }

  /** Writes the counts of the models counted since the last save (inside the batch's transaction). */
  save(): void {
    for (const model of this.touched) this.store.putState(`coverage:${model}`, this.coverage.get(model));
    this.touched.clear();
  }

  /** Forgets what is in memory, after a rollback: the store's counts are read again on next use. */
  clear(): void {
    this.coverage.clear();
    this.touched.clear();
  }
}
