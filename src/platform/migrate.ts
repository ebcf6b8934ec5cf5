// `portique migrate`: applies migrations/*.sql in order, each in its own transaction, as the
// owner role; then makes sure the application role exists, owns nothing, cannot bypass RLS, and
// has exactly the privileges the application needs.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import postgres from 'postgres';

export interface MigrateResult {
  applied: string[];
}

/** Registry tables the application may read but only `tenants apply` (owner) may write. */
const READ_ONLY_FOR_APP = ['tenants', 'tenant_hosts'];
/** Columns of read-only tables that the application may change (operator suspends a tenant). */
const APP_UPDATABLE_COLUMNS: Record<string, string[]> = { tenants: ['status', 'updated_at'] };
/**
 * Audit trails the application appends to and reads, never changes: SELECT and INSERT only (no
 * UPDATE, DELETE or TRUNCATE), so even a compromised application cannot rewrite what it did.
 */
const APPEND_ONLY_FOR_APP = ['operator_audit'];

export class MigrationError extends Error {}

export async function migrate(ownerUrl: string, appUrl: string, dir = 'migrations'): Promise<MigrateResult> {
  const sql = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    const app = new URL(appUrl);
    const appRole = decodeURIComponent(app.username);
    if (!appRole) throw new MigrationError('DATABASE_URL must name the application role (user)');
    const [owner] = await sql<{ current_user: string }[]>`select current_user`;
    if (owner?.current_user === appRole) {
      throw new MigrationError('DATABASE_OWNER_URL and DATABASE_URL must use different roles');
    }

    await sql`select pg_advisory_lock(hashtext('portique.migrate'))`;
    await sql`create table if not exists schema_migrations (
      name text primary key, checksum text not null, applied_at timestamptz not null default now())`;
    const done = new Map(
      (await sql<{ name: string; checksum: string }[]>`select name, checksum from schema_migrations`).map((r) => [
        r.name,
        r.checksum,
      ]),
    );

    const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
    const applied: string[] = [];
    for (const file of files) {
      const text = await readFile(join(dir, file), 'utf8');
      const checksum = createHash('sha256').update(text).digest('hex');
      const previous = done.get(file);
      if (previous !== undefined) {
        if (previous !== checksum) throw new MigrationError(`${file} was changed after it was applied; add a new migration instead`);
        continue;
      }
      try {
        await sql.begin(async (tx) => {
          await tx.unsafe(text);
          await tx`insert into schema_migrations (name, checksum) values (${file}, ${checksum})`;
        });
      } catch (error) {
        throw new MigrationError(`${file} failed: ${(error as Error).message}`);
      }
      applied.push(file);
    }

    await ensureApplicationRole(sql, appRole, decodeURIComponent(app.password));
    await sql`select pg_advisory_unlock(hashtext('portique.migrate'))`;
    return { applied };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function ensureApplicationRole(sql: postgres.Sql, role: string, password: string): Promise<void> {
  const [existing] = await sql<{ rolsuper: boolean; rolbypassrls: boolean }[]>`
    select rolsuper, rolbypassrls from pg_roles where rolname = ${role}`;
  if (!existing) {
    await sql.unsafe(
      `create role ${quoteIdent(role)} login nosuperuser nobypassrls nocreatedb nocreaterole` +
        (password ? ` password ${quoteLiteral(password)}` : ''),
    );
  } else if (existing.rolsuper || existing.rolbypassrls) {
    throw new MigrationError(`the application role "${role}" is a superuser or has BYPASSRLS; it must have neither`);
  }
  const owned = await sql<{ relname: string }[]>`
    select c.relname from pg_class c join pg_roles r on r.oid = c.relowner
    where r.rolname = ${role} and c.relnamespace = 'public'::regnamespace`;
  if (owned.length > 0) {
    throw new MigrationError(`the application role "${role}" owns ${owned.map((o) => o.relname).join(', ')}; it must own nothing`);
  }

  const r = quoteIdent(role);
  const tables = (await sql<{ tablename: string }[]>`
    select tablename from pg_tables where schemaname = 'public' and tablename <> 'schema_migrations'`).map(
    (t) => t.tablename,
  );
  await sql.unsafe(`grant connect on database ${quoteIdent(await currentDatabase(sql))} to ${r}`);
  await sql.unsafe(`grant usage on schema public to ${r}`);
  await sql.unsafe(`revoke all on schema_migrations from ${r}`);
  for (const table of tables) {
    const t = quoteIdent(table);
    if (READ_ONLY_FOR_APP.includes(table)) {
      await sql.unsafe(`revoke all on ${t} from ${r}`);
      await sql.unsafe(`grant select on ${t} to ${r}`);
      const columns = APP_UPDATABLE_COLUMNS[table];
      if (columns) await sql.unsafe(`grant update (${columns.map(quoteIdent).join(', ')}) on ${t} to ${r}`);
    } else if (APPEND_ONLY_FOR_APP.includes(table)) {
      await sql.unsafe(`revoke all on ${t} from ${r}`);
      await sql.unsafe(`grant select, insert on ${t} to ${r}`);
    } else {
      await sql.unsafe(`grant select, insert, update, delete on ${t} to ${r}`);
    }
  }
  await sql.unsafe(`grant usage, select on all sequences in schema public to ${r}`);
}

async function currentDatabase(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<{ db: string }[]>`select current_database() as db`;
  return row!.db;
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const quoteLiteral = (value: string): string => `'${value.replaceAll("'", "''")}'`;
