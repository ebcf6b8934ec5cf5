// withTenant and readTenant (src/platform/db.ts) send BEGIN and set_config in the same packet
// as the first statement, and readTenant its COMMIT too. These tests attack what that could
// break: the setting must never outlive its transaction on a pooled connection (after success,
// an error in fn, a failed statement, caught or not), a statement must never run before the
// setting, and nothing may run through a tenant handle once its transaction is over.
// One-connection pools make "the next user of the connection" the very next query.
import t from 'tap';
import { sql } from 'kysely';
import { connectDatabase, type DbHandle } from '../../src/platform/db.js';
import { applyTenants } from '../../src/tenancy/apply.js';
import { createTestDatabase } from '../helpers/db.js';
import { insertPerson } from '../helpers/fixtures.js';

const database = await createTestDatabase();
t.teardown(() => database.drop());
await applyTenants(database.owner.db, 'tenants');
const tenants = await database.app.db.selectFrom('tenants').select(['id', 'slug']).orderBy('slug').execute();
const A = tenants.find((x) => x.slug === 'nord')!.id;
const B = tenants.find((x) => x.slug === 'sud')!.id;
const personA = await insertPerson(database.app, A, { displayName: 'Alice A' });
const personB = await insertPerson(database.app, B, { displayName: 'Bob B' });

/** A pool of one connection, so the next query runs where the previous transaction ran. */
function onePool(): DbHandle {
  const handle = connectDatabase(database.appUrl, { max: 1, name: 'portique-test-one' });
  t.teardown(() => handle.close());
  return handle;
}

/** What the pooled connection holds now, outside any transaction. */
async function leftover(handle: DbHandle) {
  // A simple query outside any transaction is a transaction of its own, started with it; inside
  // a transaction left open, now() would be older than the statement.
  const [row] = await handle.sql.unsafe<{ setting: string | null; people: number; ownTransaction: boolean }[]>(`
    select current_setting('app.tenant_id', true) as setting,
           (select count(*)::int from people) as people,
           now() = statement_timestamp() as "ownTransaction"`);
  return row!;
}

const clean = { setting: '', people: 0, ownTransaction: true };
const settingOf = (db: DbHandle['db']) =>
  sql<{ setting: string }>`select current_setting('app.tenant_id', true) as setting`.execute(db).then((r) => r.rows[0]!.setting);

t.test('the first statement of fn already sees the tenant, on a fresh connection too', async (t) => {
  const handle = onePool();
  for (let i = 0; i < 3; i++) {
    t.equal(await handle.withTenant(A, settingOf), A, `withTenant, use ${i + 1}`);
    t.equal(await handle.readTenant(B, settingOf), B, `readTenant, use ${i + 1}`);
  }
  const names = await handle.withTenant(A, (trx) => trx.selectFrom('people').select('display_name').execute());
  t.same(names, [{ display_name: 'Alice A' }]);
  t.same(await leftover(handle), clean);
});

t.test('withTenant: the setting does not outlive its transaction', async (t) => {
  const handle = onePool();

  await handle.withTenant(A, (trx) => trx.selectFrom('people').selectAll().execute());
  t.same(await leftover(handle), clean, 'after a commit');

  await t.rejects(
    handle.withTenant(A, async (trx) => {
      await trx.selectFrom('people').selectAll().execute();
      throw new Error('boom in fn');
    }),
    /boom in fn/,
  );
  t.same(await leftover(handle), clean, 'after an error thrown by fn');

  await t.rejects(handle.withTenant(A, (trx) => sql`select 1 / 0`.execute(trx)), /division by zero/);
  t.same(await leftover(handle), clean, 'after a failed statement');

  await t.rejects(handle.withTenant(A, (trx) => sql`select 1 / 0`.execute(trx).catch(() => undefined)), { name: 'TransactionAbortedError' });
  t.same(await leftover(handle), clean, 'after a failed statement that fn caught (its COMMIT rolls back, and says so)');

  await t.rejects(
    handle.withTenant(A, () => Promise.reject(new Error('before any statement'))),
    /before any statement/,
  );
  t.same(await leftover(handle), clean, 'after fn failed before its first statement');
});

t.test('withTenant: writes commit, and stay inside the tenant', async (t) => {
  const handle = onePool();
  await handle.withTenant(A, (trx) => trx.updateTable('people').set({ mail: 'alice@a.test' }).execute());
  const mails = await handle.withTenant(B, (trx) => trx.selectFrom('people').select('mail').execute());
  t.same(mails, [{ mail: null }], "B's person untouched");
  const mine = await handle.withTenant(A, (trx) => trx.selectFrom('people').select('mail').where('id', '=', personA).execute());
  t.same(mine, [{ mail: 'alice@a.test' }]);
});

t.test('a tenant handle refuses to run anything once its transaction is over', async (t) => {
  const handle = onePool();
  for (const open of [handle.withTenant, handle.readTenant]) {
    let kept: DbHandle['db'] | undefined;
    await open(A, async (trx) => {
      kept = trx;
    });
    await t.rejects(kept!.selectFrom('people').selectAll().execute(), /has ended|has returned/);
    // Another tenant now uses the one connection: the stale handle still cannot reach it.
    await handle.withTenant(B, async (trx) => {
      await t.rejects(kept!.updateTable('people').set({ mail: 'stolen@x.test' }).execute(), /has ended|has returned/);
      const mails = await trx.selectFrom('people').select('mail').where('id', '=', personB).execute();
      t.same(mails, [{ mail: null }]);
    });
  }
  t.same(await leftover(handle), clean);
});

t.test('withTenant: no nested transaction escapes the tenant', async (t) => {
  const handle = onePool();
  await t.rejects(
    handle.withTenant(A, (trx) => trx.transaction().execute((inner) => inner.selectFrom('people').selectAll().execute())),
    /no nested transactions/,
  );
  t.same(await leftover(handle), clean);
});

t.test('readTenant: one read-only transaction per statement, each seeing its tenant only', async (t) => {
  const handle = onePool();
  const rows = await handle.readTenant(A, async (db) => {
    const people = await db.selectFrom('people').select(['id', 'tenant_id']).execute();
    const [again] = await Promise.all([db.selectFrom('people').select('id').execute(), settingOf(db)]);
    return { people, again };
  });
  t.same(rows.people, [{ id: personA, tenant_id: A }]);
  t.same(rows.again, [{ id: personA }]);

  await t.rejects(handle.readTenant(A, (db) => db.updateTable('people').set({ mail: 'x@x.test' }).execute()), /read-only transaction/);
  t.same(await leftover(handle), clean, 'after a refused write');
  await t.rejects(handle.readTenant(A, (db) => sql`select 1 / 0`.execute(db)), /division by zero/);
  t.same(await leftover(handle), clean, 'after a failed statement');
  await t.rejects(
    handle.readTenant(A, async (db) => {
      await db.selectFrom('people').selectAll().execute();
      throw new Error('boom in fn');
    }),
    /boom in fn/,
  );
  t.same(await leftover(handle), clean, 'after an error thrown by fn');
  await t.rejects(handle.readTenant('not-a-uuid', async () => 1), /not a tenant id/);
});

t.test('streams run inside the tenant transaction, and an early stop leaves the connection clean', async (t) => {
  const handle = onePool();
  for (const open of [handle.withTenant, handle.readTenant]) {
    const seen = await open(A, async (db) => {
      const ids: string[] = [];
      for await (const row of db.selectFrom('people').select('tenant_id').stream(1)) ids.push(row.tenant_id);
      return ids;
    });
    t.same(seen, [A]);
  }
  await insertPerson(database.app, A, { displayName: 'Second A' });
  await handle.readTenant(A, async (db) => {
    for await (const row of db.selectFrom('people').select('tenant_id').stream(1)) {
      t.equal(row.tenant_id, A);
      break;
    }
  });
  t.same(await leftover(handle), clean, 'after a stream stopped early');
});

t.test('under concurrency every transaction sees exactly its tenant', async (t) => {
  const handle = connectDatabase(database.appUrl, { max: 3, name: 'portique-test-three' });
  t.teardown(() => handle.close());
  const results = await Promise.all(
    Array.from({ length: 60 }, (_, i) => {
      const tenant = i % 2 ? A : B;
      const open = i % 3 ? handle.withTenant : handle.readTenant;
      return open(tenant, async (db) => {
        const [rows, setting] = await Promise.all([db.selectFrom('people').select('tenant_id').execute(), settingOf(db)]);
        return setting === tenant && rows.length > 0 && rows.every((r) => r.tenant_id === tenant);
      });
    }),
  );
  t.ok(results.every(Boolean), 'every transaction saw exactly its tenant');
  const after = await handle.sql<{ setting: string | null }[]>`select current_setting('app.tenant_id', true) as setting`;
  t.same(after, [{ setting: '' }]);
});

t.test('a statement error caught inside fn does not pass for a commit', async (t) => {
  const count = () => database.app.withTenant(A, (trx) => trx.selectFrom('people').select('id').execute()).then((r) => r.length);
  const before = await count();
  await t.rejects(
    database.app.withTenant(A, async (trx) => {
      await trx
        .insertInto('people')
        .values({ tenant_id: A, id: crypto.randomUUID(), external_id: `lost-${Date.now()}`, display_name: 'Perdu', given_name: null, family_name: null, mail: null })
        .execute();
      await sql`select 1 / 0`.execute(trx).catch(() => 'swallowed');
      return 'looked fine';
    }),
    { name: 'TransactionAbortedError' },
    'withTenant reports that nothing was kept',
  );
  t.equal(await count(), before, 'and indeed nothing was written');
});
