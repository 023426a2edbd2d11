import type { RedisKeys, Tracing } from '@foretell/shared';
import type { JobRunner } from './job-runner.js';

/**
 * The runner with each job in a span of its own, in the trace of the request
 * that queued it (tracing on); the runner itself when tracing is off.
 */
export function traceJobRuns(runJob: JobRunner, tracing: Tracing | undefined, keys: RedisKeys): JobRunner {
  if (!tracing) return runJob;
  return (entryId, fields, decoded) => {
    // An entry that does not parse names no job and no trace: it is dead-lettered outside any span.
    if (!decoded.ok) return runJob(entryId, fields, decoded);
    const { id, rid, tp } = decoded.message;
    const job = { stream: keys.jobs, group: keys.group, entryId, jobId: id, requestId: rid, traceparent: tp };
    return tracing.runJob(job, () => runJob(entryId, fields, decoded));
  };
}
