import type {
  FastifyBaseLogger,
  FastifyPluginAsync,
  FastifyPluginOptions,
  FastifyTypeProvider,
  RawServerDefault,
} from 'fastify';
import fp from 'fastify-plugin';

type Plugin<Options extends FastifyPluginOptions, TypeProvider extends FastifyTypeProvider> = FastifyPluginAsync<
  Options,
  RawServerDefault,
  TypeProvider
>;

/**
 * `plugin` named `foretell-<name>` (fastify-plugin's metadata), still
 * encapsulated: its routes, hooks and decorations stay in its own context.
 * Fastify names every plugin it registers, twice a registration; one without
 * a name it looks for among require.cache's modules, one by one. In a
 * process that has loaded thousands of CommonJS modules (a test worker, which
 * builds hundreds of apps) that took 1.6 s of CPU over a full test run. The
 * names also show in Fastify's plugin tree and errors.
 */
export function namedPlugin<Options extends FastifyPluginOptions, TypeProvider extends FastifyTypeProvider>(
  name: string,
  plugin: Plugin<Options, TypeProvider>,
): Plugin<Options, TypeProvider> {
  return fp<Options, RawServerDefault, TypeProvider, FastifyBaseLogger, Plugin<Options, TypeProvider>>(plugin, {
    name: `foretell-${name}`,
    encapsulate: true,
  });
}
