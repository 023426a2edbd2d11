import { METRICS, type Registry } from '@foretell/shared';
import { Gauge } from 'prom-client';
import type { JobNotifier } from '../waiting/job-notifier.js';

/**
 * `foretell_waiting_requests`: long-polls and live events streams waiting on
 * jobs in this API process, read when scraped; against MAX_WAITERS it says
 * how close the process is to answering 503 TOO_MANY_WAITERS.
 */
export function registerWaiterMetrics(registry: Registry, notifier: Pick<JobNotifier, 'waiters'>): void {
  new Gauge({
    name: METRICS.waitingRequests,
    help: 'Requests waiting on jobs in this API process (long-polls and live events streams); capped by MAX_WAITERS.',
    registers: [registry],
    collect() {
      this.set(notifier.waiters());
    },
  });
}
