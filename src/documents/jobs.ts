// documents.purge-trash (daily): what has lain in a tenant's trash longer than its
// documents.trashRetentionDays (default 30) is deleted for good, rows then objects, and its space
// given back to the quotas. Idempotent: a second run finds nothing left to purge.
import { UnrecoverableError } from 'bullmq';
import { defineJob } from '../jobs/deps.js';
import { createDocumentsService, documentsSettings } from './service.js';

export const documentsPurgeTrashJob = defineJob({
  name: 'documents.purge-trash',
  lane: 'default',
  payload: {},
  attempts: 5,
  async handle(payload, { log }, { database, registry, storage }) {
    const tenant = registry.byId(payload.tenantId);
    if (!tenant) throw new UnrecoverableError(`no tenant ${payload.tenantId} in the registry`);
    if (!storage) throw new UnrecoverableError('documents.purge-trash needs the storage (run it in the worker role)');
    const { trashRetentionDays } = documentsSettings(tenant.declaration);
    const cutoff = new Date(Date.now() - trashRetentionDays * 86_400_000);
    const documents = createDocumentsService({ database, storage });
    let purged = 0;
    // 500 trashed items per batch (one transaction each), until none is older than the cutoff.
    for (let batch = await documents.purgeTrashedBefore(tenant, cutoff); batch > 0; batch = await documents.purgeTrashedBefore(tenant, cutoff)) {
      purged += batch;
    }
    log.info({ purged, trashRetentionDays }, 'trash purged');
    return { purged };
  },
});
