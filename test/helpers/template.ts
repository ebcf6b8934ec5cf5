// The migrated template database that each test file clones (test/helpers/db.ts). Its name
// carries a hash of migrations/, so concurrent runs share it and a changed migration gets a new
// one. Templates and test databases carry their creation time (name or comment), so leftovers of
// interrupted runs are dropped after a few hours without disturbing a run in progress.
import postgres from 'postgres';
import { migrate } from '../../src/platform/migrate.js';
import { PG_ADMIN_URL, databaseUrl, templateDatabaseName } from './env.js';

const STALE_AFTER_SECONDS = 3 * 3600;

export async function ensureTemplate(): Promise<string> {
  const template = await templateDatabaseName();
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin`select pg_advisory_lock(hashtext('portique.test.template'))`;
    const now = Math.floor(Date.now() / 1000);
    const dbs = await admin<{ datname: string; comment: string | null }[]>`
      select datname, shobj_description(oid, 'pg_database') as comment from pg_database where datname like 'portique_t%'`;
    for (const { datname, comment } of dbs) {
      const created = Number(/^portique_t_(\d+)_/.exec(datname)?.[1] ?? comment ?? now);
      if (datname !== template && now - created > STALE_AFTER_SECONDS) {
        await admin.unsafe(`drop database if exists "${datname}" with (force)`).catch(() => {});
      }
    }
    const [exists] = await admin`select 1 from pg_database where datname = ${template}`;
    if (!exists) {
      const building = `${template}_build`;
      await admin.unsafe(`drop database if exists "${building}" with (force)`);
      await admin.unsafe(`create database "${building}"`);
      await migrate(databaseUrl(building, true), databaseUrl(building), 'migrations');
      await admin.unsafe(`alter database "${building}" rename to "${template}"`);
      await admin.unsafe(`comment on database "${template}" is '${now}'`);
    }
    return template;
  } finally {
    await admin`select pg_advisory_unlock(hashtext('portique.test.template'))`.catch(() => {});
    await admin.end();
  }
}
