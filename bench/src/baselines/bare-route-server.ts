// The bare-route baseline: Fastify answering a small JSON POST, with no
// schema, no logger, no Redis and no foretell code. Started by the bench with
// PORT (and HOST) in its environment.
import Fastify from 'fastify';

const app = Fastify({ logger: false });

app.post('/predict', async (request) => {
  const { input } = request.body as { input?: unknown };
  return { input, result: '12345' };
});

process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});

await app.listen({ port: Number(process.env.PORT), host: process.env.HOST ?? '127.0.0.1' });
