// saml.refresh-metadata: every quarter of an hour, per tenant, the IdPs declared by metadataUrl
// whose stored metadata is older than their refreshMinutes (default 60) are fetched again; the
// signature is checked against the declared certificate (stored by `tenants apply`, so a worker
// needs no tenants/ folder) before anything is replaced
// (refreshIdpMetadata). One IdP failing does not stop the others; the job fails, and retries,
// when any did, so the operator sees it among the failed jobs.
import { UnrecoverableError } from 'bullmq';
import { defineJob } from '../../jobs/deps.js';
import { refreshIdpMetadata } from './idp.js';

const DEFAULT_REFRESH_MINUTES = 60;

export const samlRefreshMetadataJob = defineJob({
  name: 'saml.refresh-metadata',
  lane: 'default',
  payload: {},
  attempts: 3,
  async handle(payload, { log }, { database, registry }) {
    const tenant = registry.byId(payload.tenantId);
    if (!tenant) throw new UnrecoverableError(`no tenant ${payload.tenantId} in the registry`);
    const providers = (tenant.declaration.identity?.providers ?? []).filter((p) => p.metadataUrl);
    if (providers.length === 0) return { refreshed: [] };
    const fetchedAt = new Map(
      (
        await database.withTenant(tenant.id, (trx) =>
          trx.selectFrom('saml_idp_metadata').select(['entity_id', 'fetched_at']).where('tenant_id', '=', tenant.id).execute(),
        )
      ).map((r) => [r.entity_id, new Date(r.fetched_at).getTime()]),
    );
    const refreshed: string[] = [];
    const failed: string[] = [];
    for (const provider of providers) {
      const due = (fetchedAt.get(provider.entityId) ?? 0) + (provider.refreshMinutes ?? DEFAULT_REFRESH_MINUTES) * 60_000;
      if (due > Date.now()) continue;
      try {
        await refreshIdpMetadata({ database }, tenant, provider);
        refreshed.push(provider.entityId);
      } catch (error) {
        log.warn({ idp: provider.entityId, err: error }, 'IdP metadata refresh failed; the previous metadata stays in use');
        failed.push(`${provider.entityId}: ${(error as Error).message}`);
      }
    }
    if (failed.length > 0) throw new Error(`metadata refresh failed for ${failed.join('; ')}`);
    return { refreshed };
  },
});
