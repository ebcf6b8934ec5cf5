// Fairness between tenants: every tenant has its own queues, and every worker process runs one
// BullMQ Worker per tenant queue, each with its own concurrency. A tenant that enqueues 100,000
// jobs fills only its own queue and its own worker slots; another tenant's next job is picked
// by that tenant's worker as soon as it is added (measured in bench/jobs.ts). BullMQ's groups
// would do this in one queue but are BullMQ Pro only.
//
// Each tenant also has separate lanes: `mail` (rate-limited per tenant by BullMQ's limiter,
// which counts in Redis across every worker replica) and `default` (imports, roll-ups...), so a
// tenant's own big import does not hold back its own mail either.
//
// Cost: one blocking Redis connection per tenant and lane in each worker process (2 per tenant),
// fine for the tens of universities of a region.
export const LANES = ['default', 'mail'] as const;
export type Lane = (typeof LANES)[number];

/** BullMQ keys are `<prefix>:t.<tenantId>.<lane>:...`: every Redis key names its tenant. */
export const queueName = (tenantId: string, lane: Lane): string => `t.${tenantId}.${lane}`;

export function parseQueueName(name: string): { tenantId: string; lane: Lane } | undefined {
  const match = /^t\.([0-9a-f-]{36})\.([a-z]+)$/.exec(name);
  if (!match || !LANES.includes(match[2] as Lane)) return undefined;
  return { tenantId: match[1]!, lane: match[2] as Lane };
}

export const DEFAULT_MAIL_RATE_PER_MINUTE = 600;
