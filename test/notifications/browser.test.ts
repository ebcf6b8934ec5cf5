// The notifications pages in a real browser: an unread notification is told apart by a word and
// by weight, not by colour alone; marking one or all read with the plain forms; older ones a page
// further; the preferences saved with the radio buttons; axe's WCAG 2.1 A/AA rules pass and a
// 360px phone never scrolls sideways. Screenshots in test-output/screenshots/notifications-*.png.
import t from 'tap';
import type { Page } from 'playwright-core';
import { notify } from '../../src/notifications/service.js';
import { PHONE, SCREENSHOTS, checkAxe, noSidewaysScroll, pageWithCookie, serveForBrowser } from '../helpers/browser.js';
import { loginAs, startDirectoryPortique } from '../directory/helpers.js';

const portique = await startDirectoryPortique();
const { browser, port } = await serveForBrowser(t, portique);
const { app, nord } = portique;
const db = portique.database.app;
const origin = `http://nord.localhost:${port}`;

const personOf = async (eppn: string) => (await db.withTenant(nord, (trx) => trx.selectFrom('people').select('id').where('external_id', '=', eppn).executeTakeFirstOrThrow())).id;

const as = (cookie: string, viewport?: { width: number; height: number }) => pageWithCookie(t, browser, cookie, viewport ? { viewport } : {});

const weight = (page: Page, selector: string) => page.locator(selector).evaluate((el) => Number(getComputedStyle(el).fontWeight));

const alice = await loginAs(app, nord, { eppn: 'alice@univ-nord.example', displayName: 'Alice Nord' });
const aliceId = await personOf('alice@univ-nord.example');
const send = (title: string, more: { category?: 'share' | 'group' | 'announcement'; body?: string; link?: string } = {}) =>
  notify({ database: db }, { tenantId: nord, personId: aliceId, category: more.category ?? 'announcement', title, ...(more.body ? { body: more.body } : {}), ...(more.link ? { link: more.link } : {}) });

t.test('the list: unread by a word and weight; mark one, then all, read', async (t) => {
  const page = await as(alice);
  await page.goto(`${origin}/notifications`);
  t.match(await page.textContent('main'), "Vous n'avez aucune notification.");
  await checkAxe(t, page, 'no notification yet');

  const old = await send('Fermeture de la bibliothèque le 1er mai', { body: 'La bibliothèque universitaire sera fermée toute la journée.' });
  const group = await send('Invitation au groupe « Projet tutoré de L3 informatique »', { category: 'group', link: '/groupes' });
  const share = await send('Bob a partagé « Cours-de-mathématiques-discrètes-chapitre-3-version-finale-corrigée.pdf » avec vous', {
    category: 'share',
    body: 'Le document est dans Mes documents, rubrique « Partagés avec moi ».',
    link: '/documents/partages',
  });
  await page.goto(`${origin}/notifications`);
  await page.click(`#n-${old.id} button[type="submit"]`);
  t.equal(new URL(page.url()).pathname, '/notifications', 'back to the list');

  t.equal(await page.locator('li.notification').count(), 3);
  t.equal(await page.locator('li.notification.unread').count(), 2, 'two unread');
  t.equal(await page.textContent(`#n-${share.id} .badge`), 'Non lue', 'an unread one says so in words');
  t.equal(await page.locator(`#n-${old.id} .badge`).count(), 0, 'a read one has no such word');
  t.ok((await weight(page, `#n-${share.id} .notification-title span`)) >= 700, 'an unread title is bold');
  t.ok((await weight(page, `#n-${old.id} .notification-title span`)) <= 400, 'a read one is not');
  t.equal(await page.getAttribute(`#n-${group.id} .notification-meta a`, 'href'), '/groupes', 'its link');
  t.equal(
    await page.locator(`#n-${group.id} .notification-meta a`).evaluate((a) => getComputedStyle(a).textDecorationLine),
    'underline',
    'a link in a line of text stays underlined',
  );
  await checkAxe(t, page, 'the notifications, read and unread');
  await page.screenshot({ path: `${SCREENSHOTS}/notifications.png`, fullPage: true });

  const phone = await as(alice, PHONE);
  await phone.goto(`${origin}/notifications`);
  await noSidewaysScroll(t, phone, 'the notifications (a long file name)');
  await checkAxe(t, phone, 'the notifications on a phone');
  await phone.screenshot({ path: `${SCREENSHOTS}/notifications-phone.png`, fullPage: true });

  await page.click('form[action="/notifications/tout-lu"] button[type="submit"]');
  t.equal(await page.locator('li.notification.unread').count(), 0, 'all read');
  t.equal(await page.locator('form[action="/notifications/tout-lu"]').count(), 0, 'nothing left to mark');
  t.notMatch(await page.textContent('ul.notifications'), 'Non lue');
});

t.test('older notifications a page further', async (t) => {
  const many = await loginAs(app, nord, { eppn: 'many@univ-nord.example', displayName: 'Many Notes' });
  const manyId = await personOf('many@univ-nord.example');
  for (let i = 1; i <= 32; i++) await notify({ database: db }, { tenantId: nord, personId: manyId, category: 'announcement', title: `Annonce n° ${i}` });
  const page = await as(many, PHONE);
  await page.goto(`${origin}/notifications`);
  t.equal(await page.locator('li.notification').count(), 30, 'thirty a page');
  await page.click('.pager a');
  t.equal(await page.locator('li.notification').count(), 2, 'then the two oldest');
  await noSidewaysScroll(t, page, 'older notifications');
  await checkAxe(t, page, 'older notifications');
});

t.test('preferences: one choice a category, saved with the form', async (t) => {
  const page = await as(alice);
  await page.goto(`${origin}/notifications/preferences`);
  t.equal(await page.locator('fieldset').count(), 5, 'one group of choices a category');
  t.ok(await page.isChecked('input[name="share"][value="immediate"]'), 'the default');
  await page.click('label.choice:has(input[name="share"][value="digest"])');
  await page.click('form.preferences button[type="submit"]');
  t.equal(new URL(page.url()).searchParams.get('enregistre'), '1');
  t.equal(await page.locator('[role="status"]').textContent(), 'Vos préférences sont enregistrées.');
  t.ok(await page.isChecked('input[name="share"][value="digest"]'), 'saved');
  t.ok((await weight(page, 'label.choice:has(input[name="share"][value="digest"])')) >= 600, 'the chosen one stands out in bold, not by colour alone');
  await checkAxe(t, page, 'notification preferences');
  await page.screenshot({ path: `${SCREENSHOTS}/notifications-preferences.png`, fullPage: true });

  const phone = await as(alice, PHONE);
  await phone.goto(`${origin}/notifications/preferences`);
  await noSidewaysScroll(t, phone, 'notification preferences');
  await phone.screenshot({ path: `${SCREENSHOTS}/notifications-preferences-phone.png`, fullPage: true });
});
