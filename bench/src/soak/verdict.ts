import type { Kills } from './chaos.js';
import type { FinalStatus } from './finish.js';
import type { Submission } from './submit.js';

/** The figures the soak prints as JSON, names as they always were. */
export interface SoakFigures {
  readonly submitted: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly kills: number;
  readonly reclaimed: number;
  readonly elapsed_s: number;
}

export interface Verdict {
  readonly figures: SoakFigures;
  /** Accepted, never ended succeeded or failed. */
  readonly lostIds: string[];
  /** Announced on `{prefix}:done` more than once: written twice. */
  readonly duplicatedIds: string[];
  /** Finished, never announced (a missed pub/sub message?). */
  readonly finishedSilently: string[];
  /** Announced, never accepted by us. */
  readonly strangers: string[];
  /** Lost = 0 and duplicated = 0. */
  readonly pass: boolean;
}

export interface VerdictInput {
  readonly submission: Submission;
  readonly statuses: ReadonlyMap<string, FinalStatus>;
  /** Times each id was published on `{prefix}:done`. */
  readonly announced: ReadonlyMap<string, number>;
  readonly kills: Kills;
  readonly reclaimed: number;
  readonly elapsedS: number;
}

export function judge({ submission, statuses, announced, kills, reclaimed, elapsedS }: VerdictInput): Verdict {
  const count = (status: FinalStatus) => [...statuses.values()].filter((value) => value === status).length;
  const { ids, accepted } = submission;
  const lostIds = ids.filter((id) => !statuses.has(id));
  const duplicatedIds = ids.filter((id) => (announced.get(id) ?? 0) > 1);
  const figures: SoakFigures = {
    submitted: ids.length,
    succeeded: count('succeeded'),
    failed: count('failed'),
    lost: lostIds.length,
    duplicated: duplicatedIds.length,
    kills: kills.SIGKILL + kills.SIGTERM,
    reclaimed,
    elapsed_s: elapsedS,
  };
  return {
    figures,
    lostIds,
    duplicatedIds,
    finishedSilently: ids.filter((id) => statuses.has(id) && !announced.has(id)),
    strangers: [...announced.keys()].filter((id) => !accepted.has(id)),
    pass: figures.lost === 0 && figures.duplicated === 0,
  };
}

/** The one-line summary, then the figures as JSON. */
export function verdictText({ figures, pass }: Verdict, jobs: number, kills: Kills, refusals: number): string {
  return (
    `soak ${pass ? 'PASS' : 'FAIL'}: submitted ${figures.submitted}/${jobs}, ` +
    `succeeded ${figures.succeeded}, failed ${figures.failed}, lost ${figures.lost}, ` +
    `duplicated ${figures.duplicated}, kills ${figures.kills} (${kills.SIGKILL} SIGKILL, ${kills.SIGTERM} SIGTERM), ` +
    `reclaimed ${figures.reclaimed}, 503s retried ${refusals}, elapsed ${figures.elapsed_s} s\n` +
    `${JSON.stringify(figures)}\n`
  );
}
