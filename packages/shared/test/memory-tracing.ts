// The real OpenTelemetry SDK with its in-memory exporter, for the tests of
// what the apps trace: each span is exported as it ends.
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { createOtelTracing } from '../src/tracing/otel-tracing.js';
import type { Tracing } from '../src/tracing/tracing.js';

// Re-exported: the apps' tests do not depend on OpenTelemetry themselves.
export { SpanKind, SpanStatusCode } from '@opentelemetry/api';
export type { ReadableSpan };

export interface MemoryTracing {
  readonly tracing: Tracing;
  /** The spans ended so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** The one ended span with this name; throws, naming those there are, if there is not exactly one. */
  span(name: string): ReadableSpan;
  /** What the SDK warned about. */
  readonly warnings: unknown[];
}

export function memoryTracing(serviceName = 'foretell-test'): MemoryTracing {
  const exporter = new InMemorySpanExporter();
  const warnings: unknown[] = [];
  const tracing = createOtelTracing({
    serviceName,
    scheduledDelayMs: 1,
    log: { warn: (...args: unknown[]) => void warnings.push(args) },
    processor: new SimpleSpanProcessor({ exporter }),
  });
  const spans = () => exporter.getFinishedSpans();
  return {
    tracing,
    spans,
    span(name) {
      const found = spans().filter((span) => span.name === name);
      if (found.length !== 1) {
        throw new Error(
          `${found.length} spans named "${name}"; ended: ${spans()
            .map((span) => span.name)
            .join(', ')}`,
        );
      }
      return found[0] as ReadableSpan;
    },
    warnings,
  };
}
