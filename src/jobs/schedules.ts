// Recurring jobs, declared once here. Each is installed in every tenant's queues as a BullMQ job
// scheduler under a fixed id: installing it again (every worker does at start) changes nothing,
// and BullMQ creates exactly one job per iteration however many workers run.
import type { JobName } from './registry.js';

export interface Schedule {
  /** The scheduler id, also the job name's owner: stable, or the schedule is duplicated. */
  id: string;
  job: JobName;
  /** A cron pattern (with tz) or a period in ms. */
  pattern?: string;
  tz?: string;
  every?: number;
}

export const SCHEDULES: readonly Schedule[] = [
  { id: 'mail.purge-deliveries', job: 'mail.purge-deliveries', pattern: '17 3 * * *', tz: 'Europe/Paris' },
  { id: 'notifications.digest', job: 'notifications.digest', pattern: '0 7 * * *', tz: 'Europe/Paris' },
  // Yesterday and the month so far, every night; again at noon for late batches (idempotent).
  { id: 'statistics.rollup', job: 'statistics.rollup', pattern: '20 1,12 * * *', tz: 'Europe/Paris' },
  { id: 'directory.ldap-sync', job: 'directory.ldap-sync', every: 5 * 60_000 },
  { id: 'directory.ldap-reconcile', job: 'directory.ldap-reconcile', pattern: '30 2 * * *', tz: 'Europe/Paris' },
  { id: 'directory.purge-deactivated', job: 'directory.purge-deactivated', pattern: '50 3 * * *', tz: 'Europe/Paris' },
  { id: 'statistics.purge', job: 'statistics.purge', pattern: '40 3 * * *', tz: 'Europe/Paris' },
  // Each IdP is refetched when its own refreshMinutes have passed (src/identity/saml/jobs.ts).
  { id: 'saml.refresh-metadata', job: 'saml.refresh-metadata', every: 15 * 60_000 },
  { id: 'documents.purge-trash', job: 'documents.purge-trash', pattern: '10 4 * * *', tz: 'Europe/Paris' },
  // After the trash purge, so the objects it deleted are not listed again.
  { id: 'documents.reconcile', job: 'documents.reconcile', pattern: '40 4 * * *', tz: 'Europe/Paris' },
];
