// The session store against real Redis, with a controllable clock: creation, idle and absolute
// expiry, realm separation, listing and ending other sessions, single-logout lookups.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createSessionStore, type Realm, type SessionData } from '../../src/identity/session-store.js';
import { REDIS_URL } from '../helpers/env.js';

const redis = new Redis(REDIS_URL);
t.teardown(() => redis.quit());

let clock = Date.now();
const store = createSessionStore(redis, () => clock);
const timeouts = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 };

function realm(): Realm {
  return { kind: 'tenant', tenantId: randomUUID() };
}
function data(r: Realm, personId = randomUUID(), extra: Partial<SessionData> = {}): SessionData {
  return {
    realm: r,
    personId,
    displayName: 'Camille Martin',
    roles: ['student'],
    idpEntityId: 'https://idp.example/idp',
    nameId: `nameid-${personId}`,
    nameIdFormat: undefined,
    sessionIndex: '_idx-1',
    userAgent: 'Firefox',
    ...extra,
  };
}

t.test('create stores the session under its realm and hashed id, with a TTL', async (t) => {
  const r = realm();
  const { id, session } = await store.create(data(r), timeouts);
  t.match(id, /^[A-Za-z0-9_-]{43}$/);
  t.not(session.handle, id, 'the key is not the cookie value');
  const keys = await redis.keys(`portique:tenant:${(r as { tenantId: string }).tenantId}:*`);
  t.ok(keys.some((k) => k.endsWith(`:session:${session.handle}`)), 'key carries the tenant and the hash');
  t.notOk(keys.some((k) => k.includes(id)), 'the cookie value is nowhere in Redis keys');
  t.notOk((await redis.get(keys.find((k) => k.includes(':session:'))!))!.includes(id), 'nor in the value');
  const pttl = await redis.pttl(`portique:tenant:${(r as { tenantId: string }).tenantId}:session:${session.handle}`);
  t.ok(pttl > 29 * 60_000 && pttl <= 30 * 60_000, `TTL follows the idle timeout (${pttl} ms)`);
  t.equal((await store.get(r, id))?.personId, session.personId);
});

t.test('another realm never finds the session', async (t) => {
  const a = realm();
  const { id } = await store.create(data(a), timeouts);
  t.equal(await store.get(realm(), id), undefined, 'another tenant');
  t.equal(await store.get({ kind: 'operator' }, id), undefined, 'the operator realm');
  t.equal(await store.get(a, 'not-a-session-id'), undefined, 'garbage');
});

t.test('idle expiry: activity keeps it alive, silence ends it', async (t) => {
  const r = realm();
  const start = clock;
  const { id } = await store.create(data(r), timeouts);
  clock = start + 20 * 60_000;
  t.ok(await store.get(r, id), 'alive after 20 min');
  clock = start + 45 * 60_000;
  t.ok(await store.get(r, id), 'still alive 25 min after the last activity');
  clock = start + 45 * 60_000 + 30 * 60_000 + 1;
  t.equal(await store.get(r, id), undefined, 'ended after 30 min without activity');
  clock = start;
  t.equal(await store.get(r, id), undefined, 'and deleted: going back in time does not revive it');
});

t.test('absolute expiry: activity does not extend past the absolute timeout', async (t) => {
  const r = realm();
  const start = clock;
  const { id } = await store.create(data(r), timeouts);
  for (let minutes = 20; minutes < 12 * 60; minutes += 20) {
    clock = start + minutes * 60_000;
    t.ok(await store.get(r, id), `alive at ${minutes} min`, { diagnostic: false });
  }
  clock = start + 12 * 3_600_000;
  t.equal(await store.get(r, id), undefined, 'ended at 12 h despite activity');
  clock = start;
});

t.test('near the absolute limit the TTL is capped by it', async (t) => {
  const r = realm();
  const start = clock;
  const { id, session } = await store.create(data(r), { idleMs: 30 * 60_000, absoluteMs: 40 * 60_000 });
  clock = start + 30 * 60_000;
  await store.get(r, id);
  const pttl = await redis.pttl(`portique:tenant:${(r as { tenantId: string }).tenantId}:session:${session.handle}`);
  t.ok(pttl <= 10 * 60_000, `TTL no longer than what is left (${pttl} ms)`);
  clock = start;
});

t.test('list and end the other sessions of one person', async (t) => {
  const r = realm();
  const person = randomUUID();
  const mine = await Promise.all([1, 2, 3].map(() => store.create(data(r, person), timeouts)));
  const stranger = await store.create(data(r), timeouts);
  const list = await store.listForPerson(r, person);
  t.equal(list.length, 3);
  t.equal(await store.endForPerson(r, randomUUID(), mine[1]!.session.handle), false, "cannot end someone else's");
  t.equal(await store.endForPerson(r, person, mine[1]!.session.handle), true);
  t.equal(await store.get(r, mine[1]!.id), undefined);
  t.equal(await store.endOthers(r, person, mine[0]!.session.handle), 1);
  t.ok(await store.get(r, mine[0]!.id), 'the current one is kept');
  t.equal(await store.get(r, mine[2]!.id), undefined);
  t.ok(await store.get(r, stranger.id), "another person's session is untouched");
  t.same((await store.listForPerson(r, person)).map((s) => s.handle), [mine[0]!.session.handle]);
});

t.test('single logout by NameID, optionally by SessionIndex', async (t) => {
  const r = realm();
  const person = randomUUID();
  const one = await store.create(data(r, person, { nameId: 'nid', sessionIndex: '_a' }), timeouts);
  const two = await store.create(data(r, person, { nameId: 'nid', sessionIndex: '_b' }), timeouts);
  const elsewhere = realm();
  const other = await store.create(data(elsewhere, person, { nameId: 'nid', sessionIndex: '_a' }), timeouts);
  t.equal(await store.endByNameId(r, 'nid', '_a'), 1);
  t.equal(await store.get(r, one.id), undefined);
  t.ok(await store.get(r, two.id));
  t.equal(await store.endByNameId(r, 'nid'), 1);
  t.equal(await store.get(r, two.id), undefined);
  t.ok(await store.get(elsewhere, other.id), 'the same NameID in another tenant is untouched');
});

t.test('destroy ends the session', async (t) => {
  const r = realm();
  const { id } = await store.create(data(r), timeouts);
  await store.destroy(r, id);
  t.equal(await store.get(r, id), undefined);
});

t.test('timeouts come from the declaration, 30 min idle and 12 h absolute by default', async (t) => {
  const { timeoutsOf } = await import('../../src/identity/plugin.js');
  t.same(timeoutsOf(undefined), { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 });
  t.same(timeoutsOf({ providers: [{ entityId: 'x' }], session: { idleMinutes: 10, absoluteHours: 2 } }), { idleMs: 10 * 60_000, absoluteMs: 2 * 3_600_000 });
  t.same(timeoutsOf({ providers: [{ entityId: 'x' }], session: { idleMinutes: 45 } }), { idleMs: 45 * 60_000, absoluteMs: 12 * 3_600_000 });
});
