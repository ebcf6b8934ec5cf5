// Resolves the tenant once per request from the Host header. An unknown host gets a 404 page,
// never a default tenant; a suspended tenant gets its maintenance page.
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { normaliseHost, type TenantRegistry, type Tenant } from './registry.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant of the request's host. Set on every route that is not `config.tenant: false`. */
    tenant: Tenant;
    /** True on the operator console's host (OPERATOR_HOST), which is never a tenant host. */
    onOperatorHost: boolean;
  }
  interface FastifyContextConfig {
    /** false: a platform route answered on any host (probes, static files). */
    tenant?: boolean;
    /** true: still served while the tenant is suspended (branding for the maintenance page). */
    whenSuspended?: boolean;
    /** true: an operator console route, served only on the operator host (a host constraint), without a tenant. */
    operator?: boolean;
  }
}

export interface TenancyOptions {
  registry: TenantRegistry;
  onUnknownHost: (request: FastifyRequest, reply: FastifyReply) => FastifyReply;
  onSuspended: (request: FastifyRequest, reply: FastifyReply) => FastifyReply;
  /** The operator console's host: resolved before any tenant, so no tenant can claim it. */
  operatorHost?: string;
}

export const tenancyPlugin = fp<TenancyOptions>(
  async (app, { registry, onUnknownHost, onSuspended, operatorHost }) => {
    app.decorateRequest('tenant', null as unknown as Tenant);
    app.decorateRequest('onOperatorHost', false);
    app.addHook('onRequest', async (request, reply) => {
      const config = request.routeOptions.config;
      request.onOperatorHost = operatorHost !== undefined && normaliseHost(request.headers.host) === operatorHost;
      if (config.tenant === false) return;
      if (config.operator || request.onOperatorHost) {
        return config.operator && request.onOperatorHost ? undefined : onUnknownHost(request, reply);
      }
      const tenant = registry.byHost(request.headers.host);
      if (!tenant) return onUnknownHost(request, reply);
      request.tenant = tenant;
      request.log = request.log.child({ tenant: tenant.slug });
      if (tenant.status === 'suspended' && !config.whenSuspended) return onSuspended(request, reply);
    });
  },
  { name: 'portique-tenancy' },
);
