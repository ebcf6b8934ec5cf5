// The bell's count, cached per process for a few seconds: a person clicking through pages costs
// one indexed count every TTL_MS at most, not one per page. This process's own writes (notify,
// mark read) drop the entry at once; another replica's show within TTL_MS.
const TTL_MS = 5_000;
const MAX_ENTRIES = 20_000;

const entries = new Map<string, { count: number; at: number }>();
const keyOf = (tenantId: string, personId: string) => `${tenantId}/${personId}`;

export function invalidateUnread(tenantId: string, personId: string): void {
  entries.delete(keyOf(tenantId, personId));
}

export async function cachedUnread(tenantId: string, personId: string, load: () => Promise<number>, now = Date.now()): Promise<number> {
  const key = keyOf(tenantId, personId);
  const hit = entries.get(key);
  if (hit && now - hit.at < TTL_MS) return hit.count;
  const count = await load();
  // Oldest first out (a Map iterates in insertion order): a bounded memory, whatever the traffic.
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  entries.delete(key);
  entries.set(key, { count, at: now });
  return count;
}
