import type { Logger } from 'pino';
import { isTracingOn, type TracingConfig } from './tracing-config.js';
import type { Tracing } from './tracing.js';

/**
 * The tracing the configuration asks for: undefined without an OTLP
 * endpoint, and then no OpenTelemetry module is ever imported (the SDK is
 * only reached through this dynamic import). `defaultServiceName` is the
 * app's, for an empty OTEL_SERVICE_NAME.
 */
export async function loadTracing(
  config: TracingConfig,
  defaultServiceName: string,
  log: Pick<Logger, 'warn'>,
): Promise<Tracing | undefined> {
  if (!isTracingOn(config)) return undefined;
  const { createOtelTracing } = await import('./otel-tracing.js');
  return createOtelTracing({
    serviceName: config.OTEL_SERVICE_NAME || defaultServiceName,
    scheduledDelayMs: config.OTEL_BSP_SCHEDULE_DELAY,
    log,
  });
}
