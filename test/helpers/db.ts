// One database per test file, cloned from the migrated template: files run in parallel and
// never see each other's rows.
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { connectDatabase, type DbHandle } from '../../src/platform/db.js';
import { PG_ADMIN_URL, databaseUrl } from './env.js';
import { ensureTemplate } from './template.js';

export interface TestDatabase {
  name: string;
  appUrl: string;
  ownerUrl: string;
  /** As the application role (RLS applies). */
  app: DbHandle;
  /** As the owner role (migrations, tenants apply). */
  owner: DbHandle;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  // The creation time in the name lets an interrupted run's leftovers be recognised and dropped.
  const name = `portique_t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  // Normally made by test/setup/global.ts; made here too when a file runs on its own.
  const template = await ensureTemplate();
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}" template "${template}"`);
  } finally {
    await admin.end();
  }
  const appUrl = databaseUrl(name);
  const ownerUrl = databaseUrl(name, true);
  const app = connectDatabase(appUrl, { max: 4, name: 'portique-test' });
  const owner = connectDatabase(ownerUrl, { max: 2, name: 'portique-test-owner' });
  return {
    name,
    appUrl,
    ownerUrl,
    app,
    owner,
    async drop() {
      await Promise.allSettled([app.close(), owner.close()]);
      const sql = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await sql.end();
      }
    },
  };
}
