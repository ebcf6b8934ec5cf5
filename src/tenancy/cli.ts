// What `portique tenants ...` does and prints.
import { hostname, userInfo } from 'node:os';
import type { AuditOrigin } from '../operator/audit.js';
import type { Db } from '../platform/db.js';
import { newId } from '../platform/ids.js';
import type { ApplyResult } from './apply.js';
import { OffboardError, exportTenant, purgeTenant, type OffboardDeps } from './offboard.js';

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

/** Who runs an operator command from a shell, for the audit trail: PORTIQUE_OPERATOR, else user@host. */
export function cliOrigin(env: NodeJS.ProcessEnv = process.env): AuditOrigin {
  const id = env.PORTIQUE_OPERATOR?.trim() || `${userInfo().username}@${hostname()}`;
  return { actor: { id, displayName: id }, ip: 'cli', requestId: newId() };
}

/** `tenants export <slug> [--out dir]` and `tenants purge <slug> --confirm <slug> [--no-export]`: what they print. */
export async function runOffboarding(deps: OffboardDeps, sub: 'export' | 'purge', args: string[], origin = cliOrigin()): Promise<string> {
  const [slug, ...flags] = args;
  const value = (flag: string) => {
    const i = flags.indexOf(flag);
    if (i < 0) return undefined;
    const v = flags[i + 1];
    if (v === undefined || v.startsWith('--')) throw new OffboardError(`${flag} needs a value`);
    return v;
  };
  const withValue = sub === 'export' ? ['--out'] : ['--confirm'];
  const unknown: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    if (withValue.includes(flags[i]!)) i++;
    else if (!(sub === 'purge' && flags[i] === '--no-export')) unknown.push(flags[i]!);
  }
  if (!slug || slug.startsWith('--') || unknown.length > 0) {
    throw new OffboardError(`usage: portique tenants ${sub === 'export' ? 'export <slug> [--out dir]' : 'purge <slug> --confirm <slug> [--no-export]'}${unknown.length ? ` (unexpected: ${unknown.join(' ')})` : ''}`);
  }
  if (sub === 'export') {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const { dir, manifest } = await exportTenant(deps, slug, value('--out') ?? `portique-export-${slug}-${stamp}`, origin);
    const rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
    const bytes = manifest.objects.reduce((n, o) => n + o.bytes, 0);
    return `exported ${slug}: ${rows} row(s) from ${manifest.tables.length} table(s), ${manifest.objects.length} object(s) (${bytes} bytes)\n-> ${dir}\n   check it with: (cd ${dir} && sha256sum -c SHA256SUMS)`;
  }
  const result = await purgeTenant(deps, slug, { confirm: value('--confirm'), noExport: flags.includes('--no-export') }, origin);
  const tables = Object.entries(result.rows).sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `  ${t}: ${n}`);
  return [
    `purged ${slug} (${result.tenant.id}):`,
    ...tables,
    `  S3 objects: ${result.objects}`,
    `  Redis keys: ${result.redisKeys}`,
    result.exportDir ? `its export stays at ${result.exportDir}` : 'no export was kept (--no-export)',
    `remove tenants/${slug}.yaml and tenants/${slug}/ now: the next \`portique tenants apply\` would declare it again, empty`,
  ].join('\n');
}
