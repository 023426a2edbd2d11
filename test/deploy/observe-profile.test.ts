import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { METRICS, METRIC_NAMES, QUEUE_METRIC_NAMES } from '@foretell/shared';
import { ApiConfigSchema } from '../../apps/api/src/config.js';
import { ConsumerConfigSchema } from '../../apps/consumer/src/config.js';

// `docker compose --profile observe` cannot run where the tests do (no Docker engine, no image
// registry): its files are checked against docker-compose.yml and against the metric names the
// code exports, so a renamed metric or a moved port fails here rather than as an empty graph.

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Service {
  image?: string;
  profiles?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test?: string[] };
}

const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service> };
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
};

/** What these checks read of a config schema (typebox itself is not a dependency of the root). */
interface ConfigSchema {
  readonly properties: Readonly<Record<string, unknown>>;
}
const schemaDefault = (schema: ConfigSchema, name: string) =>
  (schema.properties[name] as { default?: unknown } | undefined)?.default;

const API_PORT = schemaDefault(ApiConfigSchema, 'PORT');
/** The consumer's METRICS_PORT default: its /metrics, /health and /ready. */
const CONSUMER_METRICS_PORT = 9464;

interface Mount {
  readonly source: string;
  readonly target: string;
  readonly isReadOnly: boolean;
}

/** A service's bind mounts, from compose's short form `source:target[:mode]`. */
const mounts = (svc: Service): Mount[] =>
  (svc.volumes ?? []).map((spec) => {
    const [source = '', target = '', mode] = spec.split(':');
    return { source, target, isReadOnly: mode === 'ro' };
  });

/** The repository path that a path inside the container comes from, through the service's mounts. */
function repoPathOf(svc: Service, containerPath: string): string {
  const mount = mounts(svc).find(({ target }) => containerPath === target || containerPath.startsWith(`${target}/`));
  if (!mount) throw new Error(`nothing is mounted at ${containerPath}`);
  return mount.source + containerPath.slice(mount.target.length);
}

const HISTOGRAMS: readonly string[] = [METRICS.httpRequestDuration, METRICS.modelDuration];

/**
 * Series names a query may use: the counters and gauges as they are, the histograms only through
 * their `_bucket`, `_sum` and `_count` series (a classic histogram has no series of its bare name),
 * and prom-client's default `process_*` and `nodejs_*` metrics.
 */
const SERIES = new Set([
  ...METRIC_NAMES.filter((name) => !HISTOGRAMS.includes(name)),
  ...HISTOGRAMS.flatMap((name) => ['_bucket', '_sum', '_count'].map((suffix) => name + suffix)),
]);
const isExported = (name: string) => SERIES.has(name) || /^(process|nodejs)_/.test(name);

/**
 * Metric names in a PromQL expression: every identifier with our prefixes, whatever follows it
 * (`{`, `[`, `)`, `,`, a space or the end), outside string literals, which hold label values.
 */
function metricNamesIn(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  return [...code.matchAll(/(?<![\w:])(?:foretell|process|nodejs)_[\w:]*(?![\w:])/g)].map((match) => match[0]);
}

interface ScrapeConfig {
  job_name?: string;
  metrics_path?: string;
  static_configs?: { targets?: string[] }[];
  dns_sd_configs?: { names?: string[]; type?: string; port?: number }[];
}
interface PrometheusConfig {
  global?: { scrape_interval?: string };
  scrape_configs?: ScrapeConfig[];
  rule_files?: string[];
}
interface DatasourceFile {
  datasources?: { uid?: string; type?: string; url?: string; jsonData?: { timeInterval?: string } }[];
}
interface ProviderFile {
  providers?: { type?: string; options?: { path?: string } }[];
}
interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid?: string;
  id?: unknown;
  panels?: Panel[];
}

const prometheus = service('prometheus');
const grafana = service('grafana');
const prometheusConfig = parse(read(repoPathOf(prometheus, '/etc/prometheus/prometheus.yml'))) as PrometheusConfig;
const datasourceFile = parse(
  read(repoPathOf(grafana, '/etc/grafana/provisioning/datasources/foretell.yml')),
) as DatasourceFile;
const providerFile = parse(
  read(repoPathOf(grafana, '/etc/grafana/provisioning/dashboards/foretell.yml')),
) as ProviderFile;

const scrapeJob = (name: string): ScrapeConfig => {
  const found = prometheusConfig.scrape_configs?.find((job) => job.job_name === name);
  if (!found) throw new Error(`no scrape job ${name}`);
  return found;
};

const dashboardDir = repoPathOf(grafana, providerFile.providers?.[0]?.options?.path ?? '(no provider path)');
const dashboards = readdirSync(new URL(dashboardDir, root))
  .filter((file) => file.endsWith('.json'))
  .map((file) => ({ file, dashboard: JSON.parse(read(`${dashboardDir}/${file}`)) as Dashboard }));

/** A dashboard's panels, those inside rows included; rows themselves hold no query. */
const panelsOf = (panels: readonly Panel[]): Panel[] =>
  panels.flatMap((panel) => [panel, ...panelsOf(panel.panels ?? [])]);
const queryPanelsOf = (dashboard: Dashboard) =>
  panelsOf(dashboard.panels ?? []).filter((panel) => panel.type !== 'row');
const exprsOf = (dashboard: Dashboard) =>
  queryPanelsOf(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ title: panel.title ?? '(untitled)', expr: target.expr ?? '' })),
  );

describe('docker compose --profile observe', () => {
  it('adds prometheus and grafana, each in that profile alone, and puts no other service in it', () => {
    const observed = Object.entries(compose.services).filter(([, svc]) => svc.profiles?.includes('observe'));
    expect(Object.fromEntries(observed.map(([name, svc]) => [name, svc.profiles]))).toEqual({
      prometheus: ['observe'],
      grafana: ['observe'],
    });
  });

  it('pins Prometheus 3 and Grafana 12 to a release', () => {
    expect(prometheus.image).toMatch(/^prom\/prometheus:v3\.\d+\.\d+$/);
    expect(grafana.image).toMatch(/^grafana\/grafana:12\.\d+\.\d+$/);
  });

  it.each([
    ['prometheus', prometheus],
    ['grafana', grafana],
  ])('%s mounts its configuration read-only from deploy/observe, every mounted path in the repo', (_, svc) => {
    expect(mounts(svc).length).toBeGreaterThan(0);
    for (const { source, isReadOnly } of mounts(svc)) {
      expect(source).toMatch(/^\.\/deploy\/observe\//);
      expect(isReadOnly, source).toBe(true);
      expect(existsSync(new URL(source, root)), source).toBe(true);
    }
  });

  it('publishes Prometheus and Grafana on loopback only', () => {
    expect(prometheus.ports).toEqual(['127.0.0.1:9090:9090']);
    expect(grafana.ports).toEqual(['127.0.0.1:3000:3000']);
  });

  it("takes Grafana's admin password from GRAFANA_ADMIN_PASSWORD, and opens on the provisioned dashboard", () => {
    expect(grafana.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe('${GRAFANA_ADMIN_PASSWORD:-admin}');
    const home = repoPathOf(grafana, grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '(unset)');
    expect(home.startsWith(`${dashboardDir}/`)).toBe(true);
    expect(existsSync(new URL(home, root)), home).toBe(true);
  });
});

describe('the consumer in docker-compose.yml', () => {
  const consumer = service('consumer');

  it("runs the api's healthcheck against /health on the consumer's METRICS_PORT", () => {
    // The api's script is run against a stand-in server in compose-files.test.ts; the same script
    // with only the port changed needs no second run.
    const apiTest = service('api').healthcheck?.test ?? [];
    expect(apiTest[3]).toContain(`:${String(API_PORT)}/health'`);
    expect(consumer.healthcheck?.test).toEqual(
      apiTest.map((arg) => arg.replace(`:${String(API_PORT)}/`, `:${CONSUMER_METRICS_PORT}/`)),
    );
  });

  it('leaves METRICS_PORT to its default, the port the healthcheck and Prometheus use', () => {
    expect(consumer.environment?.METRICS_PORT).toBeUndefined();
  });

  it(`whose config schema defaults METRICS_PORT to ${CONSUMER_METRICS_PORT}`, () => {
    expect(schemaDefault(ConsumerConfigSchema, 'METRICS_PORT')).toBe(CONSUMER_METRICS_PORT);
  });
});

describe('deploy/observe/prometheus.yml', () => {
  it('scrapes /metrics of the api by its compose service name, on the port it listens on', () => {
    expect(API_PORT).toBe(8080);
    expect(Object.keys(compose.services)).toContain('api');
    const job = scrapeJob('api');
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs).toEqual([{ targets: [`api:${String(API_PORT)}`] }]);
  });

  it('finds every consumer replica through DNS on the compose service name, and scrapes /metrics on 9464', () => {
    expect(Object.keys(compose.services)).toContain('consumer');
    const job = scrapeJob('consumer');
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs).toBeUndefined();
    expect(job.dns_sd_configs).toMatchObject([{ names: ['consumer'], type: 'A', port: CONSUMER_METRICS_PORT }]);
  });

  it("has no rule files, whose queries this file's checks would not read", () => {
    // Rules added here must join the metric-name check on the dashboards below.
    expect(prometheusConfig.rule_files ?? []).toEqual([]);
  });

  it("scrapes as often as Grafana's datasource says, which $__rate_interval is built from", () => {
    expect(prometheusConfig.global?.scrape_interval).toBeDefined();
    expect(datasourceFile.datasources?.[0]?.jsonData?.timeInterval).toBe(prometheusConfig.global?.scrape_interval);
  });
});

describe('Grafana provisioning', () => {
  const datasource = datasourceFile.datasources?.[0];

  it('provisions one Prometheus datasource with a fixed uid, at the compose service', () => {
    expect(datasourceFile.datasources).toHaveLength(1);
    expect(datasource?.type).toBe('prometheus');
    expect(datasource?.uid).toMatch(/^[\w-]+$/);
    const [, , prometheusPort] = (prometheus.ports?.[0] ?? '').split(':');
    expect(datasource?.url).toBe(`http://prometheus:${prometheusPort}`);
  });

  it('loads dashboards from files, found in the mounted folder', () => {
    expect(providerFile.providers).toMatchObject([{ type: 'file' }]);
    expect(dashboards.length).toBeGreaterThan(0);
    expect(statSync(new URL(dashboardDir, root)).isDirectory()).toBe(true);
  });

  it('gives every dashboard a uid of its own, and no id (the database assigns it)', () => {
    const uids = dashboards.map(({ dashboard }) => dashboard.uid);
    for (const uid of uids) expect(uid).toMatch(/^[\w-]{1,40}$/);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { dashboard } of dashboards) expect(dashboard.id ?? null).toBeNull();
  });

  describe.each(dashboards)('$file', ({ dashboard }) => {
    it('gives every panel a query, on the provisioned datasource by uid', () => {
      const panels = queryPanelsOf(dashboard);
      expect(panels.length).toBeGreaterThan(0);
      for (const panel of panels) {
        const title = panel.title ?? '(untitled)';
        expect(panel.datasource, title).toEqual({ type: 'prometheus', uid: datasource?.uid });
        expect(panel.targets?.length, title).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) {
          expect(target.expr?.trim(), title).toBeTruthy();
          expect(target.datasource ?? panel.datasource, title).toEqual(panel.datasource);
        }
      }
    });

    it('queries only metrics the code exports', () => {
      for (const { title, expr } of exprsOf(dashboard)) {
        const names = metricNamesIn(expr);
        expect(names.length, `${title}: ${expr}`).toBeGreaterThan(0);
        for (const name of names) expect(isExported(name), `${title}: ${name}`).toBe(true);
      }
    });

    it('aggregates the queue gauges, the same in every process, with max and never sum', () => {
      const queueExprs = exprsOf(dashboard).filter(({ expr }) =>
        metricNamesIn(expr).some((name) => QUEUE_METRIC_NAMES.some((queue) => queue === name)),
      );
      expect(queueExprs.length).toBeGreaterThan(0);
      for (const { title, expr } of queueExprs) {
        expect(expr, title).toMatch(/\bmax\b/);
        expect(expr, title).not.toMatch(/\b(sum|avg|count)\b/);
      }
    });
  });

  it('shows every metric the code exports on some dashboard', () => {
    const used = new Set(
      dashboards.flatMap(({ dashboard }) =>
        exprsOf(dashboard).flatMap(({ expr }) =>
          metricNamesIn(expr).map((name) => name.replace(/_(bucket|sum|count)$/, '')),
        ),
      ),
    );
    for (const name of METRIC_NAMES) expect(used, name).toContain(name);
  });
});

describe('metricNamesIn', () => {
  it('finds every metric name of an expression, an unknown one too, and none inside its strings', () => {
    const expr =
      'label_replace(foretell_typo_total, "x", "foretell_jobs_total", "", "") / on () max(foretell_dead_letters)';
    expect(metricNamesIn(expr)).toEqual(['foretell_typo_total', 'foretell_dead_letters']);
    expect(metricNamesIn('rate(process_cpu_seconds_total[1m]) > my_foretell_x')).toEqual(['process_cpu_seconds_total']);
    expect(isExported('foretell_typo_total')).toBe(false);
    // A histogram only through its series; a counter not as if it were one.
    expect(isExported(METRICS.modelDuration)).toBe(false);
    expect(isExported(`${METRICS.modelDuration}_bucket`)).toBe(true);
    expect(isExported(`${METRICS.jobs}_bucket`)).toBe(false);
  });
});
