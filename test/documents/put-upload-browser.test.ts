// The upload form with its script (src/web/static/documents.js), in a real browser: each chosen
// file goes as its own PUT …/fichiers with the CSRF header, into the folder shown, and the page
// reloads with the files listed, byte for byte.
import t from 'tap';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser } from '../helpers/browser.js';
import { loginAs, send, sha256, startDocs } from './helpers.js';

const h = await startDocs();
const browser = await launchBrowser();
t.teardown(async () => {
  await browser.close();
  await h.close();
});
const camille = await loginAs(h, 'nord', 'camille@univ-nord.example');
const origin = `http://nord.localhost:${h.port}`;

t.test('the script sends each file with its own PUT, into the folder shown', async (t) => {
  const folder = JSON.parse((await send(h, camille, 'POST', '/documents/dossiers', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nom: 'Cours' }) })).body.toString()) as { id: string };
  const context = await browser.newContext({ locale: 'fr-FR' });
  t.teardown(() => context.close());
  const [name, value] = camille.cookie.split('=') as [string, string];
  await context.addCookies([{ name, value, domain: 'nord.localhost', path: '/' }]);
  const page = await context.newPage();
  const requests: { method: string; url: string; csrf: boolean }[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/documents/fichiers') || r.url().includes('/envoi')) requests.push({ method: r.method(), url: r.url(), csrf: Boolean(r.headers()['x-csrf-token']) });
  });
  await page.goto(`${origin}/documents?dossier=${folder.id}`);
  const dir = await mkdtemp(join(tmpdir(), 'portique-put-'));
  const contents = { 'première.bin': randomBytes(300 * 1024), 'vide.txt': Buffer.alloc(0), 'notes.md': Buffer.from('# Notes\n') };
  for (const [n, c] of Object.entries(contents)) await writeFile(join(dir, n), c);
  await page.setInputFiles('#fichiers', Object.keys(contents).map((n) => join(dir, n)));
  await Promise.all([page.waitForEvent('load'), page.click('form.upload-form button[type="submit"]')]);
  await page.waitForSelector('a[download]:has-text("notes.md")');
  t.same(requests.map((r) => r.method), ['PUT', 'PUT', 'PUT'], 'one PUT per file, no multipart POST');
  t.ok(requests.every((r) => r.csrf), 'each with the CSRF header');
  t.ok(requests.every((r) => new URL(r.url).searchParams.get('dossier') === folder.id), 'into the folder shown');
  const listing = JSON.parse((await send(h, camille, 'GET', `/documents?dossier=${folder.id}`)).body.toString()) as { items: { id: string; name: string }[] };
  for (const [n, c] of Object.entries(contents)) {
    const item = listing.items.find((i) => i.name === n);
    t.ok(item, `${n} listed`);
    if (item) t.equal(sha256((await send(h, camille, 'GET', `/documents/fichiers/${item.id}`)).body), sha256(c), `${n}: same bytes`);
  }
});

t.test('a refused file is said under the form, after the files stored before it are listed', async (t) => {
  const sam = await loginAs(h, 'sud', 'sam-refus@univ-sud.example');
  const context = await browser.newContext({ locale: 'fr-FR' });
  t.teardown(() => context.close());
  const [name, value] = sam.cookie.split('=') as [string, string];
  await context.addCookies([{ name, value, domain: 'sud.localhost', path: '/' }]);
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`http://sud.localhost:${h.port}/documents`);
  const dir = await mkdtemp(join(tmpdir(), 'portique-refused-'));
  // sud takes files of 1 MiB at most (test/documents/helpers.ts).
  await writeFile(join(dir, 'petit.txt'), 'ok');
  await writeFile(join(dir, 'trop-gros.bin'), randomBytes(2 * 1024 * 1024));
  await page.setInputFiles('#fichiers', [join(dir, 'petit.txt'), join(dir, 'trop-gros.bin')]);
  await Promise.all([page.waitForEvent('load'), page.click('form.upload-form button[type="submit"]')]);
  await page.waitForSelector('.upload-status.error');
  t.match(await page.textContent('.upload-status'), /trop-gros\.bin.*dépasse la taille maximale/, 'what went wrong, and with which file');
  t.equal(await page.getAttribute('.upload-status', 'role'), 'status', 'read out by screen readers');
  t.ok(await page.isVisible('a[download]:has-text("petit.txt")'), 'the file stored before it is listed');
  t.same(dialogs, [], 'no alert box');
});

t.test('files dropped anywhere on the page are uploaded, and the page stays', async (t) => {
  const context = await browser.newContext({ locale: 'fr-FR' });
  t.teardown(() => context.close());
  const [name, value] = camille.cookie.split('=') as [string, string];
  await context.addCookies([{ name, value, domain: 'nord.localhost', path: '/' }]);
  const page = await context.newPage();
  await page.goto(`${origin}/documents`);
  const reloaded = page.waitForEvent('load');
  // What a browser does on a drop of a file from the desktop, on the page's title (outside the zone).
  await page.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File(['déposé à côté'], 'déposé.txt', { type: 'text/plain' }));
    const drop = new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: data });
    document.querySelector('h1')!.dispatchEvent(drop);
    (window as unknown as { dropKept: boolean }).dropKept = drop.defaultPrevented;
  });
  await reloaded;
  t.equal(new URL(page.url()).pathname, '/documents', 'still on Mes documents');
  t.ok(await page.isVisible('a[download]:has-text("déposé.txt")'), 'the dropped file is listed');
  const listing = JSON.parse((await send(h, camille, 'GET', '/documents')).body.toString()) as { items: { id: string; name: string }[] };
  const item = listing.items.find((i) => i.name === 'déposé.txt');
  t.ok(item, 'stored');
  if (item) t.equal((await send(h, camille, 'GET', `/documents/fichiers/${item.id}`)).body.toString(), 'déposé à côté', 'same bytes');
});
