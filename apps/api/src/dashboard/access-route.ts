import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@foretell/shared';
import type { AccessControl } from '../auth/access-control.js';
import { AppError } from '../errors.js';

export interface AccessRouteOptions {
  readonly access: AccessControl | undefined;
}

const AccessSchema = Type.Object(
  {
    keyRequired: Type.Boolean({ description: 'Whether API keys are on: the data routes then need one.' }),
    keyAccepted: Type.Boolean({ description: 'Whether the request’s key (if any) opens them.' }),
  },
  { additionalProperties: false },
);

/**
 * GET /dashboard/api/access: whether the page must ask for a key, and
 * whether the one it has is good, always 200. The page asks this first
 * rather than reading a 401, which the browser would log as a console error.
 * It tells nothing a 401 from any other route does not.
 */
export const dashboardAccessRoute: FastifyPluginAsyncTypebox<AccessRouteOptions> = async (app, { access }) => {
  app.get(
    '/dashboard/api/access',
    {
      schema: {
        operationId: 'getDashboardAccess',
        tags: ['dashboard'],
        summary: 'Whether the dashboard needs an API key, and whether the one sent is accepted',
        response: { 200: AccessSchema },
      },
    },
    async (request, reply) => {
      if (!access) return { keyRequired: false, keyAccepted: true };
      try {
        await access.requireKey(request, reply);
        return { keyRequired: true, keyAccepted: true };
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        // The challenge belongs to a 401; this answer is a 200.
        reply.removeHeader('www-authenticate');
        return { keyRequired: true, keyAccepted: false };
      }
    },
  );
};
