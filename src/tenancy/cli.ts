// What `portique tenants ...` prints.
import type { Db } from '../platform/db.js';
import type { ApplyResult } from './apply.js';

export function describeChanges({ changes, warnings, dryRun }: ApplyResult): string {
  const lines = changes.map((c) => {
    switch (c.kind) {
      case 'create':
        return `+ create ${c.slug} (${c.hosts.join(', ')})`;
      case 'update':
        return `~ update ${c.slug}: ${c.what.join(', ')}`;
      case 'unchanged':
        return `  ${c.slug} unchanged`;
      case 'undeclared':
        return `! ${c.slug} has no declaration file; kept as it is (offboarding a university is a deliberate step of its own)`;
    }
  });
  const changed = changes.filter((c) => c.kind === 'create' || c.kind === 'update').length;
  const summary = dryRun
    ? `dry run: ${changed} tenant(s) would change, nothing was written`
    : `${changed} tenant(s) changed`;
  const warned = warnings.map((w) => `! ${w.file}: ${w.field}: ${w.reason}`);
  return [...lines, ...warned, summary].join('\n');
}

export async function listTenants(db: Db): Promise<string> {
  const rows = await db
    .selectFrom('tenants')
    .leftJoin('tenant_hosts', 'tenant_hosts.tenant_id', 'tenants.id')
    .select(['tenants.slug', 'tenants.display_name', 'tenants.status', 'tenant_hosts.host'])
    .orderBy('tenants.slug')
    .orderBy('tenant_hosts.host')
    .execute();
  if (rows.length === 0) return 'no tenants';
  const bySlug = new Map<string, { name: string; status: string; hosts: string[] }>();
  for (const r of rows) {
    const t = bySlug.get(r.slug) ?? { name: r.display_name, status: r.status, hosts: [] };
    if (r.host) t.hosts.push(r.host);
    bySlug.set(r.slug, t);
  }
  const table = [['SLUG', 'STATUS', 'NAME', 'HOSTS'], ...[...bySlug].map(([slug, t]) => [slug, t.status, t.name, t.hosts.join(', ')])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
