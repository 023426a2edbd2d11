// One client for the /predict routes, over `app.inject` or a real socket, so
// that every test submits, reads and checks the 202 the same way.

export interface PredictResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

export interface PredictRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

type Send = (request: PredictRequest) => Promise<PredictResponse>;

/** What `injectClient` needs of a Fastify app (the root test project does not depend on fastify). */
export interface InjectTarget {
  inject(options: {
    method: 'GET' | 'POST';
    url: string;
    headers?: Record<string, string>;
    body?: string;
  }): PromiseLike<{
    statusCode: number;
    headers: Record<string, string | string[] | number | undefined>;
    body: string;
  }>;
}

export interface PredictClient {
  /** Any request, answered as it came. */
  send: Send;
  /** `POST /predict` with a JSON body (a string is sent as it is). */
  post(body: unknown, headers?: Readonly<Record<string, string>>): Promise<PredictResponse>;
  /**
   * An async `POST /predict` that must be accepted: throws, naming what it got,
   * unless the answer is the seed contract's 202 with its body and `Location`.
   */
  submit(input: string, headers?: Readonly<Record<string, string>>): Promise<string>;
  /** `GET /predict/{id}`. */
  get(id: string): Promise<PredictResponse>;
}

export const ACCEPTED_MESSAGE = 'Request received. Processing asynchronously.';
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The prediction id of a 202, after checking every part of it the seed contract fixes. */
export function acceptedId(response: PredictResponse): string {
  const refuse = (why: string) => new Error(`async POST not accepted (${why}): ${response.status} ${response.body}`);
  if (response.status !== 202) throw refuse('status');
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    throw refuse('body is not JSON');
  }
  const { message, prediction_id: id, ...rest } = parsed as Record<string, unknown>;
  if (message !== ACCEPTED_MESSAGE || typeof id !== 'string' || Object.keys(rest).length > 0) throw refuse('body');
  if (!UUID_V4.test(id)) throw refuse('id is not a UUID v4');
  if (response.headers.location !== `/predict/${id}`) throw refuse(`Location is ${response.headers.location}`);
  return id;
}

function clientOver(send: Send): PredictClient {
  const post: PredictClient['post'] = (body, headers = {}) =>
    send({
      method: 'POST',
      url: '/predict',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return {
    send,
    post,
    async submit(input, headers = {}) {
      return acceptedId(await post({ input }, { 'async-mode': 'true', ...headers }));
    },
    get: (id) => send({ method: 'GET', url: `/predict/${encodeURIComponent(id)}` }),
  };
}

/** Requests through `app.inject`: no socket. */
export function injectClient(app: InjectTarget): PredictClient {
  return clientOver(async ({ method, url, headers, body }) => {
    const response = await app.inject({
      method,
      url,
      ...(headers && { headers }),
      ...(body !== undefined && { body }),
    });
    const flat: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      flat[name] = Array.isArray(value) ? value.join(', ') : value === undefined ? undefined : String(value);
    }
    return { status: response.statusCode, headers: flat, body: response.body };
  });
}

/** Requests to a listening server, each bounded by `timeoutMs` so a hung server fails the test instead of stalling it. */
export function fetchClient(base: string, timeoutMs = 10_000): PredictClient {
  return clientOver(async ({ method, url, headers, body }) => {
    const response = await fetch(`${base}${url}`, {
      method,
      ...(headers && { headers }),
      ...(body !== undefined && { body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: await response.text(),
    };
  });
}
