// Absolute links in mail point at the tenant's first declared host. In production it is served
// over HTTPS on the standard port; elsewhere (make dev) over HTTP on the configured port.
import type { Config } from '../config.js';
import type { Tenant } from '../tenancy/registry.js';

export function tenantOrigin(tenant: Tenant, config: Pick<Config, 'env' | 'http'>): string {
  const host = tenant.hosts[0] ?? tenant.declaration.hosts[0];
  return config.env === 'production' ? `https://${host}` : `http://${host}:${config.http.port}`;
}
