// The new documents pages in a real browser, without JavaScript help: a group space's owner lets
// members write with the form, a member then uploads with the plain file input; the admin's usage
// page, a folder's public page and a shared folder's page pass axe's WCAG 2.1 A/AA rules.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { newId } from '../../src/platform/ids.js';
import { PHONE, SCREENSHOTS, checkAxe, launchBrowser, noSidewaysScroll } from '../helpers/browser.js';
import { groupWith, json, loginAs, send, startDocs, upload, type Person } from './helpers.js';

const h = await startDocs();
const browser = await launchBrowser();
t.teardown(async () => {
  await browser.close();
  await h.close();
});
const camille = await loginAs(h, 'nord', 'camille@univ-nord.example');
const dominique = await loginAs(h, 'nord', 'dominique@univ-nord.example');
const admin = await loginAs(h, 'nord', 'admin@univ-nord.example');
await h.p.database.app.withTenant(h.nord, (trx) => trx.updateTable('people').set({ granted_roles: ['admin'] }).where('id', '=', admin.personId).execute());
const origin = `http://nord.localhost:${h.port}`;

/** axe runs as a script: pages are checked with scripts on; the no-script path is used with them off. */
async function as(who: Person | null, javaScriptEnabled = true): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: 'fr-FR', javaScriptEnabled });
  t.teardown(() => context.close());
  if (who) {
    const [name, value] = who.cookie.split('=') as [string, string];
    await context.addCookies([{ name, value, domain: 'nord.localhost', path: '/' }]);
  }
  return context;
}

const team = await groupWith(h, h.nord, 'Équipe projet', [[camille, 'owner'], [dominique, 'member']]);

t.test('a group space: the owner opens it to writing, a member uploads with the plain form', async (t) => {
  const owner = await (await as(camille)).newPage();
  await owner.goto(`${origin}/documents/groupes`);
  await checkAxe(t, owner, 'the group spaces list');
  await owner.click('text=Équipe projet');
  t.equal(await owner.textContent('h1'), 'Équipe projet', "the group's space");
  await checkAxe(t, owner, "a group space, its owner's view");
  await owner.check('input[name="acces"][value="write"]');
  await owner.click('form[action$="/acces"] button[type="submit"]');
  t.match(await owner.textContent('.group-space p'), /lire et écrire/, 'members may now write');

  const member = await (await as(dominique, false)).newPage();
  await member.goto(`${origin}/documents/groupes/${team}`);
  const file = join(tmpdir(), `portique-${newId()}.txt`);
  await writeFile(file, 'envoyé depuis le navigateur');
  await member.setInputFiles('#fichiers', file);
  await member.click('form.upload-form button[type="submit"]');
  t.equal(new URL(member.url()).pathname, `/documents/groupes/${team}`, 'back to the space after the upload');
  t.ok(await member.isVisible(`a[download]:has-text("${file.split('/').pop()}")`), 'the file is listed');
  const checked = await (await as(dominique)).newPage();
  await checked.goto(`${origin}/documents/groupes/${team}`);
  await checkAxe(t, checked, "a group space, a member's view");
  await checked.screenshot({ path: `${SCREENSHOTS}/documents-group-space.png`, fullPage: true });
});

t.test("the admin's usage page, a folder's public page, a shared folder", async (t) => {
  const page = await (await as(admin)).newPage();
  const response = await page.goto(`${origin}/admin/documents`);
  t.equal(response?.status(), 200);
  await checkAxe(t, page, "the admin's documents page");
  await page.fill('#defaut-quota', '2 To');
  await page.click('form[action="/admin/documents/defaut"] button[type="submit"]');
  t.match(await page.textContent('main'), /ne peut pas dépasser/, 'a quota above the total is refused with a clear message');

  const folder = JSON.parse((await send(h, camille, 'POST', '/documents/dossiers', json({ nom: 'Public' }))).body.toString()) as { id: string };
  await upload(h, camille, 'lisez-moi.txt', Buffer.from('bonjour'), folder.id);
  const { token } = JSON.parse((await send(h, camille, 'POST', `/documents/elements/${folder.id}/liens`, json({}))).body.toString()) as { token: string };
  const visitor = await (await as(null)).newPage();
  await visitor.goto(`${origin}/p/${token}`);
  t.ok(await visitor.isVisible('text=lisez-moi.txt'), "the folder's content, without login");
  await checkAxe(t, visitor, "a folder's public page");

  await send(h, camille, 'POST', `/documents/elements/${folder.id}/partages`, json({ personne: dominique.personId, acces: 'write' }));
  const shared = await (await as(dominique)).newPage();
  await shared.goto(`${origin}/documents/partages/dossiers/${folder.id}`);
  t.ok(await shared.isVisible('text=Copier dans Mes documents'), 'copy offered');
  await checkAxe(t, shared, 'a folder shared in write mode');
});

t.test('Mes documents: where am I, what is a folder, and a phone', async (t) => {
  const who = await loginAs(h, 'nord', 'mes-documents@univ-nord.example');
  const folder = JSON.parse((await send(h, who, 'POST', '/documents/dossiers', json({ nom: 'Cours de L3' }))).body.toString()) as { id: string };
  await upload(h, who, 'un-nom-de-fichier-très-long-sans-espace-pour-voir-comment-il-passe-à-la-ligne.pdf', Buffer.from('%PDF-1.4'));
  const context = await as(who);
  const page = await context.newPage();
  await page.goto(`${origin}/documents`);
  t.equal(await page.getAttribute('.documents-nav a[href="/documents"]', 'aria-current'), 'page', 'the documents menu marks the page shown');
  t.equal(await page.getAttribute('.site-nav a[href="/documents"]', 'aria-current'), 'page');
  t.equal(await page.locator('.breadcrumb').count(), 0, 'no breadcrumb at the root: it would only repeat the title');
  t.equal(await page.locator('table.documents svg.node-icon').count(), 2, 'a drawn mark before each name (no emoji, which needs a font)');
  t.notMatch(await page.textContent('table.documents'), /📁/);
  await checkAxe(t, page, 'Mes documents, a folder and a file');
  await page.screenshot({ path: `${SCREENSHOTS}/documents-root.png`, fullPage: true });

  await page.goto(`${origin}/documents?dossier=${folder.id}`);
  t.equal(await page.locator('.breadcrumb a').count(), 2, 'in a folder: the way back up');
  t.equal(await page.locator('.documents-nav a[aria-current]').count(), 0, 'a folder is none of the menu pages');
  await page.goto(`${origin}/documents/corbeille`);
  t.equal(await page.getAttribute('.documents-nav a[href="/documents/corbeille"]', 'aria-current'), 'page');
  t.equal(await page.getAttribute('.site-nav a[href="/documents"]', 'aria-current'), 'true', 'the header still says we are in Documents');
  await checkAxe(t, page, 'the trash');

  const phone = await context.newPage();
  await phone.setViewportSize(PHONE);
  await phone.goto(`${origin}/documents`);
  await noSidewaysScroll(t, phone, 'Mes documents');
  t.equal(await phone.locator('table.documents thead').evaluate((el) => el.getBoundingClientRect().height <= 1), true, 'the column headings give way to cards');
  await phone.screenshot({ path: `${SCREENSHOTS}/documents-root-phone.png`, fullPage: true });
});
