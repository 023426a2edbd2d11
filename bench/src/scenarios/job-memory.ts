import { INPUT } from '../load.js';
import type { Scenario } from '../scenario.js';
import { median } from '../stats.js';
import { withFinishedJobs } from './finished-jobs.js';

/**
 * Redis memory of a finished job: MEMORY USAGE (every field counted,
 * SAMPLES 0) of job hashes written by the API and the consumer, against the
 * bytes the job is about (its input and its result).
 */
export const jobMemory: Scenario = {
  name: 'memory',
  summary: 'Redis MEMORY USAGE of a finished job hash vs its input + result bytes',
  async run(context) {
    const { settings, redis } = context;
    context.log(`job memory: finishing ${settings.finishedJobs} jobs`);
    return withFinishedJobs(context, 'memory', async (api, ids) => {
      const step = Math.max(1, Math.floor(ids.length / settings.memorySamples));
      const sampled = ids.filter((_, index) => index % step === 0).slice(0, settings.memorySamples);
      const usage: number[] = [];
      const payload: number[] = [];
      for (const id of sampled) {
        const key = api.keys.job(id);
        usage.push(Number(await redis.client.memory('USAGE', key, 'SAMPLES', 0)));
        const result = (await redis.client.hget(key, 'result')) ?? '';
        payload.push(Buffer.byteLength(INPUT) + Buffer.byteLength(result));
      }
      const encoding = String(await redis.client.object('ENCODING', api.keys.job(sampled[0] ?? '')));
      return [
        {
          id: 'memory.job-hash',
          label: 'Redis memory per finished job',
          unit: 'B',
          value: median(usage),
          baseline: median(payload),
          baselineLabel: 'input + result bytes',
          // 150 B for the seed's record, and one more 16-byte allocation step since every finished
          // job names the model that ran it (issue 9: `model`, an 8-character ref, model-identity.ts).
          target: { kind: 'linear-at-most', slope: 2, intercept: 166 },
          // One job's hash weighs the same whatever the number of jobs sampled.
          judgedInSmoke: true,
          notes: [
            `memory: median MEMORY USAGE of ${sampled.length} job hashes (encoding ${encoding}), ` +
              `${Buffer.byteLength(INPUT)}-byte input`,
          ],
        },
      ];
    });
  },
};
