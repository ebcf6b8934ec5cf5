// In-app notifications over HTTP: notify -> the bell's count on every page, the list, marking
// one or all read, preferences; and never another person's or another tenant's notification,
// whatever id is tried.
import t from 'tap';
import { notify } from '../../src/notifications/service.js';
import { addPerson, get, loginAs, post, startDirectoryPortique, SUD } from '../directory/helpers.js';

const portique = await startDirectoryPortique();
t.teardown(() => portique.close());
const { app, nord, sud } = portique;
const db = portique.database.app;

const personOf = async (tenantId: string, eppn: string) =>
  (await db.withTenant(tenantId, (trx) => trx.selectFrom('people').select('id').where('external_id', '=', eppn).executeTakeFirstOrThrow())).id;

const alice = await loginAs(app, nord, { eppn: 'alice@univ-nord.example', displayName: 'Alice Nord' });
const bob = await loginAs(app, nord, { eppn: 'bob@univ-nord.example', displayName: 'Bob Nord' });
const sudCookie = await loginAs(app, sud, { eppn: 'sam@univ-sud.example', host: SUD });
const aliceId = await personOf(nord, 'alice@univ-nord.example');
const bobId = await personOf(nord, 'bob@univ-nord.example');
await addPerson(db, nord);

const bellCount = (body: string) => /<span class="bell-count">([^<]+)<\/span>/.exec(body)?.[1];

t.test('anonymous pages have no bell', async (t) => {
  const res = await get(app, '/');
  t.equal(res.statusCode, 200);
  t.notMatch(res.body, /class="bell"/);
});

t.test('notify: the bell counts it on every page, the list shows it, marking read clears it', async (t) => {
  let res = await get(app, '/', alice);
  t.match(res.body, /<a class="bell" href="\/notifications" aria-label="Notifications"/, 'a bell with nothing unread');
  t.equal(bellCount(res.body), undefined);

  const first = await notify({ database: db }, { tenantId: nord, personId: aliceId, category: 'share', title: 'Bob a partagé « Cours.pdf » avec vous', body: 'Dans Mes documents', link: '/documents' });
  const second = await notify({ database: db }, { tenantId: nord, personId: aliceId, category: 'announcement', title: 'Fermeture le 1er mai' });
  for (const path of ['/', '/aide', '/annuaire', '/notifications']) {
    res = await get(app, path, alice);
    t.equal(bellCount(res.body), '2', `bell on ${path}`);
    t.match(res.body, /aria-label="Notifications : 2 non lue\(s\)"/);
  }
  res = await get(app, '/notifications', alice);
  t.match(res.body, /Bob a partagé « Cours.pdf » avec vous/);
  t.match(res.body, /Fermeture le 1er mai/);
  t.match(res.body, new RegExp(`action="/notifications/${first.id}/lu"`));
  t.match(res.body, /name="_csrf"/, 'forms carry the CSRF token');

  res = await post(app, `/notifications/${first.id}/lu`, alice, {});
  t.equal(res.statusCode, 303);
  res = await get(app, '/', alice);
  t.equal(bellCount(res.body), '1');

  res = await post(app, '/notifications/tout-lu', alice, {});
  t.equal(res.statusCode, 303);
  res = await get(app, '/notifications', alice);
  t.equal(bellCount(res.body), undefined, 'nothing unread');
  t.notMatch(res.body, new RegExp(`/notifications/${second.id}/lu`), 'no mark-read form left');
});

t.test('a POST without the CSRF token is refused', async (t) => {
  const { id } = await notify({ database: db }, { tenantId: nord, personId: aliceId, category: 'share', title: 'CSRF' });
  const res = await app.inject({ method: 'POST', url: `/notifications/${id}/lu`, headers: { host: 'nord.localhost', cookie: alice } });
  t.equal(res.statusCode, 403);
});

t.test("another person's or tenant's notification: never listed, never marked (attacked with ids)", async (t) => {
  const { id } = await notify({ database: db }, { tenantId: nord, personId: aliceId, category: 'share', title: 'Pour Alice seulement' });
  let res = await get(app, '/notifications', bob);
  t.notMatch(res.body, /Pour Alice seulement/);
  res = await post(app, `/notifications/${id}/lu`, bob, {});
  t.equal(res.statusCode, 404, "Bob cannot mark Alice's");
  res = await post(app, `/notifications/${id}/lu`, sudCookie, {}, SUD);
  t.equal(res.statusCode, 404, 'nor can a person of another tenant, on their host');
  res = await get(app, `/notifications?avant=ffffffff-ffff-7fff-bfff-ffffffffffff`, bob);
  t.notMatch(res.body, /Pour Alice seulement/, 'paging does not reach it either');
  res = await get(app, '/notifications', alice);
  t.match(res.body, new RegExp(`/notifications/${id}/lu`), 'still unread for Alice');
  await t.rejects(
    notify({ database: db }, { tenantId: sud, personId: aliceId, category: 'share', title: 'cross-tenant' }),
    /foreign key|violates/,
    "a notification cannot point at another tenant's person",
  );
  t.equal(bobId.length, 36);
});

t.test('preferences: per category, saved, bad values refused', async (t) => {
  let res = await get(app, '/notifications/preferences', alice);
  t.equal(res.statusCode, 200);
  t.match(res.body, /name="share" value="immediate" checked/);
  t.match(res.body, /name="announcement" value="digest" checked/);
  res = await post(app, '/notifications/preferences', alice, { share: 'in-app', announcement: 'immediate' });
  t.equal(res.statusCode, 303);
  res = await get(app, '/notifications/preferences', alice);
  t.match(res.body, /name="share" value="in-app" checked/);
  t.match(res.body, /name="announcement" value="immediate" checked/);
  res = await post(app, '/notifications/preferences', alice, { share: 'carrier-pigeon' });
  t.equal(res.statusCode, 400);
  res = await get(app, '/notifications/preferences');
  t.equal(res.statusCode, 303, 'logged out: to the login');
});

t.test('bad input to notify is refused', async (t) => {
  await t.rejects(notify({ database: db }, { tenantId: nord, personId: aliceId, category: 'nope' as never, title: 'x' }), /unknown notification category/);
  await t.rejects(notify({ database: db }, { tenantId: nord, personId: aliceId, category: 'share', title: 'x', link: 'https://evil.example/' }), /path on the tenant host/);
  await t.rejects(notify({ database: db }, { tenantId: nord, personId: aliceId, category: 'share', title: 'x', link: '//evil.example/' }), /path on the tenant host/);
});
