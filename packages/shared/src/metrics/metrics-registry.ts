import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A registry of one process's metrics, served at `/metrics`. Each app builds
 * its own (never prom-client's global one), so tests can build many apps in
 * one process without their counts meeting.
 */
export function createMetricsRegistry({ processMetrics }: { readonly processMetrics: boolean }): Registry {
  const registry = new Registry();
  // Only in the real processes: the default collectors start monitors
  // (event-loop delay, GC) that are never stopped, one set per call.
  if (processMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

export type { Registry } from 'prom-client';
