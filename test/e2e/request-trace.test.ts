import { describe, expect, it } from 'vitest';
import { waitForApi } from '../support/app-process.js';
import { useAppsOnPrefix } from '../support/apps-on-prefix.js';
import { acceptedId, fetchClient } from '../support/predict-client.js';
import { freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';

// A request's X-Request-Id and traceparent, from the client through the real
// API and Redis into the real consumer's log lines. The lifecycle fixture
// refuses the input "fail" (retryable): the consumer logs the retry.

const apps = useAppsOnPrefix('e2e-trace');
const LIFECYCLE = { MODEL_MODULE: 'test/fixtures/model-lifecycle.mjs', FIXTURE_LIFECYCLE_LOG: '/dev/null' };
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('a request id and traceparent across the queue', () => {
  it("reach the consumer's log lines about the job", async () => {
    const port = await freePort();
    const api = apps.start('api', { ...LIFECYCLE, PORT: String(port), HOST: '127.0.0.1' });
    const consumer = apps.start('consumer', {
      ...LIFECYCLE,
      MAX_ATTEMPTS: '2',
      RETRY_BASE_DELAY_MS: '0',
      RETRY_MAX_DELAY_MS: '0',
      CONSUMER_NAME: `${apps.prefix}-consumer`,
    });
    const base = `http://127.0.0.1:${port}`;
    await waitForApi(base, '/ready', () => api.assertRunning());
    const client = fetchClient(base);

    const response = await client.post(
      { input: 'fail' },
      { 'async-mode': 'true', 'x-request-id': 'order-7-try-1', traceparent: TRACEPARENT },
    );
    expect(response.headers['x-request-id']).toBe('order-7-try-1');
    const id = acceptedId(response);
    await waitFor(async () => (await client.get(id)).status === 500, {
      what: 'the job to fail for good',
      unless: () => consumer.assertRunning(),
    });

    const about = consumer.lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.jobId === id);
    expect(about.map((line) => line.msg)).toEqual(['attempt failed; retry scheduled', 'job failed for good']);
    for (const line of about) expect(line).toMatchObject({ requestId: 'order-7-try-1', traceparent: TRACEPARENT });
  });
});
