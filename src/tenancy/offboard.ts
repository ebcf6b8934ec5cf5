// Offboarding a university: `portique tenants export <slug>` writes everything the tenant owns
// into a folder it can take away; `portique tenants purge <slug> --confirm <slug>` then deletes
// it all, everywhere: every row of every tenant table, every object under its S3 prefix, every
// Redis key that names it (sessions, SAML state, its job queues). Both are operator actions and
// go to the operator's audit trail.
//
// The tenant tables are found in the catalogue (every table with a tenant_id column), as
// test/platform/isolation.test.ts finds them, so a table added later is exported and purged
// without anyone remembering to list it here. tenant_hosts and operator_audit carry tenant_id but
// are platform data: the hosts go with the registry row, the audit trail outlives the tenant.
//
// Export layout (format portique-tenant-export, version 1):
//   manifest.json        tenant, time, every table (rows, SHA-256) and object (key, bytes, SHA-256)
//   tenant.json          the registry row: slug, names, status, hosts, the declaration
//   tables/<table>.jsonl one JSON object per row (row_to_json: bytea as "\x<hex>", times ISO 8601)
//   objects/<key>        each S3 object's bytes, its key without the tenant prefix
//   SHA256SUMS           `sha256sum -c SHA256SUMS` checks every other file
// It is written to <out>.partial and renamed at the end: a folder named <out> is a whole export.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectsCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import type { Redis } from 'ioredis';
import type postgres from 'postgres';
import type { Readable } from 'node:stream';
import type { DbHandle } from '../platform/db.js';
import { isUuid, newId } from '../platform/ids.js';
import { bucketFor, listObjects, type BucketOwner, type Storage } from '../platform/storage.js';
import type { AuditOrigin } from '../operator/audit.js';
import { recordAudit } from '../operator/audit.js';

/** Carry tenant_id without being tenant-owned (see above). */
export const PLATFORM_TABLES: readonly string[] = ['tenant_hosts', 'operator_audit'];

/**
 * Columns left out of the export. The SP private key is sealed with the consortium's
 * SAML_KEY_SECRET: useless to the university without it, and that secret is not theirs.
 */
const NOT_EXPORTED: Readonly<Record<string, readonly string[]>> = { saml_sp_keys: ['private_key'] };

export const EXPORT_FORMAT = 'portique-tenant-export';

export class OffboardError extends Error {
  override readonly name = 'OffboardError';
}

export interface OffboardDeps {
  /** As the owner role: reads and deletes every tenant table (RLS still applies, per tenant). */
  owner: DbHandle;
  storage: Storage;
  redis: Redis;
}

interface TenantRow {
  id: string;
  slug: string;
  display_name: string;
  status: 'active' | 'suspended';
  declaration: unknown;
  created_at: Date;
  updated_at: Date;
}

export interface TableExport {
  table: string;
  file: string;
  rows: number;
  bytes: number;
  sha256: string;
}

export interface ObjectExport {
  key: string;
  file: string;
  bytes: number;
  sha256: string;
}

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  version: 1;
  exportedAt: string;
  tenant: { id: string; slug: string; displayName: string; status: string };
  tables: TableExport[];
  objects: ObjectExport[];
}

export interface ExportResult {
  dir: string;
  manifest: ExportManifest;
  manifestSha256: string;
}

/** Tables with a tenant_id column, from the catalogue (partitions are read through their parent). */
export async function tenantTables(sql: postgres.Sql | postgres.TransactionSql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select c.relname as name from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
    where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition
    order by 1`;
  return rows.map((r) => r.name).filter((name) => !PLATFORM_TABLES.includes(name));
}

async function primaryKey(tx: postgres.TransactionSql, table: string): Promise<string[]> {
  const rows = await tx<{ name: string }[]>`
    select a.attname as name from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey)
    where i.indrelid = ${table}::regclass and i.indisprimary
    order by array_position(i.indkey::int2[], a.attnum)`;
  return rows.map((r) => r.name);
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function findTenant(owner: DbHandle, slug: string): Promise<TenantRow> {
  const [row] = await owner.sql<TenantRow[]>`select id, slug, display_name, status, declaration, created_at, updated_at from tenants where slug = ${slug}`;
  if (!row) throw new OffboardError(`no tenant "${slug}" (see \`portique tenants list\`)`);
  return row;
}

/** A hash of what passes through, for files written from streams. */
function hashing(): { stream: Transform; digest: () => { bytes: number; sha256: string } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, digest: () => ({ bytes, sha256: hash.digest('hex') }) };
}

/** objects/<key without "<tenantId>/">, refusing any key that would land outside objects/. */
function objectPath(objectsDir: string, tenantId: string, key: string): string {
  const rest = key.slice(tenantId.length + 1);
  const parts = rest.split('/');
  if (!key.startsWith(`${tenantId}/`) || parts.some((p) => p === '' || p === '.' || p === '..' || /[\\\0]/.test(p))) {
    throw new OffboardError(`object key ${JSON.stringify(key)} cannot be written as a file; nothing was exported`);
  }
  const path = resolve(objectsDir, ...parts);
  if (!path.startsWith(objectsDir + sep)) throw new OffboardError(`object key ${JSON.stringify(key)} leaves the export folder`);
  return path;
}

/**
 * Where the tenant's objects are: the regional bucket (directory photos and everything else), and
 * its own bucket when its declaration names one (its documents). Keys carry the tenant prefix in both.
 */
export function tenantBuckets(storage: Storage, tenant: { declaration: unknown }): string[] {
  return [...new Set([storage.bucket, bucketFor(storage, tenant as BucketOwner)])];
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

const README = `Portique — export des données d'un établissement / export of a university's data

manifest.json        l'établissement, la date, chaque table (lignes, SHA-256) et chaque objet
                     the university, the time, every table (rows, SHA-256) and every object
tenant.json          la déclaration et les adresses / the declaration and its hosts
tables/<table>.jsonl une ligne JSON par enregistrement / one JSON object per row
                     (bytea: "\\\\x<hex>", dates ISO 8601)
objects/<clé>        le contenu des fichiers déposés / the bytes of the stored files
                     (document_versions.object_key, sans le préfixe de l'établissement / without the tenant prefix)
SHA256SUMS           vérification / check: sha256sum -c SHA256SUMS
`;

/**
 * Writes everything the tenant owns to `outDir` (which must not exist yet), reading the database
 * in one REPEATABLE READ snapshot, and records the export in the operator's audit trail.
 */
export async function exportTenant(deps: OffboardDeps, slug: string, outDir: string, origin: AuditOrigin): Promise<ExportResult> {
  const tenant = await findTenant(deps.owner, slug);
  const dir = resolve(outDir);
  if (await stat(dir).catch(() => undefined)) throw new OffboardError(`${dir} already exists: give another --out`);
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(join(partial, 'tables'), { recursive: true });
  await mkdir(join(partial, 'objects'), { recursive: true });
  const sums: { file: string; sha256: string }[] = [];
  try {
    const tables: TableExport[] = [];
    let hosts: string[] = [];
    await deps.owner.sql.begin('isolation level repeatable read read only', async (tx) => {
      await tx`select set_config('app.tenant_id', ${tenant.id}, true)`;
      hosts = (await tx<{ host: string }[]>`select host from tenant_hosts where tenant_id = ${tenant.id} order by host`).map((h) => h.host);
      for (const table of await tenantTables(tx)) {
        const order = (await primaryKey(tx, table)).map(ident).join(', ');
        const dropped = (NOT_EXPORTED[table] ?? []).map((c) => ` - '${c}'`).join('');
        const query = `select (to_jsonb(x)${dropped})::text as line from ${ident(table)} x where tenant_id = $1${order ? ` order by ${order}` : ''}`;
        const file = `tables/${table}.jsonl`;
        const { stream, digest } = hashing();
        const out = createWriteStream(join(partial, file));
        const written = pipeline(stream, out);
        let rows = 0;
        for await (const chunk of tx.unsafe<{ line: string }[]>(query, [tenant.id]).cursor(1000)) {
          const text = chunk.map((r) => `${r.line}\n`).join('');
          rows += chunk.length;
          if (!stream.write(text)) await new Promise((r) => stream.once('drain', r));
        }
        stream.end();
        await written;
        const { bytes, sha256 } = digest();
        tables.push({ table, file, rows, bytes, sha256 });
        sums.push({ file, sha256 });
      }
    });

    const objects: ObjectExport[] = [];
    const objectsDir = resolve(partial, 'objects');
    const seen = new Set<string>();
    for (const bucket of tenantBuckets(deps.storage, tenant)) {
      for await (const { key } of listObjects(deps.storage, bucket, `${tenant.id}/`)) {
        // One file per key: the same key in the regional and the tenant's bucket would overwrite.
        if (seen.has(key)) throw new OffboardError(`object key ${JSON.stringify(key)} is in both ${deps.storage.bucket} and ${bucket}; nothing was exported`);
        seen.add(key);
        const path = objectPath(objectsDir, tenant.id, key);
        await mkdir(dirname(path), { recursive: true });
        const body = (await deps.storage.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable;
        const { stream, digest } = hashing();
        await pipeline(body, stream, createWriteStream(path));
        const file = relative(partial, path).split(sep).join('/');
        objects.push({ key, file, ...digest() });
        sums.push({ file, sha256: objects.at(-1)!.sha256 });
      }
    }

    const tenantJson = `${JSON.stringify(
      { id: tenant.id, slug: tenant.slug, displayName: tenant.display_name, status: tenant.status, hosts, createdAt: tenant.created_at, updatedAt: tenant.updated_at, declaration: tenant.declaration },
      null,
      2,
    )}\n`;
    const manifest: ExportManifest = {
      format: EXPORT_FORMAT,
      version: 1,
      exportedAt: new Date().toISOString(),
      tenant: { id: tenant.id, slug: tenant.slug, displayName: tenant.display_name, status: tenant.status },
      tables,
      objects,
    };
    const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
    for (const [file, text] of [['tenant.json', tenantJson], ['manifest.json', manifestText], ['README.txt', README]] as const) {
      await writeFile(join(partial, file), text);
      sums.push({ file, sha256: createHash('sha256').update(text).digest('hex') });
    }
    await writeFile(join(partial, 'SHA256SUMS'), sums.map((s) => `${s.sha256}  ${s.file}\n`).join(''));
    await rename(partial, dir);
    const manifestSha256 = createHash('sha256').update(manifestText).digest('hex');
    await recordAudit(deps.owner.db, origin, {
      action: 'export',
      tenant: { id: tenant.id, slug: tenant.slug },
      detail: { dir, manifestSha256, tables: String(tables.length), rows: String(tables.reduce((n, t) => n + t.rows, 0)), objects: String(objects.length) },
    });
    return { dir, manifest, manifestSha256 };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

export interface PurgeResult {
  tenant: { id: string; slug: string };
  /** Rows deleted per table (tables the tenant had no row in are left out). */
  rows: Record<string, number>;
  objects: number;
  redisKeys: number;
  exportDir: string | undefined;
}

/** The export a purge relies on: taken since the tenant's last registry change (its suspension), still there, every file unchanged. */
async function checkExport(owner: DbHandle, tenant: TenantRow): Promise<string> {
  const last = await owner.db
    .selectFrom('operator_audit')
    .select(['at', 'detail'])
    .where('tenant_id', '=', tenant.id)
    .where('action', '=', 'export')
    .orderBy('at', 'desc')
    .limit(1)
    .executeTakeFirst();
  const again = `export it again (\`portique tenants export ${tenant.slug}\`), or give --no-export to delete it without one`;
  if (!last) throw new OffboardError(`${tenant.slug} has never been exported: ${again}`);
  if (last.at.getTime() < tenant.updated_at.getTime()) {
    throw new OffboardError(`the last export of ${tenant.slug} (${last.at.toISOString()}) predates its last change (${tenant.updated_at.toISOString()}, e.g. its suspension): ${again}`);
  }
  const dir = last.detail.dir ?? '';
  const manifestFile = join(dir, 'manifest.json');
  const found = await sha256File(manifestFile).catch(() => undefined);
  if (found !== last.detail.manifestSha256) {
    throw new OffboardError(`the export of ${tenant.slug} at ${dir} is ${found ? 'changed' : 'gone'}: ${again}`);
  }
  // Every file the manifest lists, read back: what is about to be deleted must be in the export.
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as ExportManifest;
  const bad: string[] = [];
  for (const entry of [...manifest.tables, ...manifest.objects]) {
    if ((await sha256File(join(dir, entry.file)).catch(() => undefined)) !== entry.sha256) bad.push(entry.file);
  }
  if (bad.length > 0) {
    throw new OffboardError(`the export of ${tenant.slug} at ${dir} is incomplete (${bad.length} file(s) missing or changed, e.g. ${bad.slice(0, 3).join(', ')}): ${again}`);
  }
  return dir;
}

/** Deletes what Redis holds for the tenant: every key naming its id (DESIGN.md: Redis keys carry the tenant). */
async function purgeRedis(redis: Redis, tenantId: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${tenantId}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

async function purgeObjects(storage: Storage, tenantId: string, bucket: string): Promise<number> {
  let deleted = 0;
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const out = await storage.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    if (out.Errors?.length) throw new OffboardError(`S3 refused to delete ${out.Errors.length} object(s), e.g. ${out.Errors[0]!.Key}: ${out.Errors[0]!.Message}; run the purge again`);
    deleted += batch.length;
    batch = [];
  };
  // Listed again until a listing finds nothing: deleting while paginating could skip keys.
  for (;;) {
    let listed = 0;
    for await (const { key } of listObjects(storage, bucket, `${tenantId}/`)) {
      listed++;
      batch.push(key);
      if (batch.length === 1000) await flush();
    }
    await flush();
    if (listed === 0) return deleted;
  }
}

/**
 * Deletes the tenant everywhere. Refused unless `confirm` repeats the slug, the tenant is
 * suspended, and an export taken since its suspension is still where it was written (or
 * `noExport` says, explicitly, to go without one). S3 and Redis go first: should anything fail
 * there, the tenant is still registered and the purge can simply be run again. The rows then go
 * in one transaction, with the audit record; Redis is swept once more afterwards for anything a
 * worker wrote in between.
 */
export async function purgeTenant(
  deps: OffboardDeps,
  slug: string,
  options: { confirm: string | undefined; noExport?: boolean },
  origin: AuditOrigin,
): Promise<PurgeResult> {
  const tenant = await findTenant(deps.owner, slug);
  if (options.confirm !== slug) throw new OffboardError(`purging deletes everything ${slug} has, for good: repeat its slug with --confirm ${slug}`);
  if (tenant.status !== 'suspended') {
    throw new OffboardError(`${slug} is ${tenant.status}: suspend it first (operator console, or status: suspended in its declaration and \`portique tenants apply\`)`);
  }
  if (!isUuid(tenant.id)) throw new OffboardError(`tenant id ${tenant.id} is not a UUID`);
  const exportDir = options.noExport ? undefined : await checkExport(deps.owner, tenant);

  let objects = 0;
  for (const bucket of tenantBuckets(deps.storage, tenant)) objects += await purgeObjects(deps.storage, tenant.id, bucket);
  let redisKeys = await purgeRedis(deps.redis, tenant.id);

  const rows: Record<string, number> = {};
  await deps.owner.sql.begin(async (tx) => {
    // Not while `tenants apply` runs (it could write this tenant's rows again).
    await tx`select pg_advisory_xact_lock(hashtext('portique.tenants.apply'))`;
    await tx`select set_config('app.tenant_id', ${tenant.id}, true)`;
    const [current] = await tx<{ status: string }[]>`select status from tenants where id = ${tenant.id} for update`;
    if (current?.status !== 'suspended') throw new OffboardError(`${slug} was resumed meanwhile: nothing was deleted from the database`);
    const all = await tenantTables(tx);
    // What is deleted, counted first: rows deleted by a cascade never show in a DELETE's count.
    for (const table of all) {
      const [{ n }] = (await tx.unsafe(`select count(*)::int as n from ${ident(table)} where tenant_id = $1`, [tenant.id])) as unknown as [{ n: number }];
      if (n > 0) rows[table] = n;
    }
    // Foreign keys between tenant tables (and triggers: deleting people updates people_counts)
    // decide an order; rather than trusting a computed one, a table whose delete is refused by
    // a reference is retried after the others, and a last pass finds anything a trigger added.
    let remaining = all;
    for (let pass = 0; remaining.length > 0; pass++) {
      if (pass > all.length) throw new OffboardError(`could not delete the rows of ${remaining.join(', ')}: they reference each other`);
      const refused: string[] = [];
      for (const table of remaining) {
        try {
          await tx.savepoint((sp) => sp.unsafe(`delete from ${ident(table)} where tenant_id = $1`, [tenant.id]));
        } catch (error) {
          if ((error as { code?: string }).code !== '23503') throw error;
          refused.push(table);
        }
      }
      remaining = refused;
    }
    for (const table of all) await tx.unsafe(`delete from ${ident(table)} where tenant_id = $1`, [tenant.id]);
    await tx`delete from tenant_hosts where tenant_id = ${tenant.id}`;
    await tx`delete from tenants where id = ${tenant.id}`;
    const detail: Record<string, string> = { objects: String(objects), redisKeys: String(redisKeys), rows: String(Object.values(rows).reduce((a, b) => a + b, 0)) };
    if (exportDir) detail.export = exportDir;
    else detail.export = 'none (--no-export)';
    await tx`insert into operator_audit (id, actor, actor_name, action, tenant_id, tenant_slug, detail, ip, request_id)
      values (${newId()}, ${origin.actor.id}, ${origin.actor.displayName}, 'purge', ${tenant.id}, ${tenant.slug}, ${tx.json(detail)}, ${origin.ip}, ${origin.requestId})`;
  });
  redisKeys += await purgeRedis(deps.redis, tenant.id);
  return { tenant: { id: tenant.id, slug: tenant.slug }, rows, objects, redisKeys, exportDir };
}

/** Checks an export folder against its SHA256SUMS: the files that differ or are missing. */
export async function verifyExport(dir: string): Promise<string[]> {
  const sums = await readFile(join(dir, 'SHA256SUMS'), 'utf8');
  const bad: string[] = [];
  for (const line of sums.split('\n').filter(Boolean)) {
    const [sha256, file] = [line.slice(0, 64), line.slice(66)];
    if ((await sha256File(join(dir, file)).catch(() => undefined)) !== sha256) bad.push(file);
  }
  return bad;
}
