import type { LazyAbort } from '@foretell/shared';

/**
 * Why a job's model call was aborted because a client canceled the job
 * (POST /predict/{id}/cancel): its hash says `canceled` already, so the
 * consumer only releases the entry.
 */
export class JobCanceledError extends Error {
  override readonly name = 'JobCanceledError';

  constructor(readonly jobId: string) {
    super(`job ${jobId} was canceled`);
  }
}

/**
 * The jobs this consumer has in hand, by id, each with the abort of its
 * model call: a cancel announced on Redis aborts the calls of the job it
 * names, the end of the grace period aborts them all. One abort per job, not
 * one shared signal: Node scans a signal's listener list on every add, which
 * would be quadratic in the jobs held. A job is rarely held twice at once (a
 * reclaim racing its first delivery): then its entry is a list, and both
 * calls are aborted. The usual single abort is stored as it is, with no
 * collection made per job.
 */
export class RunningJobs {
  private readonly byId = new Map<string, LazyAbort | LazyAbort[]>();

  add(jobId: string, abort: LazyAbort): void {
    const held = this.byId.get(jobId);
    if (held === undefined) this.byId.set(jobId, abort);
    else if (Array.isArray(held)) held.push(abort);
    else this.byId.set(jobId, [held, abort]);
  }

  delete(jobId: string, abort: LazyAbort): void {
    const held = this.byId.get(jobId);
    if (held === abort) {
      this.byId.delete(jobId);
    } else if (Array.isArray(held)) {
      const rest = held.filter((other) => other !== abort);
      if (rest.length === 0) this.byId.delete(jobId);
      else this.byId.set(jobId, rest);
    }
  }

  /** Aborts the calls of one job as canceled; false when this consumer does not hold it. */
  cancel(jobId: string): boolean {
    const held = this.byId.get(jobId);
    if (held === undefined) return false;
    for (const abort of Array.isArray(held) ? held : [held]) abort.abort(new JobCanceledError(jobId));
    return true;
  }

  abortAll(reason: unknown): void {
    for (const held of this.byId.values()) {
      for (const abort of Array.isArray(held) ? held : [held]) abort.abort(reason);
    }
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }
}
