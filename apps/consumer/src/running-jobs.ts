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
 * The jobs this consumer has in hand, by id, each with the controller of its
 * model call: a cancel announced on Redis aborts the calls of the job it
 * names, the end of the grace period aborts them all. One controller per
 * job, not one shared signal: Node scans a signal's listener list on every
 * add, which would be quadratic in the jobs held. A job is rarely held twice
 * at once (a reclaim racing its first delivery); both calls are aborted.
 */
export class RunningJobs {
  private readonly byId = new Map<string, Set<AbortController>>();

  add(jobId: string, controller: AbortController): void {
    const held = this.byId.get(jobId);
    if (held) held.add(controller);
    else this.byId.set(jobId, new Set([controller]));
  }

  delete(jobId: string, controller: AbortController): void {
    const held = this.byId.get(jobId);
    if (!held) return;
    held.delete(controller);
    if (held.size === 0) this.byId.delete(jobId);
  }

  /** Aborts the calls of one job as canceled; false when this consumer does not hold it. */
  cancel(jobId: string): boolean {
    const held = this.byId.get(jobId);
    if (!held) return false;
    for (const controller of held) controller.abort(new JobCanceledError(jobId));
    return true;
  }

  abortAll(reason: unknown): void {
    for (const held of this.byId.values()) for (const controller of held) controller.abort(reason);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }
}
