import {
  context,
  createContextKey,
  diag,
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import {
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_STORED_PROCEDURE_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { Model } from '../model.js';
import { remoteSpanContextOf, traceparentOf } from './span-context-codec.js';
import type { Tracing } from './tracing.js';

// Incubating in the semantic conventions, whose docs say to copy such names rather than import them.
const MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
const MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
const MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
const MESSAGING_MESSAGE_ID = 'messaging.message.id';
const JOB_ID = 'foretell.job.id';
const JOB_OUTCOME = 'foretell.job.outcome';
const REQUEST_ID = 'foretell.request.id';
const ENQUEUE_OUTCOME = 'foretell.enqueue.outcome';
const MODEL_NAME = 'foretell.model.name';
const MODEL_VERSION = 'foretell.model.version';

// A collector that is away must not hold a stopping process past this.
const SHUTDOWN_TIMEOUT_MS = 5000;

const JOB_SPAN = createContextKey('foretell job span');

export interface OtelTracingOptions {
  readonly serviceName: string;
  /** Milliseconds between two exports. */
  readonly scheduledDelayMs: number;
  /** Where the SDK's own warnings and errors (an export that failed) go. */
  readonly log: Pick<Logger, 'warn'>;
  /** Tests: where spans go instead of the OTLP exporter. */
  readonly processor?: SpanProcessor;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function markFailed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : messageOf(error));
  span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : 'Error');
  span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
}

/** Runs `body` with a new span (child of `parent`) active, ending it, marked failed if `body` throws. */
function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  parent: Context,
  body: (span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(name, options, parent);
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await body(span);
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

let contextManagerInstalled = false;

/**
 * The span context follows async calls through AsyncLocalStorage. Registered
 * once per process: the API refuses a second registration (with an error in
 * the log), and the first manager serves every tracing made after it (tests).
 */
function installContextManager(): void {
  if (contextManagerInstalled) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  contextManagerInstalled = true;
}

function routeDiagnostics(log: Pick<Logger, 'warn'>): void {
  const warn = (message: string, ...args: unknown[]) =>
    log.warn({ otel: args.map(String) }, `opentelemetry: ${message}`);
  const ignore = () => undefined;
  diag.setLogger(
    { error: warn, warn, info: ignore, debug: ignore, verbose: ignore },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

/** Tracing through the OpenTelemetry SDK, exporting OTLP/HTTP (JSON) as the standard variables configure it. */
export function createOtelTracing(options: OtelTracingOptions): Tracing {
  routeDiagnostics(options.log);
  installContextManager();
  const resource = defaultResource()
    .merge(detectResources({ detectors: [resourceAttributesEnvDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }));
  const processor =
    options.processor ??
    new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), scheduledDelayMillis: options.scheduledDelayMs });
  const provider = new TracerProvider({ resource, spanProcessors: [processor] });
  const tracer = provider.getTracer('foretell');

  return {
    startRequest({ method, path, requestId, traceparent, tracestate }) {
      const remote = remoteSpanContextOf(traceparent, tracestate);
      const parent = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
      const span = tracer.startSpan(
        method,
        {
          kind: SpanKind.SERVER,
          attributes: {
            [ATTR_HTTP_REQUEST_METHOD]: method,
            [ATTR_URL_PATH]: path,
            [ATTR_URL_SCHEME]: 'http',
            [REQUEST_ID]: requestId,
          },
        },
        parent,
      );
      const active = trace.setSpan(parent, span);
      let ended = false;
      return {
        run: (fn) => context.with(active, fn),
        end(statusCode, route) {
          if (ended) return;
          ended = true;
          if (route !== undefined) {
            span.setAttribute(ATTR_HTTP_ROUTE, route);
            span.updateName(`${method} ${route}`);
          }
          if (statusCode !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
          // A server span is an error for 5xx only: a 4xx is the client's (HTTP semantic conventions).
          if (statusCode !== undefined && statusCode >= 500) {
            span.setAttribute(ATTR_ERROR_TYPE, String(statusCode));
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          span.end();
        },
      };
    },

    enqueue(stream, jobId, send) {
      const attributes = { [MESSAGING_OPERATION_TYPE]: 'send', [MESSAGING_DESTINATION_NAME]: stream, [JOB_ID]: jobId };
      return inSpan(
        tracer,
        `enqueue ${stream}`,
        { kind: SpanKind.PRODUCER, attributes },
        context.active(),
        async (span) => {
          const answer = await send(traceparentOf(span.spanContext()));
          // A replayed idempotency key answers with the first job's id.
          span.setAttributes({ [ENQUEUE_OUTCOME]: answer.outcome, [JOB_ID]: answer.id });
          return answer;
        },
      );
    },

    redisCall(command, script, call) {
      const attributes = {
        [ATTR_DB_SYSTEM_NAME]: 'redis',
        [ATTR_DB_OPERATION_NAME]: command,
        ...(script !== undefined && { [ATTR_DB_STORED_PROCEDURE_NAME]: script }),
      };
      const name = script === undefined ? command : `${command} ${script}`;
      return inSpan(tracer, name, { kind: SpanKind.CLIENT, attributes }, context.active(), call);
    },

    traceModel(model) {
      const name = `predict ${model.name ?? 'model'}`;
      const attributes = {
        ...(model.name !== undefined && { [MODEL_NAME]: model.name }),
        ...(model.version !== undefined && { [MODEL_VERSION]: model.version }),
      };
      const traced: Model = {
        ...model,
        predict: (input, predictOptions) =>
          inSpan(tracer, name, { kind: SpanKind.INTERNAL, attributes }, context.active(), () =>
            model.predict(input, predictOptions),
          ),
      };
      return traced;
    },

    runJob(job, run) {
      const remote = remoteSpanContextOf(job.traceparent);
      const parent = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
      const span = tracer.startSpan(
        `process ${job.stream}`,
        {
          kind: SpanKind.CONSUMER,
          // The parent says "caused by this request"; the link is what messaging tools follow across a queue.
          links: remote ? [{ context: remote }] : [],
          attributes: {
            [MESSAGING_OPERATION_TYPE]: 'process',
            [MESSAGING_DESTINATION_NAME]: job.stream,
            [MESSAGING_CONSUMER_GROUP_NAME]: job.group,
            [MESSAGING_MESSAGE_ID]: job.entryId,
            [JOB_ID]: job.jobId,
            ...(job.requestId !== undefined && { [REQUEST_ID]: job.requestId }),
          },
        },
        parent,
      );
      return context.with(trace.setSpan(parent, span).setValue(JOB_SPAN, span), async () => {
        try {
          return await run();
        } catch (error) {
          markFailed(span, error);
          throw error;
        } finally {
          span.end();
        }
      });
    },

    jobEnded(outcome, reason) {
      // The job's span, not the innermost one: this may be called inside a span of a Redis call.
      const span = context.active().getValue(JOB_SPAN) as Span | undefined;
      if (span === undefined) return;
      span.setAttribute(JOB_OUTCOME, outcome);
      if (outcome !== 'succeeded') span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
    },

    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS);
        timer.unref();
      });
      try {
        await Promise.race([provider.shutdown(), timeout]);
      } catch (error) {
        options.log.warn({ err: error }, 'opentelemetry: spans could not all be exported at shutdown');
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
