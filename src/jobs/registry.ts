// The one job registry: every job name, its payload schema and its handler. A feature declares
// its jobs in its own folder (src/<feature>/jobs.ts) and lists them here.
import type { JobDefinition, PayloadOf } from '../platform/jobs/definition.js';
import { directoryImportCsvJob, directoryLdapReconcileJob, directoryLdapSyncJob, directoryPurgeDeactivatedJob } from '../directory/jobs.js';
import { mailPurgeDeliveriesJob, mailSendJob } from '../mail/jobs.js';
import type { JobDeps } from './deps.js';
import { pingJob } from './ping.js';
import { notificationsDigestJob } from '../notifications/jobs.js';
import { statisticsPurgeJob, statisticsRollupJob } from '../statistics/jobs.js';
import { samlRefreshMetadataJob } from '../identity/saml/jobs.js';
import { documentsPurgeTrashJob } from '../documents/jobs.js';
import { documentsReconcileJob } from '../documents/reconcile.js';
import { documentsScanJob } from '../documents/scan.js';

export const JOBS = [
  pingJob,
  mailSendJob,
  mailPurgeDeliveriesJob,
  directoryImportCsvJob,
  directoryLdapSyncJob,
  directoryLdapReconcileJob,
  directoryPurgeDeactivatedJob,
  notificationsDigestJob,
  statisticsRollupJob,
  statisticsPurgeJob,
  samlRefreshMetadataJob,
  documentsPurgeTrashJob,
  documentsReconcileJob,
  documentsScanJob,
] as const;

type Jobs = (typeof JOBS)[number];
export type JobName = Jobs['name'];
export type JobPayload<N extends JobName> = PayloadOf<Extract<Jobs, { name: N }>>;
export type AnyJob = JobDefinition<string, any, JobDeps>;

export function jobDefinition(name: string, definitions: readonly AnyJob[] = JOBS): AnyJob | undefined {
  return definitions.find((d) => d.name === name);
}
