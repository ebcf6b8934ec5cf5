// The tenant admin's documents page and quotas, against real PostgreSQL and S3: usage per person
// and per group space, sorted and paginated; quotas set at each level, never above the tenant
// total (refused, nothing changed); what a person's bar and uploads then see; other tenants' ids.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { newId } from '../../src/platform/ids.js';
import { parseQuota } from '../../src/documents/quotas.js';
import { loginAs, parse, postJson, send, startDocs, upload, type Person } from './helpers.js';

const h = await startDocs();
t.teardown(() => h.close());
const admin = await loginAs(h, 'nord', 'admin@univ-nord.example');
const camille = await loginAs(h, 'nord', 'camille@univ-nord.example');
const dominique = await loginAs(h, 'nord', 'dominique@univ-nord.example');
const sudAdmin = await loginAs(h, 'sud', 'admin@univ-sud.example');
const sudPerson = await loginAs(h, 'sud', 'sacha@univ-sud.example');
for (const [tenant, who] of [[h.nord, admin], [h.sud, sudAdmin]] as const) {
  await h.p.database.app.withTenant(tenant, (trx) => trx.updateTable('people').set({ granted_roles: ['admin'] }).where('id', '=', who.personId).execute());
}

const post = (who: Person, path: string, body: unknown = {}) => postJson(h, who, path, body);
const MiB = 1024 * 1024;
const myLimit = async (who: Person) => parse<{ usage: { used: number; limit: number } }>(await send(h, who, 'GET', '/documents')).usage;
interface Overview {
  tenant: { used: number; total: number };
  defaultPerPerson: number;
  people: { rows: { personId: string; used: number; quota: number; overridden: boolean }[]; total: number; page: number; pages: number };
  groups: { rows: { groupId: string; used: number; quota: number }[]; total: number };
}
const overview = async (query = '') => parse<Overview>(await send(h, admin, 'GET', `/admin/documents${query}`));

t.test('sizes an admin types', async (t) => {
  t.equal(parseQuota('500 Mo'), 500 * MiB);
  t.equal(parseQuota('1,5 Go'), 1.5 * 1024 * MiB);
  t.equal(parseQuota('2 GiB'), 2 * 1024 * MiB);
  t.equal(parseQuota('1 GB'), 1e9, 'decimal units as in the declaration');
  t.equal(parseQuota('1048576'), MiB, 'bare bytes');
  t.equal(parseQuota(''), null, 'empty: back to the default');
  for (const bad of ['abc', '-1 Go', '5 parsecs', '1e3 Mo', '9999999999999999999999']) {
    const status = (() => {
      try {
        parseQuota(bad);
        return 0;
      } catch (error) {
        return (error as { status?: number }).status;
      }
    })();
    t.equal(status, 400, `refused: ${bad}`);
  }
});

t.test('only admins see the page; a person sees their own bar', async (t) => {
  t.equal((await send(h, camille, 'GET', '/admin/documents')).status, 403, 'not an admin: 403');
  t.equal((await post(camille, '/admin/documents/defaut', { quota: '1 Go' })).status, 403, 'not an admin: cannot set quotas');
  t.equal((await post(camille, `/admin/documents/personnes`, { personne: camille.personId, quota: '900 Mo' })).status, 403, 'nor give oneself more');
  const html = await send(h, admin, 'GET', '/admin/documents', { headers: { accept: 'text/html' } });
  t.equal(html.status, 200);
  t.match(html.body.toString(), /Documents : espace et quotas/);
  const mine = await send(h, camille, 'GET', '/documents', { headers: { accept: 'text/html' } });
  t.match(mine.body.toString(), /<meter id="quota-bar" min="0" max="209715200" value="0"/, "Mes documents shows the person's bar against 200 MiB");
  t.notMatch(mine.body.toString(), /href="\/admin\/documents"/, 'no admin link for a person');
  t.match((await send(h, admin, 'GET', '/documents', { headers: { accept: 'text/html' } })).body.toString(), /href="\/admin\/documents"/, 'an admin finds the page from Mes documents');
});

t.test('quotas above the tenant total are refused and change nothing', async (t) => {
  const before = await overview();
  t.equal(before.tenant.total, 1024 * MiB, 'tenant total from the declaration');
  for (const [path, body, what] of [
    ['/admin/documents/defaut', { quota: '2 Go' }, 'default'],
    ['/admin/documents/personnes', { personne: 'camille@univ-nord.example', quota: '1025 Mo' }, 'person'],
  ] as const) {
    const res = await post(admin, path, body);
    t.equal(res.status, 400, `${what} above the total: 400`);
    t.match(parse<{ error: { message: string } }>(res).error.message, /ne peut pas dépasser l'espace total/, 'the message says why');
  }
  const group = newId();
  await h.p.database.app.withTenant(h.nord, (trx) => trx.insertInto('groups').values({ tenant_id: h.nord, id: group, kind: 'workgroup', name: 'Labo' }).execute());
  t.equal((await post(admin, `/admin/documents/groupes/${group}`, { quota: '5 To' })).status, 400, 'group space above the total: 400');
  t.equal((await post(admin, '/admin/documents/defaut', { quota: 'beaucoup' })).status, 400, 'not a size: 400');
  const after = await overview();
  t.equal(after.defaultPerPerson, before.defaultPerPerson, 'default unchanged');
  t.equal((await myLimit(camille)).limit, 200 * MiB, "the person's quota unchanged");
  const rows = await h.p.database.app.withTenant(h.nord, async (trx) => ({
    people: await trx.selectFrom('document_person_quotas').selectAll().execute(),
    groups: await trx.selectFrom('document_group_spaces').selectAll().execute(),
  }));
  t.same(rows, { people: [], groups: [] }, 'nothing written');
  t.equal((await post(admin, '/admin/documents/defaut', { quota: '1 Go' })).status, 200, 'exactly the total is allowed');
  t.equal((await post(admin, '/admin/documents/defaut', { quota: '' })).status, 200, 'and back to the declaration');
});

t.test('default and per-person quotas are what uploads then meet', async (t) => {
  t.equal((await post(admin, '/admin/documents/defaut', { quota: '1 Mo' })).status, 200);
  t.equal((await myLimit(dominique)).limit, MiB, 'the default applies to everyone');
  t.equal((await upload(h, dominique, 'deux.bin', randomBytes(2 * MiB))).status, 413, 'above the new default: 413');
  t.equal((await post(admin, '/admin/documents/personnes', { personne: 'Dominique@univ-nord.example', quota: '3 Mo' })).status, 200, 'an override by address');
  t.equal((await myLimit(dominique)).limit, 3 * MiB);
  t.equal((await myLimit(camille)).limit, MiB, 'others keep the default');
  t.equal((await upload(h, dominique, 'deux.bin', randomBytes(2 * MiB))).status, 200, 'within the override');
  t.equal((await post(admin, '/admin/documents/personnes', { personne: dominique.personId, quota: '' })).status, 200, 'override removed');
  t.equal((await myLimit(dominique)).limit, MiB, 'back to the default (already above it: only new uploads stop)');
  t.equal((await upload(h, dominique, 'un.bin', randomBytes(10))).status, 413);
  t.equal((await post(admin, '/admin/documents/defaut', { quota: '' })).status, 200);
});

t.test('usage per person and per group space, sorted by size and paginated', async (t) => {
  await upload(h, camille, 'petit.bin', randomBytes(1000));
  const o = await overview();
  const total = await h.p.database.app.withTenant(h.nord, (trx) => trx.selectFrom('document_usage').select('used').where('space_id', '=', h.nord).executeTakeFirstOrThrow());
  t.equal(o.tenant.used, Number(total.used), "the tenant's usage");
  const used = o.people.rows.map((r) => r.used);
  t.same(used, [...used].sort((a, b) => b - a), 'largest first');
  t.equal(o.people.rows[0]!.personId, dominique.personId, 'dominique uses the most');
  const asc = await overview('?ordre=asc');
  t.same(asc.people.rows.map((r) => r.used), [...used].sort((a, b) => a - b), 'smallest first on demand');
  t.ok(o.groups.rows.some((g) => g.used === 0), 'group spaces listed, used or not');

  // 60 more people with a space: two pages of 50.
  await h.p.database.app.withTenant(h.nord, async (trx) => {
    for (let i = 0; i < 60; i++) {
      const id = newId();
      await trx.insertInto('people').values({ tenant_id: h.nord, id, external_id: `p${i}@univ-nord.example`, display_name: `Personne ${i}`, mail: `p${i}@univ-nord.example` } as never).execute();
      await trx.insertInto('document_usage').values({ tenant_id: h.nord, space_id: id, used: i, reserved: 0 }).execute();
    }
  });
  const first = await overview();
  t.equal(first.people.rows.length, 50);
  t.equal(first.people.pages, 2);
  const second = await overview('?personnes=2');
  t.equal(second.people.page, 2);
  t.equal(second.people.rows.length, first.people.total - 50, 'the rest on page 2');
  t.notOk(second.people.rows.some((r) => first.people.rows.some((f) => f.personId === r.personId)), 'no one on both pages');
  t.equal((await send(h, admin, 'GET', '/admin/documents?personnes=abc')).status, 400, 'a bad page: 400');
  t.equal((await send(h, admin, 'GET', '/admin/documents?ordre=random')).status, 400, 'a bad order: 400');
});

t.test("other tenants: their people and groups are not found, their usage not shown", async (t) => {
  t.equal((await post(admin, '/admin/documents/personnes', { personne: sudPerson.personId, quota: '1 Mo' })).status, 404, "another tenant's person id: 404");
  t.equal((await post(admin, '/admin/documents/personnes', { personne: 'sacha@univ-sud.example', quota: '1 Mo' })).status, 404, "another tenant's address: 404");
  const sudGroup = newId();
  await h.p.database.app.withTenant(h.sud, (trx) => trx.insertInto('groups').values({ tenant_id: h.sud, id: sudGroup, kind: 'workgroup', name: 'Sud' }).execute());
  t.equal((await post(admin, `/admin/documents/groupes/${sudGroup}`, { quota: '1 Mo' })).status, 404, "another tenant's group: 404");
  t.equal((await post(admin, `/admin/documents/groupes/not-an-id`, { quota: '1 Mo' })).status, 404);
  const sud = parse<Overview>(await send(h, sudAdmin, 'GET', '/admin/documents'));
  t.notOk(sud.people.rows.some((r) => r.personId === camille.personId), "sud's admin does not see nord's people");
  t.equal(sud.tenant.total, 1024 * MiB);
  t.equal((await post(sudAdmin, '/admin/documents/personnes', { personne: camille.personId, quota: '1 Mo' })).status, 404, 'nor set their quotas');
  t.equal((await send(h, { ...admin, host: 'sud.localhost' }, 'GET', '/admin/documents')).status !== 200, true, "nord's session on sud's host is refused");
});
