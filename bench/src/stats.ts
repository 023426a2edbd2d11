/** The middle value (mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const middle = Math.floor(finite.length / 2);
  if (finite.length % 2 === 1) return finite[middle] as number;
  return ((finite[middle - 1] as number) + (finite[middle] as number)) / 2;
}

/** `value / baseline`; NaN when the baseline is not a positive number. */
export function ratio(value: number, baseline: number): number {
  return baseline > 0 && Number.isFinite(value) ? value / baseline : Number.NaN;
}

/** How a figure is judged. Ratio targets use the median of per-run ratios, the others the median value. */
export type Target =
  | { readonly kind: 'ratio-at-least'; readonly ratio: number }
  | { readonly kind: 'ratio-at-most'; readonly ratio: number }
  | { readonly kind: 'at-most'; readonly limit: number }
  /** value ≤ slope × baseline + intercept */
  | { readonly kind: 'linear-at-most'; readonly slope: number; readonly intercept: number }
  | { readonly kind: 'none' };

/** One figure measured in one run, next to the baseline measured in the same run. */
export interface Figure {
  /** Stable key, `scenario.metric`. */
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly value: number;
  readonly baseline: number;
  /** What the baseline is, e.g. `bare Fastify route`. */
  readonly baselineLabel: string;
  readonly target: Target;
  /** Facts that qualify the figure (errors seen, settings used). */
  readonly notes?: readonly string[];
  /**
   * The target means the same in a smoke run (200 requests a load run, no warm-up,
   * tiny backlogs): true only for a figure that depends on neither the length
   * nor the size of the load, such as the memory of one job. Smoke mode
   * reports the others as not measured instead of judging them.
   */
  readonly judgedInSmoke?: boolean;
}

/** How a figure fares against its target. */
export type Verdict = 'pass' | 'fail' | 'no target' | 'not measured (smoke)';

export interface SummariseOptions {
  /** A smoke run: only the figures judged in smoke are held to their target. */
  readonly smoke?: boolean;
}

/** A figure over every run: medians, each run's values kept. */
export interface Summary {
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly baselineLabel: string;
  readonly value: number;
  readonly baseline: number;
  /** Median of the per-run ratios (each against its own run's baseline). */
  readonly ratio: number;
  readonly target: Target;
  readonly verdict: Verdict;
  readonly runs: readonly { readonly value: number; readonly baseline: number; readonly ratio: number }[];
  readonly notes: readonly string[];
}

export function meets(target: Target, value: number, baseline: number, ratioValue: number): boolean | undefined {
  switch (target.kind) {
    case 'ratio-at-least':
      return ratioValue >= target.ratio;
    case 'ratio-at-most':
      return ratioValue <= target.ratio;
    case 'at-most':
      return value <= target.limit;
    case 'linear-at-most':
      return value <= target.slope * baseline + target.intercept;
    case 'none':
      return undefined;
  }
}

function verdictOf(figure: Figure, value: number, baseline: number, ratioValue: number, smoke: boolean): Verdict {
  if (figure.target.kind === 'none') return 'no target';
  if (smoke && figure.judgedInSmoke !== true) return 'not measured (smoke)';
  return Number.isFinite(value) && meets(figure.target, value, baseline, ratioValue) === true ? 'pass' : 'fail';
}

/** Groups the figures of every run by id, in first-seen order. */
export function summarise(figures: readonly Figure[], { smoke = false }: SummariseOptions = {}): Summary[] {
  const byId = new Map<string, Figure[]>();
  for (const figure of figures) {
    const group = byId.get(figure.id);
    if (group) group.push(figure);
    else byId.set(figure.id, [figure]);
  }
  return [...byId.values()].map((group) => {
    const first = group[0] as Figure;
    const runs = group.map(({ value, baseline }) => ({ value, baseline, ratio: ratio(value, baseline) }));
    const value = median(runs.map((run) => run.value));
    const baseline = median(runs.map((run) => run.baseline));
    const ratioValue = median(runs.map((run) => run.ratio));
    const notes = [...new Set(group.flatMap((figure) => figure.notes ?? []))];
    return {
      id: first.id,
      label: first.label,
      unit: first.unit,
      baselineLabel: first.baselineLabel,
      value,
      baseline,
      ratio: ratioValue,
      target: first.target,
      verdict: verdictOf(first, value, baseline, ratioValue, smoke),
      runs,
      notes,
    };
  });
}
