// Resolves the tenant once per request from the Host header. An unknown host gets a 404 page,
// never a default tenant; a suspended tenant gets its maintenance page.
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TenantRegistry, Tenant } from './registry.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant of the request's host. Set on every route that is not `config.tenant: false`. */
    tenant: Tenant;
  }
  interface FastifyContextConfig {
    /** false: a platform route answered on any host (probes, static files). */
    tenant?: boolean;
    /** true: still served while the tenant is suspended (branding for the maintenance page). */
    whenSuspended?: boolean;
  }
}

export interface TenancyOptions {
  registry: TenantRegistry;
  onUnknownHost: (request: FastifyRequest, reply: FastifyReply) => FastifyReply;
  onSuspended: (request: FastifyRequest, reply: FastifyReply) => FastifyReply;
}

export const tenancyPlugin = fp<TenancyOptions>(
  async (app, { registry, onUnknownHost, onSuspended }) => {
    app.decorateRequest('tenant', null as unknown as Tenant);
    app.addHook('onRequest', async (request, reply) => {
      const config = request.routeOptions.config;
      if (config.tenant === false) return;
      const tenant = registry.byHost(request.headers.host);
      if (!tenant) return onUnknownHost(request, reply);
      request.tenant = tenant;
      request.log = request.log.child({ tenant: tenant.slug });
      if (tenant.status === 'suspended' && !config.whenSuspended) return onSuspended(request, reply);
    });
  },
  { name: 'portique-tenancy' },
);
