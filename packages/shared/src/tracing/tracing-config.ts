import type { Static } from 'typebox';
import { Type } from '../typebox.js';

const OTLP_URL = '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s]+$';

/**
 * The variables of tracing, in both apps' configurations. The names are
 * OpenTelemetry's own; the exporter also reads the other standard OTLP
 * variables (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, ...) itself.
 */
export const TracingConfigProperties = {
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.String({
    default: '',
    pattern: OTLP_URL,
    description:
      'Set (http:// or https://), spans are exported over OTLP/HTTP (JSON) to `<endpoint>/v1/traces`; empty: no tracing, and no OpenTelemetry code is loaded.',
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Type.String({
    default: '',
    pattern: OTLP_URL,
    description:
      'The full URL spans are exported to, instead of `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`; set alone, it turns tracing on too.',
  }),
  OTEL_SERVICE_NAME: Type.String({
    default: '',
    maxLength: 255,
    description:
      'The `service.name` of the spans; empty: `foretell-api` for the API, `foretell-consumer` for the consumer.',
  }),
  OTEL_BSP_SCHEDULE_DELAY: Type.Integer({
    default: 5000,
    minimum: 1,
    maximum: 3600000,
    description: 'Milliseconds between two exports of the spans ended meanwhile.',
  }),
};

export const TracingConfigSchema = Type.Object(TracingConfigProperties);
export type TracingConfig = Readonly<Static<typeof TracingConfigSchema>>;

/** Whether the configuration turns tracing on: an OTLP endpoint is set. */
export function isTracingOn(config: TracingConfig): boolean {
  return config.OTEL_EXPORTER_OTLP_ENDPOINT !== '' || config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== '';
}
