import parsePrometheusTextFormat, { type ParsedFamily, type ParsedSample } from 'parse-prometheus-text-format';

/**
 * A /metrics answer, parsed by a library (not by our own regexes), with the
 * lookups the tests make: a sample's value, a histogram's count.
 */
export interface Scrape {
  readonly names: readonly string[];
  family(name: string): ParsedFamily | undefined;
  /** The value of the sample of `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels?: Readonly<Record<string, string>>): number | undefined;
  /** The observation count of the histogram series of `name` with `labels`; 0 when there is none. */
  count(name: string, labels?: Readonly<Record<string, string>>): number;
}

function matches(sample: ParsedSample, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(labels).every(([key, value]) => sample.labels?.[key] === value);
}

export function parseMetrics(text: string): Scrape {
  const typed = parsePrometheusTextFormat(text);
  // The library folds a histogram's series into one (it drops their labels):
  // parsed again without the histograms' TYPE lines, each `_bucket`, `_sum`
  // and `_count` series is a plain sample with its labels.
  const histograms = new Set(typed.filter((family) => family.type === 'HISTOGRAM').map((family) => family.name));
  const untyped = parsePrometheusTextFormat(
    text
      .split('\n')
      .filter((line) => !histograms.has(/^# TYPE (\S+) histogram$/.exec(line)?.[1] ?? ''))
      .join('\n'),
  );
  // A name whose lines are not all together (a histogram's `_count` lines, one per series) comes back as several families: one here.
  const families = new Map<string, ParsedFamily>();
  for (const family of [...typed, ...untyped]) {
    const seen = families.get(family.name);
    families.set(family.name, seen ? { ...seen, metrics: [...seen.metrics, ...family.metrics] } : family);
  }
  const sample = (name: string, labels: Readonly<Record<string, string>>) =>
    families.get(name)?.metrics.find((candidate) => matches(candidate, labels));
  return {
    names: [...families.keys()],
    family: (name) => families.get(name),
    value(name, labels = {}) {
      const found = sample(name, labels);
      return found?.value === undefined ? undefined : Number(found.value);
    },
    count: (name, labels = {}) => Number(sample(`${name}_count`, labels)?.value ?? 0),
  };
}
