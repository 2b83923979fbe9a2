// The retrain loop's metrics. Labels are bounded: model, outcome, phase.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

export type RetrainMetrics = ReturnType<typeof createRetrainMetrics>;

export function createRetrainMetrics(registry: Registry) {
  const registers = [registry];
  return {
    jobs: new Counter({
      name: 'driftgate_retrains_total',
      help: 'Retrain jobs finished, by outcome (promoted, rejected, failed, cancelled).',
      labelNames: ['model', 'outcome'] as const,
      registers,
    }),
    phaseDuration: new Histogram({
      name: 'driftgate_retrain_phase_duration_seconds',
      help: 'Time a retrain job spent in each phase: data, train, gate, swap.',
      labelNames: ['model', 'phase'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
      registers,
    }),
    promotions: new Counter({ name: 'driftgate_promotions_total', help: 'Versions promoted by the retrain loop.', labelNames: ['model'] as const, registers }),
    rejections: new Counter({ name: 'driftgate_rejections_total', help: 'Challengers the gate rejected.', labelNames: ['model'] as const, registers }),
    rollbacks: new Counter({
      name: 'driftgate_rollbacks_total',
      help: 'Promotions undone by the post-promotion watch.',
      labelNames: ['model'] as const,
      registers,
    }),
    lastRecovery: new Gauge({
      name: 'driftgate_last_recovery_seconds',
      help: 'Time from the retrain request to the new version promoted, for the last promotion.',
      labelNames: ['model'] as const,
      registers,
    }),
    lastPromotion: new Gauge({
      name: 'driftgate_last_promotion_timestamp_seconds',
      help: 'When the retrain loop last promoted a version (Unix time).',
      labelNames: ['model'] as const,
      registers,
    }),
    activeJobs: new Gauge({ name: 'driftgate_retrain_jobs_active', help: 'Retrain jobs queued or running.', labelNames: ['model'] as const, registers }),
    windowExamples: new Gauge({
      name: 'driftgate_retrain_window_examples',
      help: 'Joined examples in the retrainer\'s window, per model.',
      labelNames: ['model'] as const,
      registers,
    }),
  };
}
