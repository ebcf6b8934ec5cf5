// The white pages and the groups pages in a real browser: a search's results show who each
// person is (photo or initials, function, affectation, mail), a person's card and one's own
// profile (the photo sent with the plain form), my groups with an invitation, a group's page;
// axe's WCAG 2.1 A/AA rules pass, and a 360px phone never scrolls sideways.
// Screenshots in test-output/screenshots/directory-*.png and groups-*.png.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { newId } from '../../src/platform/ids.js';
import { PHONE, SCREENSHOTS, checkAxe, noSidewaysScroll, pageWithCookie, serveForBrowser } from '../helpers/browser.js';
import { addPerson, loginAs, startDirectoryPortique } from './helpers.js';

const portique = await startDirectoryPortique();
const { browser, port } = await serveForBrowser(t, portique);
const { app, nord } = portique;
const db = portique.database.app;
const origin = `http://nord.localhost:${port}`;

const helene = await addPerson(db, nord, {
  givenName: 'Hélène',
  familyName: 'Dupont-Lefèvre',
  mail: 'helene.dupont-lefevre.departement-des-mathematiques@univ-nord.example',
  affiliations: ['staff'],
  affectation: 'Département de Mathématiques, Laboratoire Paul Painlevé',
  title: 'Maîtresse de conférences',
  officePhone: '+33 3 20 00 00 01',
});
await addPerson(db, nord, { givenName: 'Henri', familyName: 'Dupuis', mail: 'henri.dupuis@univ-nord.example', affiliations: ['staff'], affectation: 'Bibliothèque universitaire' });
await addPerson(db, nord, { givenName: 'Duc', familyName: 'Nguyen', mail: null, affiliations: ['student'] });

const staff = await loginAs(app, nord, { eppn: 'sam.staff@univ-nord.example', displayName: 'Sam Staff', affiliations: ['staff'] });
const bob = await loginAs(app, nord, { eppn: 'bob@univ-nord.example', displayName: 'Bob Member', affiliations: ['student'] });
const admin = await loginAs(app, nord, { eppn: 'ada.admin@univ-nord.example', displayName: 'Ada Admin', affiliations: ['staff'], admin: true });

const as = (cookie: string, viewport?: { width: number; height: number }) => pageWithCookie(t, browser, cookie, viewport ? { viewport } : {});

/** A real 96×96 PNG, one colour, for the profile photo. */
function png(rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const size = 96;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(size * 3).map((_, i) => rgb[i % 3]!)]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

t.test('my profile: the photo sent with the plain form, then the card shows it', async (t) => {
  const page = await as(staff);
  await page.goto(`${origin}/annuaire/mon-profil`);
  await checkAxe(t, page, 'my directory profile, no photo yet');
  const file = join(tmpdir(), `portique-${newId()}.png`);
  await writeFile(file, png([43, 110, 160]));
  await page.setInputFiles('#photo', file);
  await page.click('form[action^="/annuaire/mon-profil/photo"] button[type="submit"]');
  t.equal(new URL(page.url()).pathname, '/annuaire/mon-profil', 'back to the profile');
  t.equal(await page.locator('.profile-card img.person-photo').count(), 1, 'my card shows the photo');
  t.equal(await page.locator('[role="status"]').count(), 1, 'saved, and said so');
  await checkAxe(t, page, 'my directory profile');
  await page.screenshot({ path: `${SCREENSHOTS}/directory-profile.png`, fullPage: true });
  t.equal(await page.locator('form[action="/annuaire/mon-profil/photo/supprimer"]').count(), 1, 'a photo can be taken back');

  const phone = await as(staff, PHONE);
  await phone.goto(`${origin}/annuaire/mon-profil`);
  await noSidewaysScroll(t, phone, 'my profile');
  await phone.screenshot({ path: `${SCREENSHOTS}/directory-profile-phone.png`, fullPage: true });

});

t.test('search: each result row says who the person is; a card; a phone', async (t) => {
  const page = await as(staff);
  await page.goto(`${origin}/annuaire`);
  await checkAxe(t, page, 'the white pages, before a search');
  await page.fill('#q', 'du');
  await page.click('form.search-form button[type="submit"]');
  t.equal(new URL(page.url()).searchParams.get('q'), 'du', 'the plain GET form');
  const rows = page.locator('ul.people > li');
  t.equal(await rows.count(), 2, 'Hélène and Henri');
  const row = rows.filter({ hasText: 'Hélène Dupont-Lefèvre' });
  t.match(await row.textContent(), 'Département de Mathématiques', "the row shows the person's affectation");
  t.match(await row.textContent(), 'Maîtresse de conférences', "and the person's function");
  t.equal(await row.locator('a[href^="mailto:"]').count(), 1, 'and a link to write to them');
  t.equal(await row.locator(`a[href="/annuaire/${helene}"]`).textContent(), 'Hélène Dupont-Lefèvre', 'the name leads to the card');
  const initials = rows.filter({ hasText: 'Henri Dupuis' }).locator('.person-avatar');
  t.equal(await initials.textContent(), 'HD', 'no photo: the initials');
  t.equal(await initials.getAttribute('aria-hidden'), 'true', 'which a screen reader skips (the name follows)');
  await checkAxe(t, page, 'the white pages, results');
  await page.screenshot({ path: `${SCREENSHOTS}/directory-search.png`, fullPage: true });

  await page.fill('#q', 'sam staff');
  await page.click('form.search-form button[type="submit"]');
  t.equal(await page.locator('ul.people > li img.person-photo[alt=""]').count(), 1, 'a photo, when there is one, is decorative beside the name');

  await page.fill('#q', 'du');
  await page.click('form.search-form button[type="submit"]');
  await page.click(`a[href="/annuaire/${helene}"]`);
  t.equal(await page.textContent('.person-card h1'), 'Hélène Dupont-Lefèvre');
  t.equal(await page.locator('.person-card dl.person-fields dt').count(), 4, 'four fields');
  await checkAxe(t, page, "a person's card");
  await page.screenshot({ path: `${SCREENSHOTS}/directory-card.png`, fullPage: true });

  const phone = await as(staff, PHONE);
  await phone.goto(`${origin}/annuaire?q=du`);
  await noSidewaysScroll(t, phone, 'search results (a long address and affectation)');
  await phone.screenshot({ path: `${SCREENSHOTS}/directory-search-phone.png`, fullPage: true });
  await phone.goto(`${origin}/annuaire/${helene}`);
  await noSidewaysScroll(t, phone, "a person's card");
  await phone.screenshot({ path: `${SCREENSHOTS}/directory-card-phone.png`, fullPage: true });
  await phone.goto(`${origin}/annuaire?q=zzzzzz`);
  t.match(await phone.textContent('main'), 'Aucune personne ne correspond');
  await checkAxe(t, phone, 'no result, on a phone');
});

t.test('the admin search: red list and deactivated marked by words', async (t) => {
  await addPerson(db, nord, { givenName: 'Rémi', familyName: 'Secret', affiliations: ['staff'], affectation: 'Présidence', redList: true });
  const page = await as(admin);
  await page.goto(`${origin}/admin/annuaire?q=secret`);
  t.match(await page.textContent('ul.people > li .badge'), 'Liste rouge');
  await checkAxe(t, page, 'the admin search');
  await page.screenshot({ path: `${SCREENSHOTS}/directory-admin-search.png`, fullPage: true });
  // The photo sent in the profile test above: an admin's search shows it, as the photo route serves admins.
  await page.goto(`${origin}/admin/annuaire?q=sam`);
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('ul.people img.person-photo');
    return !!img && img.complete && img.naturalWidth > 0;
  });
  t.equal(await page.locator('ul.people img.person-photo').evaluate((img: HTMLImageElement) => img.naturalWidth), 96, "an admin's search shows people's photos (the 96-pixel PNG)");
});

t.test('groups: create one with the form, invite, the invitation, the group page', async (t) => {
  const page = await as(staff);
  await page.goto(`${origin}/groupes`);
  t.match(await page.textContent('main'), 'Vous n’êtes membre d’aucun groupe.');
  await checkAxe(t, page, 'my groups, none yet');
  await page.fill('#name', 'Projet tutoré de L3 informatique');
  await page.fill('#description', 'Le groupe du projet : documents, réunions et échanges.');
  await page.click('form[action="/groupes"] button[type="submit"]');
  t.match(new URL(page.url()).pathname, /^\/groupes\/[0-9a-f-]{36}$/, "on the new group's page");
  await page.fill('#target', 'bob@univ-nord.example');
  await page.click('form[action$="/inviter"] button[type="submit"]');
  t.equal(await page.locator('ul.people > li').count(), 1, 'the owner alone until Bob accepts');
  await checkAxe(t, page, "a group's page, its owner's view");
  const group = new URL(page.url()).pathname;

  const invited = await as(bob);
  await invited.goto(`${origin}/groupes`);
  t.equal(await invited.locator('.invitations li').count(), 1, 'Bob sees the invitation');
  await checkAxe(t, invited, 'my groups with an invitation');
  await invited.screenshot({ path: `${SCREENSHOTS}/groups-invitation.png`, fullPage: true });
  await invited.click('form[action$="/invitation/accepter"] button[type="submit"]');
  await invited.goto(`${origin}/groupes`);
  const card = invited.locator('ul.groups > li');
  t.equal(await card.count(), 1);
  t.match(await card.textContent(), 'groupe de travail', 'the kind of group, in words');

  await page.goto(`${origin}${group}`);
  t.equal(await page.locator('ul.people > li').count(), 2, 'two members now');
  t.match(await page.locator('ul.people > li').first().textContent(), 'propriétaire', 'the owner is marked by a word');
  await checkAxe(t, page, "a group's page with members");
  await page.screenshot({ path: `${SCREENSHOTS}/groups-page.png`, fullPage: true });
  await page.goto(`${origin}/groupes`);
  await page.screenshot({ path: `${SCREENSHOTS}/groups-mine.png`, fullPage: true });

  const phone = await as(staff, PHONE);
  for (const [path, slug] of [['/groupes', 'groups-mine'], [group, 'groups-page']] as const) {
    await phone.goto(`${origin}${path}`);
    await noSidewaysScroll(t, phone, path);
    await checkAxe(t, phone, `${path} on a phone`);
    await phone.screenshot({ path: `${SCREENSHOTS}/${slug}-phone.png`, fullPage: true });
  }
  const admins = await as(admin);
  await admins.goto(`${origin}/admin/groupes`);
  t.equal(await admins.getAttribute('.subnav a[href="/admin/groupes"]', 'aria-current'), 'page', "the administration's menu marks the page shown");
  await checkAxe(t, admins, "the admin's groups page");
  await admins.screenshot({ path: `${SCREENSHOTS}/groups-admin.png`, fullPage: true });
});

// Last: the searches above show this person's photo.
t.test('my profile: the photo can be taken back, and the initials return', async (t) => {
  const page = await as(staff);
  await page.goto(`${origin}/annuaire/mon-profil`);
  t.equal(await page.locator('.profile-card img.person-photo').count(), 1, 'the photo sent above');
  await page.click('form[action="/annuaire/mon-profil/photo/supprimer"] button[type="submit"]');
  t.equal(new URL(page.url()).pathname, '/annuaire/mon-profil', 'back to the profile');
  t.equal(await page.locator('.profile-card img.person-photo').count(), 0, 'the photo is gone from my card');
  t.equal(await page.locator('form[action="/annuaire/mon-profil/photo/supprimer"]').count(), 0, 'nothing left to remove');
  t.equal(await page.locator('.profile-card span.person-avatar').count(), 1, 'my initials instead');
  await checkAxe(t, page, 'my directory profile, photo removed');
});

t.test("the directory administration's menu says where one is", async (t) => {
  const page = await as(admin);
  await page.goto(`${origin}/admin/annuaire/imports`);
  t.same(await page.locator('.subnav a').allTextContents(), ['Personnes', 'Imports', 'Groupes'], 'a list of three entries, no text separators');
  t.equal(await page.getAttribute('.subnav a[href="/admin/annuaire/imports"]', 'aria-current'), 'page');
  t.equal(await page.getAttribute('.subnav a[href="/admin/annuaire"]', 'aria-current'), null, 'People is not marked on the imports page');
  t.match(await page.textContent('main'), /Aucun import pour l’instant/, 'no history yet: said in words, not an empty table');
  await checkAxe(t, page, 'the imports page');
  await page.screenshot({ path: `${SCREENSHOTS}/directory-admin-imports.png`, fullPage: true });
});
