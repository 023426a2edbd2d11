import { setTimeout as sleep } from 'node:timers/promises';

export interface Submission {
  /** Accepted prediction ids, in the order the 202s came. */
  readonly ids: string[];
  readonly accepted: ReadonlySet<string>;
  /** 503s (queue full) waited out and retried. */
  readonly refusals: number;
}

export interface SubmitSettings {
  readonly apiUrl: string;
  readonly jobs: number;
  readonly concurrency: number;
  /** Makes every input and idempotency key unique to this run. */
  readonly runId: string;
  /** True once submitting must stop (time limit, interruption). */
  readonly stopped: () => boolean;
}

// Bounds the retries of one job; `stopped()` normally ends them first.
const MAX_ATTEMPTS = 1000;

/**
 * POSTs the jobs in async mode, `concurrency` at once. A 503 (queue full)
 * waits for Retry-After; a transport error is retried too, which the
 * Idempotency-Key makes safe: a request that did reach Redis returns the same
 * id instead of enqueuing a second job.
 */
export async function submitAll({ apiUrl, jobs, concurrency, runId, stopped }: SubmitSettings): Promise<Submission> {
  const url = `${apiUrl}/predict`;
  const ids: string[] = [];
  const accepted = new Set<string>();
  let refusals = 0;
  let next = 0;

  const submitOne = async (n: number): Promise<string | undefined> => {
    const body = JSON.stringify({ input: `soak ${runId} #${n}` });
    const headers = {
      'content-type': 'application/json',
      'async-mode': 'true',
      'idempotency-key': `soak-${runId}-${n}`,
    };
    for (let attempt = 0; attempt < MAX_ATTEMPTS && !stopped(); attempt++) {
      let response: Response;
      try {
        response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      } catch {
        await sleep(500);
        continue;
      }
      const text = await response.text();
      if (response.status === 202) return (JSON.parse(text) as { prediction_id: string }).prediction_id;
      if (response.status === 503) {
        refusals += 1;
        const seconds = Number(response.headers.get('retry-after'));
        await sleep(Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0.1), 10) * 1000 : 1000);
        continue;
      }
      // Anything else is a bug in the API (or in the soak): stop here.
      throw new Error(`POST /predict answered ${response.status}: ${text}`);
    }
    return undefined;
  };

  const worker = async () => {
    while (next < jobs && !stopped()) {
      const id = await submitOne(next++);
      if (id === undefined || accepted.has(id)) continue;
      accepted.add(id);
      ids.push(id);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ids, accepted, refusals };
}
