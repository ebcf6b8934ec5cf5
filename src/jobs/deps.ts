// What a job handler may use. The worker role wires it; tests wire their own.
import type { Config } from '../config.js';
import type { Jobs } from './client.js';
import type { DbHandle } from '../platform/db.js';
import { defineJob as defineJobWith } from '../platform/jobs/definition.js';
import type { SessionStore } from '../identity/session-store.js';
import type { Mailer } from '../platform/mail.js';
import type { Storage } from '../platform/storage.js';
import type { TenantRegistry } from '../tenancy/registry.js';

export interface JobDeps {
  config: Pick<Config, 'env' | 'http' | 'tenantsDir'> & Partial<Pick<Config, 'clamd'>>;
  database: DbHandle;
  registry: TenantRegistry;
  mailer: Mailer;
  /** Object storage, for the jobs that delete documents; absent where no such job runs. */
  storage?: Storage;
  /** Enqueueing follow-up jobs (the notification digest enqueues its mails); absent in roles that only run. */
  jobs?: Pick<Jobs, 'enqueue'>;
  /** The login sessions (Redis), for the jobs that deactivate people: their sessions end with them. */
  sessions?: Pick<SessionStore, 'endOthers'>;
}

export const defineJob = defineJobWith<JobDeps>();
