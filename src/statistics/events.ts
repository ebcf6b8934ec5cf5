// The one event schema every tenant shares, so the operator can compare tenants side by side.
import { SERVICES } from '../tenancy/services.js';

export const USAGE_EVENTS = ['login', 'page.view', 'upload', 'download', 'search', 'share'] as const;
export type UsageEventName = (typeof USAGE_EVENTS)[number];

/** Services of the declaration, plus the parts of Portique that are not a declared service. */
export const USAGE_SERVICES = ['portal', 'account', 'notifications', 'admin', ...(Object.keys(SERVICES) as (keyof typeof SERVICES)[])] as const;
export type UsageService = (typeof USAGE_SERVICES)[number];

/** The id that stands for anonymous visitors in usage_person_days (a key column is never null). */
export const ANONYMOUS = '00000000-0000-0000-0000-000000000000';

const EVENT_SET = new Set<string>(USAGE_EVENTS);
const SERVICE_SET = new Set<string>(USAGE_SERVICES);
export const isUsageEvent = (value: string): value is UsageEventName => EVENT_SET.has(value);
export const isUsageService = (value: string): value is UsageService => SERVICE_SET.has(value);

// Longest path first, so /admin/annuaire is admin and not directory.
const PREFIXES: (readonly [string, UsageService])[] = [
  ['/admin', 'admin'] as const,
  ['/notifications', 'notifications'] as const,
  ['/mes-sessions', 'account'] as const,
  ...Object.entries(SERVICES).flatMap(([id, info]) => ('path' in info && info.path ? [[info.path, id as UsageService] as const] : [])),
].sort((a, b) => b[0].length - a[0].length);

/** The service a page belongs to, from its route pattern (/documents/:id -> documents). */
export function serviceOfRoute(route: string): UsageService {
  if (route === '/') return 'portal';
  for (const [prefix, service] of PREFIXES) if (route === prefix || route.startsWith(`${prefix}/`)) return service;
  return 'portal';
}
