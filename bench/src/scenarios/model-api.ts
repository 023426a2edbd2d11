import { fileURLToPath } from 'node:url';
import { startApi, type RunningApi } from '../apps.js';
import { JSON_HEADERS, PREDICT_BODY, type LoadSpec } from '../load.js';
import type { ScenarioContext } from '../scenario.js';

/** A model module of bench/models, by absolute path (MODEL_MODULE). */
export function benchModel(file: string): string {
  return fileURLToPath(new URL(`../../models/${file}`, import.meta.url));
}

/** Sync POST /predict of `body` (default: the bench's string input) on `api`, with the API's CPU reported. */
export function syncLoad(api: RunningApi, connections: number, body: string = PREDICT_BODY): LoadSpec {
  return {
    url: api.url,
    connections,
    method: 'POST',
    path: '/predict',
    headers: JSON_HEADERS,
    body,
    expectStatus: 200,
    ...(api.process.pid !== undefined && { serverPid: api.process.pid }),
  };
}

/** Runs `use` with an API serving a model (`env`), once it answers a sync POST; stops it after. */
export async function withModelApi<T>(
  context: ScenarioContext,
  label: string,
  env: Readonly<Record<string, string>>,
  use: (api: RunningApi) => Promise<T>,
  probeBody?: string,
): Promise<T> {
  const api = await startApi(context, {
    label,
    prefix: `bench-${label}`,
    waitForModel: true,
    env,
    ...(probeBody !== undefined && { probeBody }),
  });
  try {
    return await use(api);
  } finally {
    await api.process.stop();
  }
}
