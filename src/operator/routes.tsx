// The operator console, on the operator host only (a host constraint, and config.operator for the
// tenancy plugin). Here only its home page; the console's features are their own issue.
import type { FastifyPluginAsync } from 'fastify';
import { requireOperator } from '../identity/authorize.js';
import type { Identity } from '../identity/plugin.js';
import type { OperatorDeclaration } from '../identity/operator.js';
import type { TenantRegistry } from '../tenancy/registry.js';
import { sendPage } from '../web/render.js';
import { operatorPageContext } from './context.js';
import { OperatorHomePage } from './pages.js';

/** Matches the operator host with or without a port, as the Host header carries it. */
export function operatorHostConstraint(host: string): RegExp {
  return new RegExp(`^${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.?(:\\d{1,5})?$`, 'i');
}

export const operatorRoutes: FastifyPluginAsync<{ operator: OperatorDeclaration; identity: Identity; registry: TenantRegistry }> = async (
  app,
  { operator, identity, registry },
) => {
  const route = { config: { operator: true }, constraints: { host: operatorHostConstraint(operator.host) } };

  app.get('/', { ...route, preHandler: requireOperator }, async (request, reply) => {
    const tenants = registry.all().sort((a, b) => a.slug.localeCompare(b.slug));
    return sendPage(reply, <OperatorHomePage ctx={operatorPageContext(request, operator)} tenants={tenants} />);
  });

  app.post('/deconnexion', route, async (request, reply) => {
    await identity.endCurrentSession(request, reply);
    return reply.redirect('/', 303);
  });
};
