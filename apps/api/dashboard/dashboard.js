// The dashboard page: polls /dashboard/api/* and draws what it reads. Plain
// browser JavaScript with no build step; uPlot is loaded before it (defer keeps
// the order). Everything shown goes through textContent, never HTML: inputs,
// reasons and names come from clients and models.
(() => {
  'use strict';

  const POLL_MS = 2000;
  // What the charts keep: ten minutes of polls.
  const HISTORY_MS = 10 * 60 * 1000;
  // Rates over ten seconds: consumers write their counts every two, so a
  // shorter window would swing between 0 and twice the rate.
  const RATE_WINDOW_MS = 10 * 1000;
  // Quantiles need enough calls to mean something: a minute of them.
  const QUANTILE_WINDOW_MS = 60 * 1000;
  const DEAD_LETTERS_SHOWN = 20;
  const KEY_STORAGE = 'foretell.dashboard.key';

  const $ = (id) => document.getElementById(id);
  const board = $('board');
  const statusLine = $('status');

  // ---- the API key (only when the deployment has keys) ----

  let apiKey = sessionStorage.getItem(KEY_STORAGE);

  class Unauthorized extends Error {}

  /** GET or POST on the API; resolves with the parsed body of a 2xx, rejects with the error sentence otherwise. */
  async function api(path, method = 'GET') {
    const headers = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
    const response = await fetch(path, { method, headers, cache: 'no-store' });
    const body = await response.json().catch(() => ({}));
    if (response.status === 401) throw new Unauthorized(body.error || 'This page needs an API key.');
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  }

  function askForKey(message) {
    $('key-form').hidden = false;
    $('key-error').textContent = apiKey ? message : '';
    $('forget-key').hidden = true;
    $('key-input').focus();
  }

  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    apiKey = $('key-input').value.trim();
    sessionStorage.setItem(KEY_STORAGE, apiKey);
    $('key-input').value = '';
    $('key-form').hidden = true;
    keyChecked = false;
    schedule(0);
  });

  // Asked before any data: a 401 would be logged by the browser as a console error.
  let keyChecked = false;

  async function checkKey() {
    const access = await api('/dashboard/api/access');
    if (access.keyRequired && !access.keyAccepted) {
      throw new Unauthorized(apiKey ? 'That key was not accepted.' : 'This page needs an API key.');
    }
    keyChecked = true;
  }

  $('forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    apiKey = null;
    window.location.reload();
  });

  // ---- formatting ----

  const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

  function seconds(value) {
    if (value === null || !Number.isFinite(value)) return '–';
    return value < 1 ? `${integer.format(value * 1000)} ms` : `${decimal.format(value)} s`;
  }

  function duration(ms) {
    if (ms < 1000) return `${integer.format(ms)} ms`;
    if (ms < 60_000) return `${decimal.format(ms / 1000)} s`;
    if (ms < 3_600_000) return `${decimal.format(ms / 60_000)} min`;
    return `${decimal.format(ms / 3_600_000)} h`;
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  // ---- rates and quantiles from the consumers' cumulative counts ----

  /**
   * The page's own running totals, made of the differences between two reads
   * of each consumer: a consumer that restarted (a new `started`) counts
   * from zero again, so its counts are never subtracted across the restart.
   */
  const totals = { done: 0, failed: 0, buckets: [] };
  let bounds = [];
  let seen = new Map();
  let lastReadAt = null;

  function accumulate(overview) {
    const stats = overview.stats;
    if (stats.bounds.join() !== bounds.join()) {
      bounds = stats.bounds;
      totals.buckets = new Array(bounds.length + 1).fill(0);
      seen = new Map();
    }
    const next = new Map();
    for (const instance of stats.instances) {
      const id = `${instance.name}\u0000${instance.started}`;
      next.set(id, instance);
      const before = seen.get(id);
      // First seen: its counts are news only if it started since the last read; otherwise they are its past.
      const base =
        before ??
        (lastReadAt !== null && instance.started >= lastReadAt
          ? { jobs: { succeeded: 0, failed: 0 }, model: { counts: totals.buckets.map(() => 0) } }
          : instance);
      totals.done += Math.max(0, instance.jobs.succeeded - base.jobs.succeeded);
      totals.failed += Math.max(0, instance.jobs.failed - base.jobs.failed);
      instance.model.counts.forEach((count, index) => {
        totals.buckets[index] += Math.max(0, count - (base.model.counts[index] ?? 0));
      });
    }
    seen = next;
    lastReadAt = overview.at;
  }

  /** histogram_quantile: linear within the bucket the rank falls in; the highest bound past it. */
  function quantile(q, cumulative) {
    const total = cumulative[cumulative.length - 1] ?? 0;
    if (total <= 0) return null;
    const rank = q * total;
    const index = cumulative.findIndex((count) => count >= rank);
    if (index < 0 || index >= bounds.length) return bounds[bounds.length - 1] ?? null;
    const lower = index === 0 ? 0 : bounds[index - 1];
    const below = index === 0 ? 0 : cumulative[index - 1];
    const inBucket = cumulative[index] - below;
    return lower + (bounds[index] - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1);
  }

  // ---- history and charts ----

  /** One point per poll: the time, the queue's counts, and the running totals then. */
  const history = [];

  function pointAtOrAfter(time) {
    return history.find((point) => point.t >= time) ?? history[0];
  }

  function derive(point) {
    const rateFrom = pointAtOrAfter(point.t - RATE_WINDOW_MS);
    const span = (point.t - rateFrom.t) / 1000;
    const rate = span > 0 ? (point.done - rateFrom.done) / span : null;
    const failRate = span > 0 ? (point.failed - rateFrom.failed) / span : null;
    const quantileFrom = pointAtOrAfter(point.t - QUANTILE_WINDOW_MS);
    const recent = point.buckets.map((count, index) => count - (quantileFrom.buckets[index] ?? 0));
    return { rate, failRate, p50: quantile(0.5, recent), p99: quantile(0.99, recent) };
  }

  function chart(element, series) {
    if (typeof uPlot !== 'function') return undefined;
    const width = () => Math.max(200, element.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 220,
        cursor: { drag: { x: false, y: false } },
        legend: { live: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [{}, { size: 56 }],
        series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 2, spanGaps: false }))],
      },
      [[], ...series.map(() => [])],
      element,
    );
    window.addEventListener('resize', () => plot.setSize({ width: width(), height: 220 }));
    return plot;
  }

  const charts = {
    queue: chart($('chart-queue'), [
      ['backlog', '#2f6fde'],
      ['pending', '#e08a1e'],
      ['in flight', '#2a9d5c'],
    ]),
    rates: chart($('chart-rates'), [
      ['succeeded/s', '#2a9d5c'],
      ['failed/s', '#c4372c'],
    ]),
    latency: chart($('chart-latency'), [
      ['p50', '#2f6fde'],
      ['p99', '#8e44ad'],
    ]),
  };

  function draw(derived) {
    const xs = history.map((point) => point.t / 1000);
    charts.queue?.setData([
      xs,
      history.map((point) => point.backlog),
      history.map((point) => point.pending),
      history.map((point) => point.inFlight),
    ]);
    charts.rates?.setData([xs, derived.map((d) => d.rate), derived.map((d) => d.failRate)]);
    charts.latency?.setData([xs, derived.map((d) => d.p50), derived.map((d) => d.p99)]);
    board.dataset.points = String(history.length);
  }

  // ---- the parts of the page ----

  function showOverview(overview) {
    const queue = overview.queue;
    $('backlog').textContent = integer.format(queue.backlog);
    $('in-flight').textContent = integer.format(queue.inFlight);
    $('pending').textContent = integer.format(queue.pending);
    $('lag').textContent = integer.format(queue.lag);
    $('retries').textContent = integer.format(queue.retries);
    $('dead-count').textContent = integer.format(queue.deadLetters);
    $('jobs-done').textContent = integer.format(overview.stats.totals.jobs.succeeded);

    accumulate(overview);
    history.push({
      t: overview.at,
      backlog: queue.backlog,
      pending: queue.pending,
      inFlight: queue.inFlight,
      done: totals.done,
      failed: totals.failed,
      buckets: [...totals.buckets],
    });
    while (history.length > 0 && history[0].t < overview.at - HISTORY_MS) history.shift();
    const derived = history.map(derive);
    const latest = derived[derived.length - 1];
    $('jobs-per-second').textContent = latest.rate === null ? '–' : decimal.format(latest.rate);
    $('p50').textContent = seconds(latest.p50);
    $('p99').textContent = seconds(latest.p99);
    draw(derived);

    const rows = overview.consumers.map((consumer) => {
      const tr = document.createElement('tr');
      tr.append(
        cell(consumer.name),
        cell(integer.format(consumer.pending), 'number'),
        cell(consumer.inFlight === undefined ? '–' : integer.format(consumer.inFlight), 'number'),
        cell(duration(consumer.idleMs), 'number'),
      );
      return tr;
    });
    $('consumers').tBodies[0].replaceChildren(...rows);
    const hidden = overview.consumersTotal - overview.consumers.length;
    $('consumers-note').textContent =
      overview.consumersTotal === 0 ? 'none yet' : hidden > 0 ? `${hidden} more not shown` : '';
  }

  async function replay(button, entryId) {
    button.disabled = true;
    try {
      const replayed = await api(`/dashboard/api/dead-letters/${encodeURIComponent(entryId)}/replay`, 'POST');
      $('replay-result').textContent = `Replayed ${replayed.entryId}: job ${replayed.jobId} is queued again.`;
    } catch (error) {
      $('replay-result').textContent = `Not replayed: ${error.message}`;
      button.disabled = false;
    }
    schedule(0);
  }

  function showDeadLetters(page) {
    const rows = page.letters.map((letter) => {
      const tr = document.createElement('tr');
      tr.dataset.entryId = letter.entryId;
      const action = document.createElement('td');
      if (letter.replayable) {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = 'Replay';
        button.className = 'replay';
        button.addEventListener('click', () => void replay(button, letter.entryId));
        action.append(button);
      }
      if (!letter.owned) {
        tr.append(
          cell(new Date(letter.at).toLocaleString()),
          cell('another API key’s job'),
          cell(''),
          cell(''),
          cell(''),
        );
      } else {
        tr.append(
          cell(new Date(letter.at).toLocaleString()),
          cell(letter.jobId ?? '–', 'id'),
          cell(letter.attempts === undefined ? '–' : String(letter.attempts), 'number'),
          cell(letter.reason ?? '', 'text'),
          cell(letter.input ?? '–', 'text'),
        );
      }
      tr.append(action);
      return tr;
    });
    $('dead-letters').tBodies[0].replaceChildren(...rows);
    $('dead-note').textContent =
      page.total > page.letters.length ? `the oldest ${page.letters.length} of ${page.total}` : '';
  }

  const RECORD_FIELDS = [
    ['id', 'id'],
    ['status', 'status'],
    ['input', 'input'],
    ['result', 'result'],
    ['reason', 'reason'],
    ['attempts', 'attempts'],
    ['created', 'created'],
    ['started', 'started'],
    ['finished', 'finished'],
    ['model', 'model'],
    ['request id', 'requestId'],
    ['traceparent', 'traceparent'],
    ['expires in', 'expiresInSeconds'],
  ];

  function recordValue(name, value) {
    if (name === 'created' || name === 'started' || name === 'finished') return new Date(value).toISOString();
    if (name === 'model') return [value.name, value.version].filter(Boolean).join(' ') || value.ref;
    if (name === 'expiresInSeconds') return duration(value * 1000);
    return String(value);
  }

  $('search').addEventListener('submit', async (event) => {
    event.preventDefault();
    const id = $('search-id').value.trim();
    const record = $('job-record');
    $('search-error').textContent = '';
    record.replaceChildren();
    try {
      const job = await api(`/dashboard/api/jobs/${encodeURIComponent(id)}`);
      for (const [label, name] of RECORD_FIELDS) {
        if (job[name] === undefined) continue;
        const dt = document.createElement('dt');
        dt.textContent = label;
        const dd = document.createElement('dd');
        dd.textContent = recordValue(name, job[name]);
        dd.dataset.field = name;
        record.append(dt, dd);
      }
    } catch (error) {
      if (error instanceof Unauthorized) askForKey(error.message);
      else $('search-error').textContent = error.message;
    }
  });

  // ---- the poll loop: one read at a time, the next one POLL_MS after the last ended ----

  let timer;
  let polls = 0;
  let polling = false;
  let again = false;

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  async function poll() {
    // A replay asks for a read at once: while one runs, the next follows it.
    if (polling) {
      again = true;
      return;
    }
    polling = true;
    try {
      if (!keyChecked) await checkKey();
      const [overview, deadLetters] = await Promise.all([
        api('/dashboard/api/overview'),
        api(`/dashboard/api/dead-letters?count=${DEAD_LETTERS_SHOWN}`),
      ]);
      showOverview(overview);
      showDeadLetters(deadLetters);
      polls += 1;
      board.dataset.polls = String(polls);
      statusLine.textContent = `Updated ${new Date(overview.at).toLocaleTimeString()}`;
      statusLine.classList.remove('failing');
      $('forget-key').hidden = !apiKey;
      schedule(POLL_MS);
    } catch (error) {
      if (error instanceof Unauthorized) {
        statusLine.textContent = 'Waiting for an API key.';
        keyChecked = false;
        askForKey(error.message);
        return;
      }
      statusLine.textContent = `Not updated: ${error.message}`;
      statusLine.classList.add('failing');
      schedule(POLL_MS);
    } finally {
      polling = false;
      if (again) {
        again = false;
        schedule(0);
      }
    }
  }

  schedule(0);
})();
