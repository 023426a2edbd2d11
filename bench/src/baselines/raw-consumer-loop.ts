// The raw consumer baseline: what any consumer of the stream must do per job,
// with no foretell code: XREADGROUP a batch, then per entry HSET the job's
// hash and XACK the entry, the whole batch in one pipeline. Runs until
// SIGTERM. Environment: REDIS_URL, STREAM, GROUP, CONSUMER, JOB_PREFIX, BATCH.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

const stream = required('STREAM');
const group = required('GROUP');
const consumer = required('CONSUMER');
const jobPrefix = required('JOB_PREFIX');
const batch = Number(process.env.BATCH ?? '500');
const redis = new Redis(required('REDIS_URL'));

type StreamReply = [stream: string, entries: [id: string, fields: string[]][]][] | null;

/** A result of the mock model's shape (digits in 1000–20000, stable per input), computed as cheaply. */
function resultOf(input: string): string {
  return String(1000 + (createHash('sha256').update(input).digest().readUInt32BE(0) % 19_001));
}

let stopping = false;
process.once('SIGTERM', () => {
  stopping = true;
  redis.disconnect();
});

while (!stopping) {
  const reply = (await redis
    .xreadgroup('GROUP', group, consumer, 'COUNT', batch, 'BLOCK', 1000, 'STREAMS', stream, '>')
    .catch((error: unknown) => {
      if (stopping) return null;
      throw error;
    })) as StreamReply;
  const entries = reply?.[0]?.[1] ?? [];
  if (entries.length === 0) continue;
  const pipeline = redis.pipeline();
  for (const [entryId, fields] of entries) {
    let id = '';
    let input = '';
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'id') id = fields[i + 1] ?? '';
      else if (fields[i] === 'input') input = fields[i + 1] ?? '';
    }
    pipeline.hset(
      `${jobPrefix}${id}`,
      'status',
      'succeeded',
      'result',
      resultOf(input),
      'finished',
      String(Date.now()),
    );
    pipeline.xack(stream, group, entryId);
  }
  await pipeline.exec();
}
