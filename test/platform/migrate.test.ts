// `portique migrate`: in order, once, as the owner; a failure stops with a non-zero exit and
// leaves nothing half-applied; an edited migration is refused.
import t from 'tap';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { migrate } from '../../src/platform/migrate.js';
import { createTestDatabase } from '../helpers/db.js';

const database = await createTestDatabase();
t.teardown(() => database.drop());
const owner = postgres(database.ownerUrl, { max: 1, onnotice: () => {} });
t.teardown(() => owner.end());

async function migrationsCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portique-migrations-'));
  await cp('migrations', dir, { recursive: true });
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('an up-to-date database: nothing to apply, twice', async (t) => {
  t.same(await migrate(database.ownerUrl, database.appUrl), { applied: [] });
  t.same(await migrate(database.ownerUrl, database.appUrl), { applied: [] });
});

t.test('a new migration is applied once and the app role gets access to its table', async (t) => {
  const dir = await migrationsCopy();
  await writeFile(join(dir, '9000_test_notes.sql'), 'create table test_notes (id int primary key, body text);');
  t.same(await migrate(database.ownerUrl, database.appUrl, dir), { applied: ['9000_test_notes.sql'] });
  t.same(await migrate(database.ownerUrl, database.appUrl, dir), { applied: [] });
  const app = postgres(database.appUrl, { max: 1 });
  t.teardown(() => app.end());
  await app`insert into test_notes values (1, 'ok')`;
  t.same(await app`select body from test_notes`, [{ body: 'ok' }]);
});

t.test('a failing migration stops, exits non-zero and leaves nothing behind', async (t) => {
  const dir = await migrationsCopy();
  await writeFile(join(dir, '9001_half.sql'), 'create table half_done (id int); select * from no_such_table;');
  await t.rejects(migrate(database.ownerUrl, database.appUrl, dir), /9001_half\.sql failed: relation "no_such_table" does not exist/);
  const [table] = await owner`select to_regclass('half_done') as t`;
  t.equal(table?.t, null, 'the first statement was rolled back too');
  const [row] = await owner`select count(*)::int as n from schema_migrations where name = '9001_half.sql'`;
  t.equal(row?.n, 0);

  const run = promisify(execFile);
  const env = { PATH: process.env.PATH, DATABASE_URL: database.appUrl, DATABASE_OWNER_URL: database.ownerUrl, REDIS_URL: 'redis://127.0.0.1', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', SMTP_URL: 'smtp://127.0.0.1' };
  // The CLI reads ./migrations: run it from a folder whose migrations/ holds the failing one.
  const cwd = await mkdtemp(join(tmpdir(), 'portique-cwd-'));
  t.teardown(() => rm(cwd, { recursive: true, force: true }));
  await cp(dir, join(cwd, 'migrations'), { recursive: true });
  const result = await run(join(process.cwd(), 'bin/portique'), ['migrate'], { env, cwd }).catch((e: { code: number; stderr: string }) => e);
  t.equal((result as { code: number }).code, 1, 'exit code 1');
  t.match((result as { stderr: string }).stderr, /9001_half\.sql failed/);
});

t.test('an applied migration that was edited is refused', async (t) => {
  const dir = await migrationsCopy();
  await writeFile(join(dir, '0001_foundation.sql'), '-- edited\n');
  await t.rejects(migrate(database.ownerUrl, database.appUrl, dir), /0001_foundation\.sql was changed after it was applied/);
});

t.test('the owner and the application role must differ', async (t) => {
  await t.rejects(migrate(database.ownerUrl, database.ownerUrl), /must use different roles/);
});
