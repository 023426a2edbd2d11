import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES, METRICS, QUEUE_METRIC_NAMES, redisKeys } from '@foretell/shared';
import { ConsumerConfigSchema } from '../../apps/consumer/src/config.js';

// No Kubernetes runs where the tests do, so the autoscaling files in deploy/
// are checked against the code (key layout, metric names, config defaults)
// and against each other instead of applied.

const KEDA_FILE = 'deploy/keda-scaledobject.yaml';
const HPA_FILE = 'deploy/hpa-queue-lag.yaml';
const ADAPTER_FILE = 'deploy/prometheus-adapter-rules.yaml';
const DEPLOYMENT = 'foretell-consumer';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** Every document of a YAML file, as plain data; a syntax error fails the file by name. */
function documents(path: string): unknown[] {
  return parseAllDocuments(read(path)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((error) => error.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

/** The one document of a kind in a file. */
function theOne<T>(docs: unknown[], kind: string): T {
  const found = docs.filter((doc) => (doc as { kind?: unknown }).kind === kind);
  if (found.length !== 1) throw new Error(`${found.length} documents of kind ${kind}, expected 1`);
  return found[0] as T;
}

/** The comment block a file opens with, without the `#`s. */
const header = (path: string) =>
  (/^(?:#.*\n)+/.exec(read(path))?.[0] ?? '')
    .split('\n')
    .map((line) => line.replace(/^# ?/, ''))
    .join('\n');

const consumerDefault = (name: keyof typeof ConsumerConfigSchema.properties) =>
  Number((ConsumerConfigSchema.properties[name] as { default?: unknown }).default);

/** A whole number above zero, as YAML may give it: KEDA wants strings, a Kubernetes quantity takes either. */
const isPositiveWhole = (value: unknown) => /^[1-9]\d*$/.test(String(value));

interface Trigger {
  readonly type: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly authenticationRef?: { readonly name?: string };
}

interface ScaledObject {
  readonly apiVersion: string;
  readonly spec: {
    readonly scaleTargetRef: { readonly name: string; readonly kind?: string };
    readonly pollingInterval?: number;
    readonly cooldownPeriod?: number;
    readonly minReplicaCount?: number;
    readonly maxReplicaCount?: number;
    readonly triggers: readonly Trigger[];
  };
}

interface TriggerAuthentication {
  readonly apiVersion: string;
  readonly metadata: { readonly name: string };
  readonly spec: { readonly secretTargetRef?: readonly { readonly parameter: string }[] };
}

interface ExternalMetric {
  readonly type: string;
  readonly external?: {
    readonly metric: { readonly name: string };
    readonly target: { readonly type: string; readonly averageValue?: string | number };
  };
}

interface HorizontalPodAutoscaler {
  readonly apiVersion: string;
  readonly spec: {
    readonly scaleTargetRef: { readonly apiVersion: string; readonly kind: string; readonly name: string };
    readonly minReplicas?: number;
    readonly maxReplicas: number;
    readonly metrics: readonly ExternalMetric[];
  };
}

interface AdapterRule {
  readonly seriesQuery: string;
  readonly metricsQuery: string;
  readonly name?: unknown;
  readonly resources?: {
    readonly overrides?: Readonly<Record<string, { readonly resource?: string }>>;
    readonly namespaced?: boolean;
  };
}

const kedaDocs = documents(KEDA_FILE);
const scaledObject = theOne<ScaledObject>(kedaDocs, 'ScaledObject');
const triggerAuthentication = theOne<TriggerAuthentication>(kedaDocs, 'TriggerAuthentication');
const hpa = theOne<HorizontalPodAutoscaler>(documents(HPA_FILE), 'HorizontalPodAutoscaler');
const adapterRules = (documents(ADAPTER_FILE)[0] as { rules: { external: readonly AdapterRule[] } }).rules.external;

// KEDA's defaults for what a ScaledObject leaves out.
const keda = {
  minReplicas: scaledObject.spec.minReplicaCount ?? 0,
  maxReplicas: scaledObject.spec.maxReplicaCount ?? 100,
  pollingSeconds: scaledObject.spec.pollingInterval ?? 30,
  cooldownSeconds: scaledObject.spec.cooldownPeriod ?? 300,
};
const triggers = scaledObject.spec.triggers;
const lagTrigger = triggers.find((trigger) => 'lagCount' in trigger.metadata);
const pendingTrigger = triggers.find((trigger) => 'pendingEntriesCount' in trigger.metadata);

/** The name of the one series an adapter rule's series query selects, exactly (`__name__="…"`). */
const seriesName = (rule: AdapterRule) => /__name__="([^"]+)"/.exec(rule.seriesQuery)?.[1];

/** The HPA's External metric of this name. */
function hpaMetric(name: string) {
  const found = hpa.spec.metrics.find((metric) => metric.external?.metric.name === name);
  if (!found?.external) throw new Error(`${HPA_FILE}: no External metric ${name}`);
  return found.external;
}

describe(KEDA_FILE, () => {
  it('watches the jobs stream and the group the consumers read (else no backlog ever adds a consumer)', () => {
    // The file shows no KEY_PREFIX of its own: the consumers run with the default.
    const keys = redisKeys();
    expect(triggers.length).toBeGreaterThan(0);
    for (const trigger of triggers) {
      expect(trigger.type).toBe('redis-streams');
      expect(trigger.metadata.stream).toBe(keys.jobs);
      expect(trigger.metadata.consumerGroup).toBe(keys.group);
    }
  });

  it('scales on the lag with a whole lagCount, and one waiting entry wakes it from zero', () => {
    expect(lagTrigger).toBeDefined();
    expect(isPositiveWhole(lagTrigger?.metadata.lagCount)).toBe(true);
    // KEDA's docs ask for it with lagCount; above 0 a lone job would wait at zero consumers.
    expect(lagTrigger?.metadata.activationLagCount).toBe('0');
  });

  it('keeps consumers that hold jobs, through a trigger of its own (KEDA ignores pendingEntriesCount beside lagCount)', () => {
    expect(pendingTrigger).toBeDefined();
    expect(pendingTrigger).not.toBe(lagTrigger);
    expect(isPositiveWhole(pendingTrigger?.metadata.pendingEntriesCount)).toBe(true);
  });

  it("gives every trigger setting as a string (KEDA's CRD refuses numbers)", () => {
    for (const trigger of triggers) {
      for (const [name, value] of Object.entries(trigger.metadata)) expect(typeof value, name).toBe('string');
    }
  });

  it('reaches Redis as host:port, the form KEDA reads, with the password from the TriggerAuthentication beside it', () => {
    for (const trigger of triggers) {
      // A redis:// URL (REDIS_URL's form) here would make KEDA fail to connect.
      expect(trigger.metadata.address).toMatch(/^[\w.-]+:\d+$/);
      expect(trigger.authenticationRef?.name).toBe(triggerAuthentication.metadata.name);
    }
    expect(triggerAuthentication.apiVersion).toBe('keda.sh/v1alpha1');
    expect(triggerAuthentication.spec.secretTargetRef?.map((ref) => ref.parameter)).toEqual(['password']);
  });

  it('scales to zero only saying so, and not before a job waiting for its retry is due', () => {
    expect(scaledObject.apiVersion).toBe('keda.sh/v1alpha1');
    if (keda.minReplicas > 0) return;
    expect(header(KEDA_FILE)).toMatch(/to zero/i);
    // Only a running consumer moves a due retry back onto the stream; the retry left no entry to wake one.
    expect(keda.cooldownSeconds * 1000).toBeGreaterThan(
      consumerDefault('RETRY_MAX_DELAY_MS') + keda.pollingSeconds * 1000,
    );
  });

  it('runs between sane bounds', () => {
    expect(Number.isInteger(keda.minReplicas) && keda.minReplicas >= 0).toBe(true);
    expect(Number.isInteger(keda.maxReplicas) && keda.maxReplicas >= Math.max(1, keda.minReplicas)).toBe(true);
  });

  it("sizes the example on the mock model's figures: lagCount = C·W/T, pendingEntriesCount = C", () => {
    const text = header(KEDA_FILE);
    const figure = (pattern: RegExp) => Number(pattern.exec(text)?.[1]);
    const [c, t, w] = [figure(/\bC = (\d+)/), figure(/\bT = ([\d.]+) s/), figure(/\bW = (\d+) s/)];
    expect(c).toBe(consumerDefault('CONSUMER_CONCURRENCY'));
    expect(t * 1000).toBe((consumerDefault('MODEL_MIN_LATENCY_MS') + consumerDefault('MODEL_MAX_LATENCY_MS')) / 2);
    expect(lagTrigger?.metadata.lagCount).toBe(String(Math.round((c * w) / t)));
    expect(pendingTrigger?.metadata.pendingEntriesCount).toBe(String(c));
  });
});

describe(HPA_FILE, () => {
  it('is an autoscaling/v2 HPA whose every metric is an External one the adapter rules serve', () => {
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    const served = adapterRules.map(seriesName);
    expect(hpa.spec.metrics.length).toBeGreaterThan(0);
    for (const metric of hpa.spec.metrics) {
      expect(metric.type).toBe('External');
      expect(served).toContain(metric.external?.metric.name);
    }
  });

  it('scales on the lag, and keeps consumers that hold jobs', () => {
    expect(hpa.spec.metrics.map((metric) => metric.external?.metric.name).sort()).toEqual(
      [METRICS.queueLag, METRICS.queuePending].sort(),
    );
  });

  it('divides each metric among the replicas, with a whole target', () => {
    for (const metric of hpa.spec.metrics) {
      expect(metric.external?.target.type).toBe('AverageValue');
      expect(isPositiveWhole(metric.external?.target.averageValue)).toBe(true);
    }
  });

  it('keeps at least one consumer, between sane bounds', () => {
    const min = hpa.spec.minReplicas ?? 1;
    expect(Number.isInteger(min) && min >= 1).toBe(true);
    expect(Number.isInteger(hpa.spec.maxReplicas) && hpa.spec.maxReplicas >= min).toBe(true);
  });
});

describe(ADAPTER_FILE, () => {
  it('serves metrics foretell exports, each a queue gauge every process reports alike', () => {
    expect(adapterRules.length).toBeGreaterThan(0);
    for (const rule of adapterRules) {
      const name = seriesName(rule);
      expect(METRIC_NAMES).toContain(name);
      expect(QUEUE_METRIC_NAMES).toContain(name);
      // Served under the series' own name: a rename would leave the HPA asking for a metric nobody serves.
      expect(rule.name).toBeUndefined();
    }
  });

  it('takes the max over the processes, never the sum (which would count the backlog once per pod)', () => {
    for (const rule of adapterRules) {
      expect(rule.metricsQuery.replace(/\s+/g, '')).toMatch(/^max\(<<\.Series>>\{<<\.LabelMatchers>>\}\)(by\(.*\))?$/);
    }
  });

  it("reads only the HPA's namespace (else another namespace's backlog scales these consumers)", () => {
    for (const rule of adapterRules) {
      expect(rule.resources?.overrides?.namespace?.resource).toBe('namespace');
      expect(rule.resources?.namespaced).not.toBe(false);
    }
  });
});

describe('the two autoscaling alternatives', () => {
  it(`scale the same Deployment, ${DEPLOYMENT}`, () => {
    expect(scaledObject.spec.scaleTargetRef.name).toBe(DEPLOYMENT);
    expect(scaledObject.spec.scaleTargetRef.kind ?? 'Deployment').toBe('Deployment');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: DEPLOYMENT });
  });

  it('aim at the same targets and maximum, so moving from one to the other changes nothing', () => {
    expect(String(hpaMetric(METRICS.queueLag).target.averageValue)).toBe(lagTrigger?.metadata.lagCount);
    expect(String(hpaMetric(METRICS.queuePending).target.averageValue)).toBe(
      pendingTrigger?.metadata.pendingEntriesCount,
    );
    expect(hpa.spec.maxReplicas).toBe(keda.maxReplicas);
  });

  it.each([
    [KEDA_FILE, HPA_FILE],
    [HPA_FILE, KEDA_FILE],
    [ADAPTER_FILE, KEDA_FILE],
  ])('%s opens by saying it is an alternative to %s, and how to apply it', (path, other) => {
    const text = header(path);
    expect(text).toContain(other);
    expect(text).toMatch(/never both/);
    expect(text).toMatch(/^\s+(kubectl apply|helm upgrade) /m);
  });

  it.each([KEDA_FILE, HPA_FILE])('%s gives the pods more time to stop than SHUTDOWN_GRACE_MS', (path) => {
    const seconds = Number(/terminationGracePeriodSeconds: (\d+)/.exec(header(path))?.[1]);
    expect(seconds * 1000).toBeGreaterThan(consumerDefault('SHUTDOWN_GRACE_MS'));
  });
});
