// White pages: accent-free, typo-tolerant, prefix search; red list; visibility rules from the
// declaration; vCard; and never a person of another tenant, whatever id or host is tried.
import t from 'tap';
import { addPerson, get, loginAs, NORD, post, startDirectoryPortique, SUD } from './helpers.js';

const portique = await startDirectoryPortique();
t.teardown(() => portique.close());
const { app, nord, sud } = portique;
const db = portique.database.app;

const helene = await addPerson(db, nord, { givenName: 'Hélène', familyName: 'Dupont-Lefèvre', mail: 'helene.dupont@univ-nord.example', affiliations: ['staff'], affectation: 'Département de Mathématiques', title: 'Maîtresse de conférences', officePhone: '+33 3 20 00 00 01' });
const etudiant = await addPerson(db, nord, { givenName: 'Léo', familyName: 'Martinez', mail: 'leo.martinez@etu.univ-nord.example', affiliations: ['student'], affectation: 'Licence 3 Informatique' });
const rouge = await addPerson(db, nord, { givenName: 'Rémi', familyName: 'Secret', mail: 'remi.secret@univ-nord.example', affiliations: ['staff'], redList: true });
const parti = await addPerson(db, nord, { givenName: 'Ancien', familyName: 'Parti', affiliations: ['staff'], status: 'deactivated' });
for (let i = 0; i < 45; i++) await addPerson(db, nord, { givenName: `Prénom${i}`, familyName: `Martin${String(i).padStart(2, '0')}`, affiliations: ['student'] });
const sudHelene = await addPerson(db, sud, { givenName: 'Hélène', familyName: 'Dupont', mail: 'helene.dupont@univ-sud.example', affiliations: ['staff'] });

const student = await loginAs(app, nord, { eppn: 'camille.student@univ-nord.example', affiliations: ['student'] });
const staff = await loginAs(app, nord, { eppn: 'sam.staff@univ-nord.example', affiliations: ['staff'] });
const admin = await loginAs(app, nord, { eppn: 'ada.admin@univ-nord.example', affiliations: ['staff'], admin: true });

const names = (body: string) => [...body.matchAll(/<a href="\/(?:admin\/annuaire\/personnes|annuaire)\/[0-9a-f-]{36}">([^<]+)<\/a>/g)].map((m) => m[1]);

t.test('not logged in: the white pages ask for a login', async (t) => {
  const res = await get(app, '/annuaire?q=helene');
  t.equal(res.statusCode, 303);
  t.match(res.headers.location, /^\/connexion/);
});

t.test('accent-insensitive: "Helene" finds "Hélène", "lefevre" finds "Lefèvre"', async (t) => {
  for (const q of ['Helene', 'hélène', 'HELENE', 'lefevre', 'dupont lefevre', 'helene.dupont@univ', 'mathematiques']) {
    const res = await get(app, `/annuaire?q=${encodeURIComponent(q)}`, staff);
    t.equal(res.statusCode, 200);
    t.same(names(res.body), ['Hélène Dupont-Lefèvre'], q);
  }
});

t.test('typo-tolerant: one wrong or missing letter still finds the person', async (t) => {
  for (const q of ['Dupond', 'Hélèn Dupon', 'Martinex']) {
    const res = await get(app, `/annuaire?q=${encodeURIComponent(q)}`, staff);
    t.ok(names(res.body).length > 0, `${q} finds someone`);
  }
  const res = await get(app, `/annuaire?q=${encodeURIComponent('Dupond')}`, staff);
  t.equal(names(res.body)[0], 'Hélène Dupont-Lefèvre');
  const leo = await get(app, `/annuaire?q=${encodeURIComponent('Martinex')}`, staff);
  t.ok(names(leo.body).includes('Léo Martinez'));
});

t.test('prefix as you type, and pages of 20', async (t) => {
  const d = await get(app, '/annuaire?q=d', staff);
  t.ok(names(d.body).includes('Hélène Dupont-Lefèvre'), 'one letter: family names starting with it');
  t.notOk(names(d.body).includes('Léo Martinez'));
  const du = await get(app, '/annuaire?q=du', staff);
  t.same(names(du.body), ['Hélène Dupont-Lefèvre']);
  const page1 = await get(app, '/annuaire?q=mart', staff);
  t.equal(names(page1.body).length, 20);
  t.match(page1.body, 'page=2');
  const page3 = await get(app, '/annuaire?q=mart&page=3', staff);
  t.ok(names(page3.body).length >= 6 && names(page3.body).length < 20, 'last page');
  t.notMatch(page3.body, 'page=4');
  t.equal((await get(app, '/annuaire?q=mart&page=0', staff)).statusCode, 400, 'a page out of range is refused');
});

t.test('red list and deactivated people: invisible to everyone but admins', async (t) => {
  t.same(names((await get(app, '/annuaire?q=secret', staff)).body), []);
  t.same(names((await get(app, '/annuaire?q=parti', staff)).body), []);
  t.equal((await get(app, `/annuaire/${rouge}`, staff)).statusCode, 404);
  t.equal((await get(app, `/annuaire/${rouge}/vcard`, student)).statusCode, 404);
  t.equal((await get(app, `/annuaire/${parti}`, staff)).statusCode, 404);
  const adminView = await get(app, '/admin/annuaire?q=secret', admin);
  t.same(names(adminView.body), ['Rémi Secret'], 'admins find them in the admin pages');
  t.match(adminView.body, 'Liste rouge');
  t.equal((await get(app, `/annuaire/${rouge}`, admin)).statusCode, 200, 'and can open the card');
});

t.test('visibility rules of the declaration: students see only the affectation of other students', async (t) => {
  const seenByStudent = await get(app, `/annuaire/${etudiant}`, student);
  t.equal(seenByStudent.statusCode, 200);
  t.match(seenByStudent.body, 'Licence 3 Informatique');
  t.notMatch(seenByStudent.body, 'leo.martinez@', 'no mail of another student');
  const seenByStaff = await get(app, `/annuaire/${etudiant}`, staff);
  t.match(seenByStaff.body, 'leo.martinez@etu.univ-nord.example');
  const staffSeenByStudent = await get(app, `/annuaire/${helene}`, student);
  t.match(staffSeenByStudent.body, 'helene.dupont@univ-nord.example', 'staff cards are fully visible');
  t.match(staffSeenByStudent.body, '+33 3 20 00 00 01');
});

t.test('a card and its vCard', async (t) => {
  const card = await get(app, `/annuaire/${helene}`, staff);
  t.match(card.body, 'Maîtresse de conférences');
  t.match(card.body, 'Département de Mathématiques');
  const vcard = await get(app, `/annuaire/${helene}/vcard`, staff);
  t.equal(vcard.statusCode, 200);
  t.match(vcard.headers['content-type'], 'text/vcard');
  t.match(vcard.headers['content-disposition'], 'attachment; filename="Helene-Dupont-Lefevre.vcf"');
  t.match(vcard.body, 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Hélène Dupont-Lefèvre\r\n');
  t.match(vcard.body, 'EMAIL;TYPE=work:helene.dupont@univ-nord.example');
  const leo = await get(app, `/annuaire/${etudiant}/vcard`, student);
  t.notMatch(leo.body, 'EMAIL', 'the vCard follows the same visibility rules');
});

t.test('own profile: preferred mail and phone visibility', async (t) => {
  const me = await loginAs(app, nord, { eppn: 'pat.phone@univ-nord.example', displayName: 'Pat Phone', affiliations: ['staff'] });
  const id = (await db.withTenant(nord, (trx) => trx.selectFrom('people').select('id').where('external_id', '=', 'pat.phone@univ-nord.example').executeTakeFirstOrThrow())).id;
  await db.withTenant(nord, (trx) => trx.updateTable('people').set({ office_phone: '+33 3 20 99 99 99' }).where('id', '=', id).execute());
  t.match((await get(app, `/annuaire/${id}`, staff)).body, '+33 3 20 99 99 99');
  const saved = await post(app, '/annuaire/mon-profil', me, { preferredMail: 'pat@labo.example', phoneVisible: '0' });
  t.equal(saved.statusCode, 303);
  const card = await get(app, `/annuaire/${id}`, staff);
  t.notMatch(card.body, '+33 3 20 99 99 99', 'phone hidden');
  t.match(card.body, 'pat@labo.example', 'preferred mail shown');
  const bad = await post(app, '/annuaire/mon-profil', me, { preferredMail: 'not a mail' });
  t.equal(bad.statusCode, 400);
});

t.test('never a person of another tenant', async (t) => {
  const fromNord = await get(app, '/annuaire?q=helene', staff);
  t.notMatch(fromNord.body, 'univ-sud');
  t.equal((await get(app, `/annuaire/${sudHelene}`, staff)).statusCode, 404, "sud's id on nord's host");
  t.equal((await get(app, `/annuaire/${sudHelene}/vcard`, admin)).statusCode, 404, 'not even for an admin');
  t.equal((await get(app, `/admin/annuaire/personnes/${sudHelene}`, admin)).statusCode, 404);
  const onSud = await get(app, `/annuaire/${helene}`, staff, SUD);
  t.equal(onSud.statusCode, 303, "nord's session is no session on sud's host");
  const sudPerson = await loginAs(app, sud, { eppn: 'sacha@univ-sud.example', host: SUD, affiliations: ['staff'] });
  t.equal((await get(app, `/annuaire/${helene}`, sudPerson, SUD)).statusCode, 404, "nord's id on sud's host");
  const sudSearch = await get(app, '/annuaire?q=helene', sudPerson, SUD);
  t.notMatch(sudSearch.body, 'univ-nord');
  t.equal(names(sudSearch.body).length, 1);
  t.equal((await get(app, '/annuaire?q=helene', sudPerson, NORD)).statusCode, 303, "sud's session on nord's host");
  t.equal((await get(app, `/annuaire/not-a-uuid`, staff)).statusCode, 404);
});

t.test('own photo: uploaded, shown within the visibility rules, checked by its bytes', async (t) => {
  const me = await loginAs(app, nord, { eppn: 'photo.student@univ-nord.example', displayName: 'Photo Student', affiliations: ['student'] });
  const id = (await db.withTenant(nord, (trx) => trx.selectFrom('people').select('id').where('external_id', '=', 'photo.student@univ-nord.example').executeTakeFirstOrThrow())).id;
  const token = /<meta name="csrf-token" content="([^"]+)"/.exec((await get(app, '/annuaire', me)).body)![1]!;
  const upload = (bytes: Buffer) => {
    const boundary = '----photo';
    const payload = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="moi.png"\r\nContent-Type: image/png\r\n\r\n`), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
    return app.inject({ method: 'POST', url: `/annuaire/mon-profil/photo?_csrf=${encodeURIComponent(token)}`, headers: { host: NORD, cookie: me, 'content-type': `multipart/form-data; boundary=${boundary}` }, payload });
  };
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);
  t.equal((await upload(Buffer.from('<script>alert(1)</script>'))).statusCode, 400, 'not an image');
  t.equal((await upload(png)).statusCode, 303);
  const seenByStaff = await get(app, `/annuaire/${id}`, staff);
  t.match(seenByStaff.body, `/annuaire/${id}/photo`);
  const photo = await get(app, `/annuaire/${id}/photo`, staff);
  t.equal(photo.statusCode, 200);
  t.equal(photo.headers['content-type'], 'image/png');
  t.same(photo.rawPayload, png);
  t.equal((await get(app, `/annuaire/${id}/photo`, student)).statusCode, 404, 'students do not see the photos of other students here');
  t.equal((await get(app, `/annuaire/${id}/photo`, staff, SUD)).statusCode, 303, 'not on another host');
});
