// Where the test suite finds its services. Same defaults as `make test`; override by environment.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';

export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://portique_owner:portique_owner@127.0.0.1:5432/postgres';
export const PG_APP_ROLE = 'portique_app';
export const PG_APP_PASSWORD = 'portique_app';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** The migrated template for the current migrations/ (see test/setup/global.ts). */
export async function templateDatabaseName(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await readdir('migrations')).sort()) hash.update(file).update(await readFile(`migrations/${file}`));
  return `portique_tpl_${hash.digest('hex').slice(0, 12)}`;
}

export function databaseUrl(name: string, owner = false): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  if (!owner) {
    url.username = PG_APP_ROLE;
    url.password = PG_APP_PASSWORD;
  }
  return url.toString();
}
