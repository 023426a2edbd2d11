import { METRICS, type LookupGate, type Registry } from '@foretell/shared';
import { Gauge } from 'prom-client';

/**
 * `foretell_webhook_lookups{state}`: webhook hosts being looked up (`running`,
 * each holding a threadpool thread) and submissions waiting for a thread
 * (`waiting`), read when scraped; a full `waiting` is when webhook
 * submissions get 503 WEBHOOK_LOOKUPS_BUSY.
 */
export function registerWebhookLookupMetrics(registry: Registry, gate: Pick<LookupGate, 'running' | 'waiting'>): void {
  new Gauge({
    name: METRICS.webhookLookups,
    help: 'Webhook host lookups at submission in this API process: running (a threadpool thread each) or waiting for one.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'running' }, gate.running());
      this.set({ state: 'waiting' }, gate.waiting());
    },
  });
}
