import type { RedisKeys } from '@foretell/shared';
import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { AccessControl } from '../auth/access-control.js';
import type { JobStore } from '../job-store.js';
import { dashboardAccessRoute } from './access-route.js';
import { dashboardDataRoutes } from './data-routes.js';
import { dashboardPageRoutes } from './page-routes.js';
import { namedPlugin } from '../named-plugin.js';

export interface DashboardOptions {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly store: JobStore;
  readonly resultTtlSeconds: number;
  readonly access: AccessControl | undefined;
}

/**
 * /dashboard: the page (a public shell), whether it needs a key (public),
 * and its data (behind the key when keys are on), each in its own scope.
 */
export const dashboard: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  await app.register(namedPlugin('dashboard-page', dashboardPageRoutes));
  await app.register(namedPlugin('dashboard-access', dashboardAccessRoute), { access: options.access });
  await app.register(namedPlugin('dashboard-data', dashboardDataRoutes), options);
};
