import { METRICS, type Registry } from '@foretell/shared';
import { Counter, Gauge } from 'prom-client';
import type { Consumer, ConsumerStats } from './stream-consumer.js';

type JobOutcome = 'succeeded' | 'failed' | 'retried' | 'reclaimed' | 'dead_lettered' | 'expired' | 'canceled';

/** Each outcome of `foretell_jobs_total`, from the consumer's own counts. */
const OUTCOMES: Readonly<Record<JobOutcome, (stats: Readonly<ConsumerStats>) => number>> = {
  succeeded: (stats) => stats.succeeded,
  failed: (stats) => stats.failed,
  retried: (stats) => stats.retried,
  reclaimed: (stats) => stats.reclaimed,
  // A job that failed for good is dead-lettered, and so is an entry that did not parse.
  dead_lettered: (stats) => stats.failed + stats.poison,
  expired: (stats) => stats.expired,
  canceled: (stats) => stats.canceled,
};

/**
 * The consumer's job metrics, read from its counts when scraped: nothing is
 * added to a job's path (the counts are kept anyway, for the tests and logs).
 */
export function registerConsumerMetrics(registry: Registry, consumer: Consumer): void {
  new Counter({
    name: METRICS.jobs,
    help: 'Jobs this consumer handled, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      // Set from the counts, which only grow: reset, then each outcome's total.
      this.reset();
      for (const [outcome, count] of Object.entries(OUTCOMES)) this.inc({ outcome }, count(consumer.stats));
    },
  });
  new Gauge({
    name: METRICS.jobsInFlight,
    help: 'Jobs this consumer holds: running, or read and about to run.',
    registers: [registry],
    collect() {
      this.set(consumer.inFlight());
    },
  });
}
