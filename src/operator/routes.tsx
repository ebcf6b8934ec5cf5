// The operator console, on the operator host only (a host constraint, and config.operator for the
// tenancy plugin). Here only its home page; the console's features are their own issue.
import type { FastifyPluginAsync } from 'fastify';
import { requireOperator } from '../identity/authorize.js';
import { SINGLE_LOGOUT_PATH, type Identity } from '../identity/plugin.js';
import type { OperatorDeclaration } from '../identity/operator.js';
import type { TenantRegistry } from '../tenancy/registry.js';
import { sendPage } from '../web/render.js';
import { operatorPageContext } from './context.js';
import { OperatorHomePage } from './pages.js';

/** Matches the operator host with or without a port, as the Host header carries it. */
export function operatorHostConstraint(host: string): RegExp {
  return new RegExp(`^${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.?(:\\d{1,5})?$`, 'i');
}

export interface OperatorRoutesOptions {
  operator: OperatorDeclaration;
  identity: Identity;
  registry: TenantRegistry;
  /** The console's SAML routes are served (src/operator/saml.tsx): logout goes on to single logout. */
  singleLogout: boolean;
}

export const operatorRoutes: FastifyPluginAsync<OperatorRoutesOptions> = async (app, { operator, identity, registry, singleLogout }) => {
  const route = { config: { operator: true }, constraints: { host: operatorHostConstraint(operator.host) } };

  app.get('/', { ...route, preHandler: requireOperator }, async (request, reply) => {
    const tenants = registry.all().sort((a, b) => a.slug.localeCompare(b.slug));
    return sendPage(reply, <OperatorHomePage ctx={operatorPageContext(request, operator)} tenants={tenants} />);
  });

  app.post('/deconnexion', route, async (request, reply) => {
    // With the console's SAML routes (src/operator/saml.tsx): single logout, as on tenant hosts.
    if (request.session && singleLogout) return reply.redirect(SINGLE_LOGOUT_PATH, 307);
    await identity.endCurrentSession(request, reply);
    return reply.redirect('/', 303);
  });
};
