// Host -> tenant, in memory in every serve process. Loaded at start and reloaded whenever the
// registry changes (a trigger NOTIFYs 'tenants_changed': `tenants apply`, a suspension), so any
// number of replicas agree within a moment without a query per request.
import type { DbHandle } from '../platform/db.js';
import type { Declaration } from './declaration.js';

export interface Tenant {
  readonly id: string;
  readonly slug: string;
  readonly displayName: string;
  readonly status: 'active' | 'suspended';
  readonly hosts: readonly string[];
  readonly declaration: Declaration;
}

export interface TenantRegistry {
  byHost(host: string | undefined): Tenant | undefined;
  bySlug(slug: string): Tenant | undefined;
  /** The tenant a job or a stored row names. */
  byId(id: string): Tenant | undefined;
  all(): Tenant[];
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** "Nord.LocalHost:3000" -> "nord.localhost"; an IPv6 literal or garbage -> undefined. */
export function normaliseHost(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const name = host.trim().toLowerCase().replace(/:\d{1,5}$/, '').replace(/\.$/, '');
  return /^[a-z0-9.-]{1,253}$/.test(name) ? name : undefined;
}

export interface RegistryOptions {
  /** Follow changes through LISTEN (serve); off for one-shot commands. */
  listen?: boolean;
  onReloadError?: (error: unknown) => void;
}

export async function createTenantRegistry(database: DbHandle, options: RegistryOptions = {}): Promise<TenantRegistry> {
  let hosts = new Map<string, Tenant>();
  let slugs = new Map<string, Tenant>();
  let ids = new Map<string, Tenant>();

  async function reload(): Promise<void> {
    const rows = await database.db
      .selectFrom('tenants')
      .leftJoin('tenant_hosts', 'tenant_hosts.tenant_id', 'tenants.id')
      .select(['tenants.id', 'tenants.slug', 'tenants.display_name', 'tenants.status', 'tenants.declaration', 'tenant_hosts.host'])
      .execute();
    const nextSlugs = new Map<string, Tenant>();
    const nextHosts = new Map<string, Tenant>();
    for (const row of rows) {
      let tenant = nextSlugs.get(row.slug);
      if (!tenant) {
        tenant = {
          id: row.id,
          slug: row.slug,
          displayName: row.display_name,
          status: row.status,
          hosts: [],
          declaration: row.declaration as Declaration,
        };
        nextSlugs.set(row.slug, tenant);
      }
      if (row.host) {
        (tenant.hosts as string[]).push(row.host);
        nextHosts.set(row.host, tenant);
      }
    }
    for (const t of nextSlugs.values()) Object.freeze(t);
    hosts = nextHosts;
    slugs = nextSlugs;
    ids = new Map([...nextSlugs.values()].map((t) => [t.id, t]));
  }

  await reload();
  const reloadInBackground = () => void reload().catch((error) => options.onReloadError?.(error));
  // The second callback runs on every (re)connection of the listener, so nothing is missed
  // while PostgreSQL was away.
  const subscription =
    options.listen === false ? undefined : await database.sql.listen('tenants_changed', reloadInBackground, reloadInBackground);

  return {
    byHost: (host) => {
      const name = normaliseHost(host);
      return name ? hosts.get(name) : undefined;
    },
    bySlug: (slug) => slugs.get(slug),
    byId: (id) => ids.get(id),
    all: () => [...slugs.values()],
    reload,
    async close() {
      await subscription?.unlisten();
    },
  };
}
