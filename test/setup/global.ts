// Runs once before the test files (tap "before"): makes sure a migrated template database exists
// for the current migrations. Each test file clones it into its own database (test/helpers/db.ts).
// The template's name carries a hash of migrations/, so concurrent runs share it safely and a
// changed migration gets a fresh one.
import postgres from 'postgres';
import { migrate } from '../../src/platform/migrate.js';
import { PG_ADMIN_URL, databaseUrl, templateDatabaseName } from '../helpers/env.js';

const STALE_AFTER_SECONDS = 3 * 3600;
const template = await templateDatabaseName();
const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
try {
  await admin`select pg_advisory_lock(hashtext('portique.test.template'))`;
  // Leftovers of interrupted runs: test databases (named with their creation time) past a few hours,
  // and templates of older migrations.
  const now = Math.floor(Date.now() / 1000);
  const dbs = await admin<{ datname: string }[]>`select datname from pg_database where datname like 'portique_t%'`;
  for (const { datname } of dbs) {
    const created = /^portique_t_(\d+)_/.exec(datname)?.[1];
    const staleTest = created && now - Number(created) > STALE_AFTER_SECONDS;
    const oldTemplate = datname.startsWith('portique_tpl_') && datname !== template;
    if (staleTest || oldTemplate) await admin.unsafe(`drop database if exists "${datname}" with (force)`).catch(() => {});
  }
  const [exists] = await admin`select 1 from pg_database where datname = ${template}`;
  if (!exists) {
    const building = `${template}_build`;
    await admin.unsafe(`drop database if exists "${building}" with (force)`);
    await admin.unsafe(`create database "${building}"`);
    await migrate(databaseUrl(building, true), databaseUrl(building), 'migrations');
    await admin.unsafe(`alter database "${building}" rename to "${template}"`);
  }
} finally {
  await admin`select pg_advisory_unlock(hashtext('portique.test.template'))`.catch(() => {});
  await admin.end();
}
