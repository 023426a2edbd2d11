/**
 * Every metric foretell exports, by name: the one list the apps define their
 * metrics from, and that the files outside the code (the Prometheus and
 * Grafana configuration, the HPA in deploy/) are checked against. Names
 * follow Prometheus conventions: a `foretell_` prefix, base units
 * (`_seconds`), `_total` for counters. Besides these, each process exports
 * prom-client's default process metrics (`process_*`, `nodejs_*`).
 */
export const METRICS = {
  /** Histogram by `route` (the route's pattern, not the URL), `method` and `status_code`; API only. */
  httpRequestDuration: 'foretell_http_request_duration_seconds',
  /**
   * Counter by `mode` (`sync`, `async`) and `outcome`: sync `succeeded`,
   * `failed`, `timed_out`, `refused` (overloaded or loading); async `queued`,
   * `replayed` (an Idempotency-Key repeat), `refused` (a cap, Redis full or away); API only.
   */
  predictions: 'foretell_predictions_total',
  /**
   * Counter by `result` of POST /predict/{id}/cancel: `queued` and
   * `processing` (canceled; what the job was doing), `missing` (404),
   * `final` (409: it had its outcome already); API only.
   */
  cancellations: 'foretell_cancellations_total',
  /** Histogram of the model's calls (a sync request's, a job's attempt), whatever their outcome; both apps. */
  modelDuration: 'foretell_model_duration_seconds',
  /**
   * Counter by `outcome`: `succeeded`, `failed` (for good), `retried`,
   * `reclaimed` (taken over from a consumer that stopped), `dead_lettered`
   * (failed jobs and unparsable entries), `expired` (the hash was gone),
   * `canceled` (a running job's model call aborted by a cancel); consumer only.
   */
  jobs: 'foretell_jobs_total',
  /** Gauge: jobs this consumer holds (running or about to); consumer only. */
  jobsInFlight: 'foretell_jobs_in_flight',
  /** Gauge: entries in the jobs stream, waiting or in flight (the backlog: acked entries are deleted). */
  queueLength: 'foretell_queue_length',
  /** Gauge: entries delivered to a consumer and not yet acked (XPENDING). */
  queuePending: 'foretell_queue_pending',
  /** Gauge: entries not yet delivered to any consumer (XINFO GROUPS `lag`): what more consumers would take. */
  queueLag: 'foretell_queue_lag',
  /** Gauge: age of the oldest entry in the stream, 0 when it is empty. */
  queueOldestAge: 'foretell_queue_oldest_age_seconds',
  /** Gauge: jobs waiting for a retry. */
  retriesScheduled: 'foretell_retries_scheduled',
  /** Gauge: entries in the dead-letter stream. */
  deadLetters: 'foretell_dead_letters',
  /** Gauge: requests waiting on jobs in this API process (long-polls, live events streams); API only. */
  waitingRequests: 'foretell_waiting_requests',
  /** Gauge by `state`: `running`, `waiting`: webhook host lookups at submission; API only. */
  webhookLookups: 'foretell_webhook_lookups',
  /** Counter by `outcome`: `delivered`, `retried`, `failed` (for good), `gone` (410); consumer only. */
  webhookDeliveries: 'foretell_webhook_deliveries_total',
  /** Gauge: webhook deliveries waiting, due or being sent (ZCARD of the deliveries set); consumer only. */
  webhooksPending: 'foretell_webhooks_pending',
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];

export const METRIC_NAMES: readonly MetricName[] = Object.values(METRICS);

/** The queue gauges: read from Redis at scrape time, the same in every process of one deployment. */
export const QUEUE_METRIC_NAMES: readonly MetricName[] = [
  METRICS.queueLength,
  METRICS.queuePending,
  METRICS.queueLag,
  METRICS.queueOldestAge,
  METRICS.retriesScheduled,
  METRICS.deadLetters,
];
